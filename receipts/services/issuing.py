"""Issue, read and correct e-receipts (biên lai điện tử).

Numbering: one ``receipt_counters`` row per (agency, template, series, year), advanced with
``UPDATE … RETURNING`` inside the transaction that inserts the receipt. The row lock is held until
that transaction ends, so concurrent issuers queue on it; a rolled-back issue gives its number
back. The issue instant is read *after* the lock is taken, so numbers and issue times rise
together and every business day covers one contiguous range of numbers.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from payments.catalog.models import Agency, Procedure, ReceiptSeries
from payments.catalog.schemas import series_is_valid
from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.errors import NotFound
from payments.money import Money
from payments.outbox.services import emit
from payments.payment_requests import state
from payments.payment_requests.models import PaymentLine, PaymentRequest
from payments.transactions.models import PaymentTransaction, TxnState
from receipts.document import (
    MAX_NUMBER,
    TEMPLATE,
    ReceiptDocument,
    ReceiptKind,
    ReceiptLine,
    ReplacedReceipt,
)
from receipts.errors import (
    NoSeriesForYear,
    SeriesExhausted,
)
from receipts.models import Receipt, ReceiptCounter, ReceiptStatus
from receipts.signers import signing_pair
from receipts.xmlsig import sign

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
ISSUED_TOPIC = "receipt.issued"
# provider of the payment → the channel key the renderers print (receipts.html.CHANNEL_NAMES)
CHANNELS = {"bank": "bank_transfer", "paygov": "paygov", "pos": "pos"}
ISSUABLE = state.RECEIPTED


# --- issuing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """Everything a receipt says except its number, series and issue time."""

    request: PaymentRequest
    kind: ReceiptKind
    lines: tuple[dict[str, Any], ...]
    payer_name: str
    payer_id_number: str | None
    payer_address: str | None
    channel: str
    replaces: Receipt | None = None
    reason: str | None = None
    created_by: str | None = None


def issue_for_request(
    session: Session, request_id: str, *, settings: Settings, now: Clock = utcnow
) -> list[Receipt]:
    """Issue the receipts a paid request is owed (one per fee kind with money), at most once.

    Runs inside the caller's transaction (the outbox delivery's). The request row is locked, so
    a ``paid`` and an ``overpaid`` event delivered at once cannot both issue; kinds already
    issued are skipped. Kinds whose lines total 0 (fully exempt) get no receipt: no money was
    collected. A request that is no longer paid (a POS void reversed it) gets none either.
    """
    request = session.scalar(
        select(PaymentRequest).where(PaymentRequest.id == uuid.UUID(request_id)).with_for_update()
    )
    if request is None or request.status not in ISSUABLE:
        return []
    done = set(
        session.scalars(
            select(Receipt.kind).where(
                Receipt.payment_request_id == request.id, Receipt.origin_key.is_not(None)
            )
        )
    )
    channel = payment_channel(session, request)
    issued = []
    for kind in ReceiptKind:
        lines = [line for line in request.lines if line.kind == kind]
        if kind in done or sum(line.amount for line in lines) == 0:
            continue
        draft = Draft(
            request,
            kind,
            tuple(_line_json(line) for line in lines),
            request.payer_name,
            request.payer_id_number,
            request.payer_address,
            channel,
        )
        issued.append(issue(session, draft, settings=settings, now=now))
    return issued


def payment_channel(session: Session, request: PaymentRequest) -> str:
    """How the request was paid: the provider of its latest applied payment.

    A request settled from the bank statement alone has no provider message: a transfer.
    """
    provider = session.scalar(
        select(PaymentTransaction.provider)
        .where(
            PaymentTransaction.payment_request_id == request.id,
            PaymentTransaction.state == TxnState.APPLIED,
        )
        .order_by(PaymentTransaction.occurred_at.desc(), PaymentTransaction.id.desc())
        .limit(1)
    )
    return CHANNELS.get(provider or "bank", provider or "bank_transfer")


def _line_json(line: PaymentLine) -> dict[str, Any]:
    reduction = None
    if line.reduction_policy_id:
        reduction = {
            "policy_id": line.reduction_policy_id,
            "legal_basis": line.reduction_legal_basis,
        }
    return {
        "fee_code": line.fee_code,
        "name": line.name,
        "quantity": line.quantity,
        "normal_amount": line.normal_amount,
        "amount": line.amount,
        "legal_basis": line.legal_basis,
        "reduction": reduction,
    }


def issue(session: Session, draft: Draft, *, settings: Settings, now: Clock = utcnow) -> Receipt:
    """Number, sign and store one receipt in the caller's transaction; emit ``receipt.issued``."""
    request = draft.request
    # before taking a number: a missing pair holds no lock
    pair = signing_pair(settings, request.agency_code)
    agency = session.get(Agency, request.agency_code)
    procedure = session.get(Procedure, request.procedure_code)
    if agency is None or procedure is None:  # pragma: no cover - foreign keys guarantee them
        raise NotFound("the request's agency or procedure is gone")
    series, number, issued_at = _take_number(session, agency.code, now)
    token = secrets.token_urlsafe(24)
    doc = ReceiptDocument(
        agency_code=agency.code,
        agency_name=agency.name,
        agency_tax_code=agency.tax_code,
        series=series,
        number=number,
        issued_at=issued_at,
        kind=draft.kind,
        payer_name=draft.payer_name,
        payer_id_number=draft.payer_id_number,
        payer_address=draft.payer_address,
        dossier_code=request.dossier_code,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        payment_channel=draft.channel,
        payment_reference=request.reference,
        lines=tuple(_document_line(line) for line in draft.lines),
        total_amount=Money(sum(int(line["amount"]) for line in draft.lines)),
        verification_url=verification_url(settings, token),
        replaces=_replaced(draft.replaces),
    )
    receipt = Receipt(
        id=uuid.uuid4(),
        payment_request_id=request.id,
        origin_key=None if draft.replaces else f"{request.id}:{draft.kind.value}",
        agency_code=agency.code,
        template=TEMPLATE,
        series=series,
        number=number,
        kind=draft.kind.value,
        issued_at=issued_at,
        issued_on=doc.issued_on,
        payer_name=draft.payer_name,
        payer_id_number=draft.payer_id_number,
        payer_address=draft.payer_address,
        dossier_code=request.dossier_code,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        lines=list(draft.lines),
        total_amount=doc.total_amount.amount,
        amount_in_words=doc.amount_in_words,
        payment_channel=draft.channel,
        payment_reference=request.reference,
        status=ReceiptStatus.ISSUED,
        replaces_id=draft.replaces.id if draft.replaces else None,
        correction_reason=draft.reason,
        verification_token=token,
        signed_xml=sign(doc, pair.key, pair.cert_pem),
        created_by=draft.created_by,
        created_at=issued_at,
    )
    session.add(receipt)
    session.flush()
    emit(session, ISSUED_TOPIC, str(receipt.id), {"receipt_id": str(receipt.id)})
    log.info("receipt_issued", agency=agency.code, series=series, number=number, kind=draft.kind)
    return receipt


