"""The same-day summary of issued receipts to the tax authority (Mẫu 01/TH-BLĐT).

NĐ 254/2026/NĐ-CP Điều 29 k3 b and TT 91/2026/TT-BTC Điều 4 k6 d: the collector sends the
summary **on the day** the receipts are issued. So:

- at ``THUPHI_RECEIPT_SUMMARY_AT`` (local time, default 23:00) the first sending ("lần đầu")
  covers every receipt of the day so far, per agency and series;
- receipts issued later that day go out as supplements ("bổ sung" 1, 2, …) at the next runs of
  the job (every few minutes) before midnight;
- receipts of a finished day that no sending covered (the scheduler was down, or they came in the
  last minutes) go out as a catch-up, marked late (``late: true``) so the tax authority and the
  officers see it was not same-day (NĐ 254 Điều 27 k3: after an incident, within 3 working days
  of the fix).

Rows carry the columns of TT 91 Phụ lục III: template, series, number, date, the fee name(s),
amount, exchange rate (VND: 1), status (new / information corrected / replaced / adjusted, in
words from ``receipts.vocabulary``), the related receipt and an explanation. A replacement's row
is "replaced" with the receipt it replaces. An error notice (Mẫu 04/SS-CTĐT) made on the day puts
the receipt it corrects into that day's sending of the receipt's series (the first, a supplement,
or a sending of its own when nothing new was issued) as a row "information corrected" under
``corrections``: the period of the corrected data is the receipt's month, the related receipt is
that receipt, the explanation the notice's reason. No new number is used, so these rows are not in
``count``, the number range or the totals. No "adjusted" row arises: TT 91/2026 Điều 20 corrects a
biên lai by a notice or a replacement only (adjusting documents are for invoices).

The summary is also rendered as XML (``TKhai``/``DLTKhai``, both kinds of row in its one table)
and signed by the agency with its own certificate, when it is first sent (the outbox subscriber
has the configuration).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency
from payments.clock import business_day, day_bounds, utcnow
from payments.config import Settings
from payments.outbox.services import emit
from payments.uow import UnitOfWork
from providers.taxauthority import SummaryDocument
from receipts.document import VN_TZ
from receipts.models import Receipt, ReceiptCounter, ReceiptErrorNotice, ReceiptSummary
from receipts.signers import signing_pair
from receipts.vocabulary import SUMMARY_STATUS_WORDS
from receipts.xmlsig import sign_into

log = structlog.get_logger(__name__)
SUMMARY_TOPIC = "receipt_summary.created"
SUMMARY_FORM = "01/TH-BLĐT"
CATCH_UP_DAYS = 7  # the job also fills days a stopped scheduler missed
KINDS = ("phi", "le_phi")
DATA_ID = "DLTKhai"


def summary_time(settings: Settings) -> time:
    """THUPHI_RECEIPT_SUMMARY_AT as a local time ("23:00")."""
    hours, _, minutes = settings.receipt_summary_at.partition(":")
    try:
        return time(int(hours), int(minutes or 0))
    except ValueError as exc:
        raise ValueError(f"THUPHI_RECEIPT_SUMMARY_AT must be HH:MM, got {hours}:{minutes}") from exc


def summarise_due(*, uow: UnitOfWork, settings: Settings, now: datetime | None = None) -> list[int]:
    """The scheduler's job: late catch-ups of the last finished days, then, once the local
    clock has passed the summary time, today's first sending or its supplement."""
    moment = now or utcnow()
    today = business_day(moment)
    created: list[int] = []
    for back in range(CATCH_UP_DAYS, 0, -1):
        created += create_daily_summaries(today - timedelta(days=back), uow=uow, now=moment)
    if moment.astimezone(VN_TZ).time() >= summary_time(settings):
        created += create_daily_summaries(today, uow=uow, now=moment)
    return created


def summarise_recent(*, uow: UnitOfWork, today: date | None = None) -> list[int]:
    """Catch-ups of the last ``CATCH_UP_DAYS`` finished business days (marked late)."""
    current = today or business_day(utcnow())
    created: list[int] = []
    for back in range(CATCH_UP_DAYS, 0, -1):
        created += create_daily_summaries(current - timedelta(days=back), uow=uow)
    return created


def create_daily_summaries(day: date, *, uow: UnitOfWork, now: datetime | None = None) -> list[int]:
    """Send (through the outbox) what ``day``'s receipts no sending covered yet, per agency and
    series: the first sending, or a supplement. Running it twice adds nothing.

    The counter rows are locked first, so no issue of that series can be in flight: a receipt
    either is covered now or gets a later number, covered by the next sending.
    """
    moment = now or utcnow()
    created = []
    with uow:
        session = uow.session
        keys = session.execute(
            select(Receipt.agency_code, Receipt.template, Receipt.series)
            .where(Receipt.issued_on == day)
            .union(_noticed_series(day))
            .order_by(Receipt.agency_code, Receipt.series)
        ).all()
        for agency_code, template, series in keys:
            summary = _summarise(session, day, agency_code, template, series, moment)
            if summary is not None:
                created.append(summary.id)
        uow.commit()
    if created:
        log.info("receipt_summaries_created", day=str(day), count=len(created))
    return created


