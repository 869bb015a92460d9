"""Receipt work the outbox and the scheduler run: issuing on payment, tax-authority submissions
(receipt XML and the daily summary, Mẫu 01/TH-BLĐT), and what is late.

Submissions are at least once, with ``X-Submission-Id`` = the outbox delivery id, which the tax
authority keeps to answer a repeat with its first answer; acceptance is written in the
delivery's own transaction, so the receipt's ``tax_authority_status`` and the delivery agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency
from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.outbox.services import Subscriber, emit
from payments.uow import UnitOfWork
from providers.base import SubmitResult
from providers.taxauthority import SummaryDocument, TaxAuthorityClient
from receipts.errors import TaxAuthorityNotAccepted
from receipts.models import Receipt, ReceiptCounter, ReceiptSummary, TaxStatus
from receipts.services import ISSUED_TOPIC, Clock, issue_for_request

log = structlog.get_logger(__name__)
SUMMARY_TOPIC = "receipt_summary.created"
ISSUE_SUBSCRIBER = "receipts.issue"
XML_SUBSCRIBER = "receipts.tax_receipt_xml"
SUMMARY_SUBSCRIBER = "receipts.tax_summary"
PAID_TOPICS = ("payment_request.paid", "payment_request.overpaid")
CATCH_UP_DAYS = 7  # the summary job also fills days a stopped scheduler missed

TaxClientFactory = Callable[[], TaxAuthorityClient]


def subscribers(
    settings: Settings,
    *,
    now: Clock = utcnow,
    tax_client: TaxClientFactory | None = None,
) -> list[Subscriber]:
    """The receipts package's outbox subscribers, bound to a configuration."""
    client = tax_client or (lambda: _default_client(settings))

    def on_paid(session: Session, event: OutboxEvent, _delivery: OutboxDelivery) -> None:
        issue_for_request(session, event.payload["payment_request_id"], settings=settings, now=now)

    def on_issued(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with _closing(client()) as tax:
            submit_receipt_xml(session, event, delivery, tax)

    def on_summary(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with _closing(client()) as tax:
            submit_summary(session, event, delivery, tax)

    return [
        # exempt requests (total 0) owe no receipt: no delivery is even created for them
        Subscriber(
            ISSUE_SUBSCRIBER, PAID_TOPICS, on_paid, lambda e: e.payload.get("total_amount", 0) > 0
        ),
        Subscriber(XML_SUBSCRIBER, (ISSUED_TOPIC,), on_issued),
        Subscriber(SUMMARY_SUBSCRIBER, (SUMMARY_TOPIC,), on_summary),
    ]


@contextmanager
def _closing(client: TaxAuthorityClient) -> Iterator[TaxAuthorityClient]:
    try:
        yield client
    finally:
        client.session.close()  # one HTTP session per delivery: no socket outlives it


def _default_client(settings: Settings) -> TaxAuthorityClient:
    if not settings.tax_url:
        raise TaxAuthorityNotAccepted("THUPHI_TAX_URL is not set: receipts wait for it")
    return TaxAuthorityClient(settings.tax_url)


def submission_id(delivery: OutboxDelivery) -> str:
    return f"thuphi-delivery-{delivery.id}"


def _accepted(result: SubmitResult) -> None:
    if not result.accepted:
        raise TaxAuthorityNotAccepted(
            f"not accepted (status {result.status_code}, retryable {result.retryable}): "
            f"{result.error}"
        )


def submit_receipt_xml(
    session: Session, event: OutboxEvent, delivery: OutboxDelivery, client: TaxAuthorityClient
) -> None:
    """Send one receipt's signed XML; mark it accepted (raises to be retried otherwise)."""
    receipt = session.get(Receipt, uuid.UUID(event.payload["receipt_id"]))
    if receipt is None or receipt.tax_authority_status == TaxStatus.ACCEPTED:
        return
    result = client.submit_receipt_xml(
        bytes(receipt.signed_xml), submission_id=submission_id(delivery)
    )
    _accepted(result)
    receipt.tax_authority_status = TaxStatus.ACCEPTED
    receipt.tax_authority_id = result.id
    receipt.tax_accepted_at = utcnow()


def submit_summary(
    session: Session, event: OutboxEvent, delivery: OutboxDelivery, client: TaxAuthorityClient
) -> None:
    """Send one day's summary of one series; mark it accepted (raises to be retried)."""
    summary = session.get(ReceiptSummary, int(event.payload["summary_id"]))
    if summary is None or summary.tax_authority_status == TaxStatus.ACCEPTED:
        return
    result = client.submit_summary(summary.document, submission_id=submission_id(delivery))
    _accepted(result)
    summary.tax_authority_status = TaxStatus.ACCEPTED
    summary.tax_authority_id = result.id
    summary.tax_accepted_at = utcnow()


# --- daily summaries --------------------------------------------------------------------------


def create_daily_summaries(day: date, *, uow: UnitOfWork) -> list[int]:
    """Write the Mẫu 01/TH-BLĐT summary of ``day`` for every series that issued receipts that
    day, each with its outbox event. Idempotent: a day already summarised is skipped.

    Run it for a day that is over: the counter rows are locked first, so no issue of that day
    can still be in flight. Days without receipts get no summary.
    """
    created = []
    with uow:
        session = uow.session
        keys = session.execute(
            select(Receipt.agency_code, Receipt.template, Receipt.series)
            .where(Receipt.issued_on == day)
            .distinct()
            .order_by(Receipt.agency_code, Receipt.series)
        ).all()
        for agency_code, template, series in keys:
            summary = _summarise(session, day, agency_code, template, series)
            if summary is not None:
                created.append(summary.id)
        uow.commit()
    if created:
        log.info("receipt_summaries_created", day=str(day), count=len(created))
    return created


def _summarise(
    session: Session, day: date, agency_code: str, template: str, series: str
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
    exists = session.scalar(
        select(ReceiptSummary.id).where(
            ReceiptSummary.agency_code == agency_code,
            ReceiptSummary.template == template,
            ReceiptSummary.series == series,
            ReceiptSummary.day == day,
        )
    )
    if exists is not None:
        return None
    receipts = list(
        session.scalars(
            select(Receipt)
            .where(
                Receipt.agency_code == agency_code,
                Receipt.template == template,
                Receipt.series == series,
                Receipt.issued_on == day,
            )
            .order_by(Receipt.number)
        )
    )
    agency = session.get(Agency, agency_code)
    document = summary_document(agency, day, template, series, receipts)
    summary = ReceiptSummary(
        agency_code=agency_code,
        template=template,
        series=series,
        day=day,
        from_number=document["from_number"],
        to_number=document["to_number"],
        count=document["count"],
        document=dict(document),
    )
    session.add(summary)
    session.flush()
    emit(session, SUMMARY_TOPIC, f"summary:{summary.id}", {"summary_id": summary.id})
    return summary


def summary_document(
    agency: Agency | None,
    day: date,
    template: str,
    series: str,
    receipts: list[Receipt],
) -> SummaryDocument:
    same_day = {r.id: r for r in receipts}
    rows = [
        {
            "number": r.number,
            "kind": r.kind,
            "issued_at": r.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "payer_name": r.payer_name,
            "amount": r.total_amount,
            "status": r.status,
            "replaces": _replaces_label(same_day, r),
        }
        for r in receipts
    ]
    totals = {kind: sum(r.total_amount for r in receipts if r.kind == kind) for kind in KINDS}
    return {
        "agency_tax_code": agency.tax_code if agency else "",
        "agency_code": agency.code if agency else "",
        "date": day.isoformat(),
        "template": template,
        "series": series,
        "from_number": receipts[0].number,
        "to_number": receipts[-1].number,
        "count": len(receipts),
        "totals": {"phi": totals["phi"], "le_phi": totals["le_phi"], "total": sum(totals.values())},
        "receipts": rows,  # type: ignore[typeddict-item]
    }


KINDS = ("phi", "le_phi")


def _replaces_label(same_day: dict[uuid.UUID, Receipt], r: Receipt) -> str | None:
    if r.replaces_id is None:
        return None
    original = same_day.get(r.replaces_id)
    if original is None:
        session = Session.object_session(r)
        original = session.get(Receipt, r.replaces_id) if session else None
    if original is None:  # pragma: no cover - foreign key
        return str(r.replaces_id)
    return f"{original.template}-{original.series}-{original.number:08d}"


def summarise_recent(*, uow: UnitOfWork, today: date | None = None) -> list[int]:
    """The scheduler's job: summaries of the last ``CATCH_UP_DAYS`` finished business days."""
    current = today or business_day(utcnow())
    created: list[int] = []
    for back in range(CATCH_UP_DAYS, 0, -1):
        created += create_daily_summaries(current - timedelta(days=back), uow=uow)
    return created


# --- what is late -----------------------------------------------------------------------------


def pending_tax(*, uow: UnitOfWork, now: datetime | None = None) -> dict[str, Any]:
    """Everything the tax authority has not accepted yet, and payments still without receipts,
    each with its outbox delivery (attempts, last error, parked or not)."""
    moment = now or utcnow()
    with uow:
        s = uow.session
        deliveries = _deliveries(s)
        receipts = [
            {
                "id": str(r.id),
                "agency_code": r.agency_code,
                "series": r.series,
                "number": r.number,
                "issued_at": r.issued_at,
                "age_minutes": int((moment - r.issued_at).total_seconds() // 60),
                "delivery": deliveries.get((XML_SUBSCRIBER, str(r.id))),
            }
            for r in s.scalars(
                select(Receipt)
                .where(Receipt.tax_authority_status != TaxStatus.ACCEPTED)
                .order_by(Receipt.issued_at)
            )
        ]
        summaries = [
            {
                "id": x.id,
                "agency_code": x.agency_code,
                "series": x.series,
                "date": x.day,
                "count": x.count,
                "delivery": deliveries.get((SUMMARY_SUBSCRIBER, f"summary:{x.id}")),
            }
            for x in s.scalars(
                select(ReceiptSummary)
                .where(ReceiptSummary.tax_authority_status != TaxStatus.ACCEPTED)
                .order_by(ReceiptSummary.day)
            )
        ]
        unissued = [
            {"payment_request_id": key[1], "delivery": d}
            for key, d in deliveries.items()
            if key[0] == ISSUE_SUBSCRIBER
        ]
        unsummarised = _unsummarised_days(s, business_day(moment))
    return {
        "receipts": receipts,
        "summaries": summaries,
        "unissued_payments": unissued,
        "days_without_summary": unsummarised,
    }


def _deliveries(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    rows = session.execute(
        select(OutboxDelivery, OutboxEvent.aggregate_id)
        .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
        .where(
            OutboxDelivery.subscriber.in_([ISSUE_SUBSCRIBER, XML_SUBSCRIBER, SUMMARY_SUBSCRIBER]),
            OutboxDelivery.status != DeliveryStatus.DELIVERED,
        )
    ).all()
    return {
        (d.subscriber, aggregate): {
            "delivery_id": d.id,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "last_error": d.last_error,
        }
        for d, aggregate in rows
    }


def _unsummarised_days(session: Session, today: date) -> list[dict[str, Any]]:
    """Finished days with receipts but no summary (the summary job has not run for them)."""
    summarised = select(ReceiptSummary.id).where(
        ReceiptSummary.agency_code == Receipt.agency_code,
        ReceiptSummary.series == Receipt.series,
        ReceiptSummary.day == Receipt.issued_on,
    )
    rows = session.execute(
        select(Receipt.agency_code, Receipt.series, Receipt.issued_on, func.count())
        .where(Receipt.issued_on < today, ~summarised.exists())
        .group_by(Receipt.agency_code, Receipt.series, Receipt.issued_on)
        .order_by(Receipt.issued_on)
    ).all()
    return [{"agency_code": a, "series": s, "date": d, "receipts": n} for a, s, d, n in rows]