def _take_number(session: Session, agency_code: str, now: Clock) -> tuple[str, int, datetime]:
    """The series of the year of issue, its next number, and the issue instant.

    The instant is read once the counter is locked; if the year turned while waiting for the
    lock, the number is given back (savepoint) and taken again in the new year's series.
    """
    for _ in range(3):
        year = business_day(now()).year
        series = series_for_year(session, agency_code, year)
        savepoint = session.begin_nested()
        number = _next_number(session, agency_code, series, year)
        issued_at = now()
        if business_day(issued_at).year == year:
            savepoint.commit()
            return series, number, issued_at
        savepoint.rollback()
    raise RuntimeError("the clock keeps changing year")  # pragma: no cover


def series_for_year(session: Session, agency_code: str, year: int) -> str:
    """The agency's first catalog series (EBL01) whose two-digit year is ``year``."""
    for series in session.scalars(
        select(ReceiptSeries.series)
        .where(ReceiptSeries.agency_code == agency_code, ReceiptSeries.template == TEMPLATE)
        .order_by(ReceiptSeries.id)
    ):
        if series_is_valid(series, year):
            return series
    raise NoSeriesForYear(
        f"agency {agency_code} has no {TEMPLATE} receipt series for {year} "
        f"(expected {year % 100:02d}T + two letters); import one into the catalog"
    )


def _next_number(session: Session, agency_code: str, series: str, year: int) -> int:
    key = (
        ReceiptCounter.agency_code == agency_code,
        ReceiptCounter.template == TEMPLATE,
        ReceiptCounter.series == series,
        ReceiptCounter.year == year,
    )
    bump = (
        update(ReceiptCounter)
        .where(*key)
        .values(last_number=ReceiptCounter.last_number + 1)
        .returning(ReceiptCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = session.scalar(bump)
    if number is None:
        # the series' first receipt: create the row; a concurrent creator wins harmlessly
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        row = {"agency_code": agency_code, "template": TEMPLATE, "series": series, "year": year}
        session.execute(
            insert(ReceiptCounter).values(**row, last_number=0).on_conflict_do_nothing()
        )
        number = session.scalar(bump)
    if number is None:  # pragma: no cover - the row exists now
        raise RuntimeError("receipt counter row missing")
    if number > MAX_NUMBER:  # raising rolls the increment back with the transaction
        raise SeriesExhausted(f"series {series} of {agency_code} has used all {MAX_NUMBER}")
    return int(number)


def _document_line(line: dict[str, Any]) -> ReceiptLine:
    reduction = line.get("reduction") or {}
    return ReceiptLine(
        fee_code=line["fee_code"],
        name=line["name"],
        quantity=int(line["quantity"]),
        normal_amount=Money(int(line["normal_amount"])),
        amount=Money(int(line["amount"])),
        reduction_legal_basis=reduction.get("legal_basis"),
        legal_basis=line.get("legal_basis") or "",
    )


def _replaced(original: Receipt | None) -> ReplacedReceipt | None:
    if original is None:
        return None
    return ReplacedReceipt(original.series, original.number, original.issued_on, original.template)


def verification_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/r/{token}"