def _summarise(
    session: Session,
    day: date,
    agency_code: str,
    template: str,
    series: str,
    moment: datetime,
) -> ReceiptSummary | None:
    session.scalars(
        select(ReceiptCounter)
        .where(
            ReceiptCounter.agency_code == agency_code,
            ReceiptCounter.template == template,
            ReceiptCounter.series == series,
        )
        .with_for_update()
    ).all()
    same = (
        ReceiptSummary.agency_code == agency_code,
        ReceiptSummary.template == template,
        ReceiptSummary.series == series,
        ReceiptSummary.day == day,
    )
    covered, sent = session.execute(
        select(func.max(ReceiptSummary.to_number), func.count()).where(*same)
    ).one()
    receipts = list(
        session.scalars(
            select(Receipt)
            .where(
                Receipt.agency_code == agency_code,
                Receipt.template == template,
                Receipt.series == series,
                Receipt.issued_on == day,
                Receipt.number > (covered or 0),
            )
            .order_by(Receipt.number)
        )
    )
    corrections = _new_notices(session, day, agency_code, template, series)
    if not receipts and not corrections:
        return None
    document = summary_document(
        session.get(Agency, agency_code),
        day,
        template,
        series,
        receipts,
        supplement=int(sent or 0),
        late=business_day(moment) > day,
        corrections=corrections,
        covered=int(covered or 0),
    )
    summary = ReceiptSummary(
        agency_code=agency_code,
        template=template,
        series=series,
        day=day,
        sequence=int(sent or 0),
        late=document["late"],
        from_number=document["from_number"],
        to_number=document["to_number"],
        count=document["count"],
        document=dict(document),
    )
    session.add(summary)
    session.flush()
    emit(session, SUMMARY_TOPIC, f"summary:{summary.id}", {"summary_id": summary.id})
    return summary


def _noticed_series(day: date) -> Any:
    """The series of the receipts that error notices of ``day`` correct."""
    start, end = day_bounds(day)
    return (
        select(Receipt.agency_code, Receipt.template, Receipt.series)
        .join(ReceiptErrorNotice, ReceiptErrorNotice.receipt_id == Receipt.id)
        .where(ReceiptErrorNotice.created_at >= start, ReceiptErrorNotice.created_at < end)
    )


def _new_notices(
    session: Session, day: date, agency_code: str, template: str, series: str
) -> list[tuple[ReceiptErrorNotice, Receipt]]:
    """The day's error notices on receipts of this series that no sending of the day carried."""
    start, end = day_bounds(day)
    carried = {
        row.get("notice_id")
        for document in session.scalars(
            select(ReceiptSummary.document).where(
                ReceiptSummary.agency_code == agency_code,
                ReceiptSummary.template == template,
                ReceiptSummary.series == series,
                ReceiptSummary.day == day,
            )
        )
        for row in document.get("corrections", [])
    }
    found = session.execute(
        select(ReceiptErrorNotice, Receipt)
        .join(Receipt, ReceiptErrorNotice.receipt_id == Receipt.id)
        .where(
            Receipt.agency_code == agency_code,
            Receipt.template == template,
            Receipt.series == series,
            ReceiptErrorNotice.created_at >= start,
            ReceiptErrorNotice.created_at < end,
        )
        .order_by(ReceiptErrorNotice.id)
    ).all()
    return [(notice, receipt) for notice, receipt in found if notice.id not in carried]


def summary_document(
    agency: Agency | None,
    day: date,
    template: str,
    series: str,
    receipts: list[Receipt],
    *,
    supplement: int = 0,
    late: bool = False,
    corrections: Sequence[tuple[ReceiptErrorNotice, Receipt]] = (),
    covered: int = 0,
) -> SummaryDocument:
    """The 01/TH-BLĐT content (``providers.taxauthority.SummaryDocument``); without new
    receipts the number range is empty (``covered`` + 1 .. ``covered``)."""
    rows = [_row(index, r) for index, r in enumerate(receipts, start=1)]
    corrected = [
        _corrected_row(index, notice, r)
        for index, (notice, r) in enumerate(corrections, start=len(rows) + 1)
    ]
    totals = {kind: sum(r.total_amount for r in receipts if r.kind == kind) for kind in KINDS}
    return {
        "form": SUMMARY_FORM,
        "agency_tax_code": agency.tax_code if agency else "",
        "agency_code": agency.code if agency else "",
        "agency_name": agency.name if agency else "",
        "date": day.isoformat(),
        "sending": "supplement" if supplement else "first",
        "supplement_number": supplement,
        "late": late,
        "template": template,
        "series": series,
        "from_number": receipts[0].number if receipts else covered + 1,
        "to_number": receipts[-1].number if receipts else covered,
        "count": len(receipts),
        "currency": "VND",
        "totals": {"phi": totals["phi"], "le_phi": totals["le_phi"], "total": sum(totals.values())},
        "receipts": rows,  # type: ignore[typeddict-item]
        "corrections": corrected,  # type: ignore[typeddict-item]
    }


