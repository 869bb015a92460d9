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
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import Agency
from payments.clock import business_day, utcnow
from payments.config import Settings
from payments.outbox.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from payments.outbox.services import Subscriber
from payments.uow import UnitOfWork
from providers.base import SubmitResult
from providers.taxauthority import NoticeDocument, TaxAuthorityClient
from providers.taxauthority.schemas import NOTICE_FORM
from receipts.errors import TaxAuthorityNotAccepted
from receipts.models import Receipt, ReceiptErrorNotice, ReceiptSummary, TaxStatus
from receipts.services import ISSUED_TOPIC, Clock, correct_for_refunds, issue_for_request
from receipts.services.corrections import NOTICE_TOPIC
from receipts.signers import agencies_unable_to_sign
from receipts.summaries import (
    SUMMARY_TOPIC,
    sign_summary,
    submission_body,
)

# the summary jobs live in receipts.summaries; these names stay importable from here
from receipts.summaries import create_daily_summaries as create_daily_summaries
from receipts.summaries import summarise_due as summarise_due
from receipts.summaries import summarise_recent as summarise_recent
from receipts.vocabulary import SUMMARY_STATUS_WORDS

log = structlog.get_logger(__name__)
ISSUE_SUBSCRIBER = "receipts.issue"
XML_SUBSCRIBER = "receipts.tax_receipt_xml"
SUMMARY_SUBSCRIBER = "receipts.tax_summary"
NOTICE_SUBSCRIBER = "receipts.tax_notice"
REFUND_SUBSCRIBER = "receipts.refund"
REFUNDED_TOPIC = "payment_request.refunded"
PAID_TOPICS = ("payment_request.paid", "payment_request.overpaid")

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

    def on_refunded(session: Session, event: OutboxEvent, _delivery: OutboxDelivery) -> None:
        correct_for_refunds(
            session, event.payload["payment_request_id"], settings=settings, now=now
        )

    def on_issued(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with _closing(client()) as tax:
            submit_receipt_xml(session, event, delivery, tax)

    def on_summary(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with _closing(client()) as tax:
            submit_summary(session, event, delivery, tax, settings=settings, now=now())

    def on_notice(session: Session, event: OutboxEvent, delivery: OutboxDelivery) -> None:
        with _closing(client()) as tax:
            submit_notice(session, event, delivery, tax)

    return [
        # exempt requests (total 0) owe no receipt: no delivery is even created for them
        Subscriber(
            ISSUE_SUBSCRIBER, PAID_TOPICS, on_paid, lambda e: e.payload.get("total_amount", 0) > 0
        ),
        # money paid back: the receipts it touched are replaced (receipts.services.refunds)
        Subscriber(REFUND_SUBSCRIBER, (REFUNDED_TOPIC,), on_refunded),
        Subscriber(XML_SUBSCRIBER, (ISSUED_TOPIC,), on_issued),
        Subscriber(SUMMARY_SUBSCRIBER, (SUMMARY_TOPIC,), on_summary),
        Subscriber(NOTICE_SUBSCRIBER, (NOTICE_TOPIC,), on_notice),
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
    session: Session,
    event: OutboxEvent,
    delivery: OutboxDelivery,
    client: TaxAuthorityClient,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> None:
    """Send one sending of a day's summary of one series, signed by its agency (signed on the
    first attempt); mark it accepted (raises to be retried)."""
    summary = session.get(ReceiptSummary, int(event.payload["summary_id"]))
    if summary is None or summary.tax_authority_status == TaxStatus.ACCEPTED:
        return
    if summary.signed_xml is None and settings is not None:
        summary.signed_xml = sign_summary(summary, settings, now or utcnow())
    body = submission_body(summary)
    result = client.submit_summary(body, submission_id=submission_id(delivery))
    _accepted(result)
    summary.tax_authority_status = TaxStatus.ACCEPTED
    summary.tax_authority_id = result.id
    summary.tax_accepted_at = utcnow()


def submit_notice(
    session: Session, event: OutboxEvent, delivery: OutboxDelivery, client: TaxAuthorityClient
) -> None:
    """Send one Mẫu 04/SS-CTĐT notice; mark it accepted (raises to be retried)."""
    notice = session.get(ReceiptErrorNotice, int(event.payload["notice_id"]))
    if notice is None or notice.tax_authority_status == TaxStatus.ACCEPTED:
        return
    receipt = session.get(Receipt, notice.receipt_id)
    agency = session.get(Agency, receipt.agency_code) if receipt else None
    if receipt is None or agency is None:  # pragma: no cover - foreign keys
        return
    result = client.submit_notice(
        notice_document(notice, receipt, agency), submission_id=submission_id(delivery)
    )
    _accepted(result)
    notice.tax_authority_status = TaxStatus.ACCEPTED
    notice.tax_authority_id = result.id
    notice.tax_accepted_at = utcnow()


def notice_document(notice: ReceiptErrorNotice, receipt: Receipt, agency: Agency) -> NoticeDocument:
    """Mẫu 04/SS-CTĐT for a name or address error (TT 91/2026 Điều 20)."""
    return {
        "form": NOTICE_FORM,
        "agency_tax_code": agency.tax_code,
        "agency_name": agency.name,
        "date": business_day(notice.created_at).isoformat(),
        "receipts": [
            {
                "template": receipt.template,
                "series": receipt.series,
                "number": receipt.number,
                "date": receipt.issued_on.isoformat(),
                "nature": SUMMARY_STATUS_WORDS["information_corrected"],
                "reason": notice.reason,
            }
        ],
        "corrected": {
            "payer_name": notice.correct_payer_name,
            "payer_address": notice.correct_payer_address,
        },
    }


# --- what is late -----------------------------------------------------------------------------


def pending_tax(
    *, uow: UnitOfWork, now: datetime | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Everything the tax authority has not accepted yet, and payments still without receipts,
    each with its outbox delivery (attempts, last error, parked or not); with ``settings``, the
    agencies that cannot sign receipts and why."""
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
                "sending": x.sequence,
                "late": x.late,
                "count": x.count,
                "delivery": deliveries.get((SUMMARY_SUBSCRIBER, f"summary:{x.id}")),
            }
            for x in s.scalars(
                select(ReceiptSummary)
                .where(ReceiptSummary.tax_authority_status != TaxStatus.ACCEPTED)
                .order_by(ReceiptSummary.day)
            )
        ]
        notices = [
            {
                "id": n.id,
                "receipt_id": str(n.receipt_id),
                "created_at": n.created_at,
                "delivery": deliveries.get((NOTICE_SUBSCRIBER, f"notice:{n.id}")),
            }
            for n in s.scalars(
                select(ReceiptErrorNotice)
                .where(ReceiptErrorNotice.tax_authority_status != TaxStatus.ACCEPTED)
                .order_by(ReceiptErrorNotice.id)
            )
        ]
        unissued = [
            {"payment_request_id": key[1], "delivery": d}
            for key, d in deliveries.items()
            if key[0] == ISSUE_SUBSCRIBER
        ]
        unsummarised = _unsummarised_days(s, business_day(moment))
        agencies = list(s.scalars(select(Agency.code).order_by(Agency.code)))
    unable = agencies_unable_to_sign(settings, agencies) if settings is not None else {}
    return {
        "notices": notices,
        "agencies_unable_to_sign": unable,
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
            OutboxDelivery.subscriber.in_(
                [ISSUE_SUBSCRIBER, XML_SUBSCRIBER, SUMMARY_SUBSCRIBER, NOTICE_SUBSCRIBER]
            ),
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