def _row(index: int, r: Receipt) -> dict[str, Any]:
    # TT 91/2026 Điều 20: a biên lai is corrected by a replacement only (a refund too: see
    # receipts.services.refunds); column (10) names the period of the data it corrects
    status = "replaced" if r.replaces_id is not None else "new"
    replaced = _other(r, r.replaces_id) if r.replaces_id is not None else None
    related = _label(replaced) if replaced is not None else None
    return {
        "stt": index,
        "template": r.template,
        "series": r.series,
        "number": r.number,
        "date": r.issued_on.isoformat(),
        "kind": r.kind,
        "issued_at": r.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fee_name": "; ".join(str(line["name"]) for line in r.lines),
        "payer_name": r.payer_name,
        "amount": r.total_amount,
        "exchange_rate": 1,
        "status": status,
        "status_label": SUMMARY_STATUS_WORDS[status],
        "corrected_period": f"{replaced.issued_on:%m/%Y}" if replaced is not None else None,
        "related_receipt": related,
        "replaces": related,
        "explanation": r.correction_reason if r.replaces_id is not None else None,
        "note": None,
    }


def _corrected_row(index: int, notice: ReceiptErrorNotice, r: Receipt) -> dict[str, Any]:
    """The receipt a 04/SS-CTĐT notice corrects, as a row "information corrected"."""
    row = _row(index, r)
    row.update(
        status="information_corrected",
        status_label=SUMMARY_STATUS_WORDS["information_corrected"],
        payer_name=notice.correct_payer_name or r.payer_name,
        corrected_period=f"{r.issued_on:%m/%Y}",
        related_receipt=f"{r.template}-{r.series}-{r.number:08d}",
        replaces=None,
        explanation=notice.reason,
        note=f"{notice.form} #{notice.id}",
        notice_id=notice.id,
    )
    return row


def _other(r: Receipt, other_id: uuid.UUID) -> Receipt | None:
    session = Session.object_session(r)
    return session.get(Receipt, other_id) if session else None


def _label(other: Receipt) -> str:
    return f"{other.template}-{other.series}-{other.number:08d}"


# --- the signed XML of a summary -------------------------------------------------------------


def sign_summary(summary: ReceiptSummary, settings: Settings, now: datetime) -> bytes:
    """The summary as XML signed by its agency (kept on the row; the signing time is now)."""
    document = summary.document
    root = etree.Element("TKhai")
    data = etree.SubElement(root, DATA_ID, Id=DATA_ID)
    general = etree.SubElement(data, "TTChung")
    for tag, value in (
        ("MSo", SUMMARY_FORM),
        ("MST", document["agency_tax_code"]),
        ("TNNT", document.get("agency_name", "")),
        ("NTHop", document["date"]),
        ("LDau", 0 if document.get("supplement_number") else 1),
        ("BSLThu", document.get("supplement_number", 0)),
        ("Tre", 1 if document.get("late") else 0),
        ("DVTTe", "VND"),
    ):
        etree.SubElement(general, tag).text = str(value)
    rows = etree.SubElement(etree.SubElement(data, "NDTKhai"), "DSBLai")
    # one table, as on the form: the issued receipts, then those an error notice corrected
    for row in [*document["receipts"], *document.get("corrections", [])]:
        item = etree.SubElement(rows, "BLai")
        for tag, key in (
            ("STT", "stt"), ("KHMSBLai", "template"), ("KHBLai", "series"), ("SBLai", "number"),
            ("NLap", "date"), ("TPhi", "fee_name"), ("STien", "amount"), ("TGia", "exchange_rate"),
            ("TThai", "status_label"), ("KDChinh", "corrected_period"),
            ("BLLQuan", "related_receipt"), ("GThich", "explanation"), ("GChu", "note"),
        ):  # fmt: skip
            if row.get(key) not in (None, ""):
                etree.SubElement(item, tag).text = str(row[key])
    slot = etree.SubElement(etree.SubElement(root, "DSCKS"), "NNT")
    pair = signing_pair(settings, summary.agency_code)
    sign_into(root, DATA_ID, slot, pair.key, pair.cert_pem, now)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def submission_body(summary: ReceiptSummary) -> dict[str, Any]:
    """What is sent: the document, and its signed XML (base64)."""
    body = dict(summary.document)
    if summary.signed_xml is not None:
        body["signed_xml"] = base64.b64encode(bytes(summary.signed_xml)).decode()
    return body
