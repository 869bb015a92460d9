"""National-portal payments in the background: the status poll and the platform's receipts.

The poll asks about attempts still pending 30 minutes to 3 days after they started (the window
of the issue and DESIGN §2; the public clients poll pending payments the same way), or on demand
(``thuphi paygov poll``, the console's button) for one request right away. Answers go through
``record_event``, the same path as the platform's result callback, so running it twice is
harmless. Every query repeats the INIT's ``ThoiGianGD``: the platform finds a transaction by it.

GET_BILL runs as an outbox subscriber of paid requests: retried with backoff, parked when it
keeps failing, never in the way of our own e-receipt (another subscriber).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from payments.clock import utcnow
from payments.config import Settings
from payments.outbox.models import OutboxDelivery, OutboxEvent
from payments.outbox.services import Subscriber
from payments.paygov.models import PaygovBill
from payments.paygov.services import PAID, PENDING, Scope, paygov_client, paygov_configured
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaygovAttempt
from payments.transactions.services import record_event, record_rejection
from payments.uow import UnitOfWork
from providers.base import ProviderDeclined, ProviderError, TxnStatus
from providers.paygov.client import PayGovClient
from providers.paygov.schemas import format_time

log = structlog.get_logger(__name__)

POLL_AFTER = timedelta(minutes=30)
POLL_UNTIL = timedelta(days=3)
BILL_SUBSCRIBER = "paygov_bill"
PAID_TOPICS = ("payment_request.paid", "payment_request.overpaid", "payment_request.partially_paid")


@dataclass(frozen=True)
class PollSummary:
    polled: int = 0
    applied: int = 0
    still_pending: int = 0
    errors: int = 0
    attempts: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "polled": self.polled,
            "applied": self.applied,
            "still_pending": self.still_pending,
            "errors": self.errors,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class _Due:
    attempt_id: int
    provider_ref: str
    amount: int
    init_time: str


def poll_paygov(
    uow: UnitOfWork,
    settings: Settings,
    now: datetime | None = None,
    *,
    client: PayGovClient | None = None,
    limit: int = 200,
    at_once: bool = False,
    reference: str | None = None,
    payment_request_id: str | None = None,
    scope: Scope = None,
) -> PollSummary:
    """Ask the platform about pending attempts and apply its answers.

    By default those started 30 minutes to 3 days ago; ``at_once`` drops the 30 minutes; a
    ``reference`` (a request's reference or an attempt's ``MaThamChieu``) or a
    ``payment_request_id`` asks about that request's pending attempts whatever their age.
    """
    if client is None and not paygov_configured(settings):
        return PollSummary()
    platform = client or paygov_client(settings)
    moment = now or utcnow()
    due = _due(uow, moment, limit, at_once, reference, payment_request_id, scope)
    outcomes = [_poll_one(platform, d, uow=uow, now=moment) for d in due]
    return PollSummary(
        polled=len(due),
        applied=outcomes.count("applied"),
        still_pending=outcomes.count("still_pending"),
        errors=outcomes.count("errors"),
        attempts=[
            {"reference": d.provider_ref, "outcome": o} for d, o in zip(due, outcomes, strict=True)
        ],
    )


def _due(
    uow: UnitOfWork,
    now: datetime,
    limit: int,
    at_once: bool,
    reference: str | None,
    request_id: str | None,
    scope: Scope,
) -> list[_Due]:
    stmt = (
        select(PaygovAttempt)
        .join(PaymentRequest, PaymentRequest.id == PaygovAttempt.payment_request_id)
        .where(PaygovAttempt.status == PENDING)
        .order_by(PaygovAttempt.created_at)
        .limit(limit)
    )
    if reference:
        ref = reference.strip().upper()
        stmt = stmt.where(or_(PaymentRequest.reference == ref, PaygovAttempt.provider_ref == ref))
    elif request_id:
        stmt = stmt.where(PaymentRequest.id == _uuid(request_id))
    else:
        stmt = stmt.where(PaygovAttempt.created_at >= now - POLL_UNTIL)
        if not at_once:
            stmt = stmt.where(PaygovAttempt.created_at <= now - POLL_AFTER)
    if scope is not None:
        stmt = stmt.where(PaymentRequest.agency_code.in_(scope))
    with uow:
        return [
            # an attempt of the previous release has no init_time: it sent its creation time
            _Due(a.id, a.provider_ref, a.amount, a.init_time or format_time(a.created_at))
            for a in uow.session.scalars(stmt)
        ]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _poll_one(platform: PayGovClient, due: _Due, *, uow: UnitOfWork, now: datetime) -> str:
    try:
        event = platform.query_status(due.provider_ref, init_time=due.init_time)
    except ProviderDeclined as exc:
        log.warning("paygov_poll_declined", provider_ref=due.provider_ref, code=exc.provider_code)
        return _polled(due.attempt_id, "errors", uow=uow, now=now)
    except ProviderError as exc:
        log.warning("paygov_poll_failed", provider_ref=due.provider_ref, error=exc.code)
        return "errors"
    # PayGov: the status reply's MaXacThuc does not cover TrangThaiGD, so a reply claiming "paid"
    # must at least carry the amount we asked for
    if event.amount.amount != due.amount:
        record_rejection(uow, "paygov", "poll_amount_mismatch", dict(event.raw))
        return _polled(due.attempt_id, "errors", uow=uow, now=now)
    result = record_event(event, uow=uow)
    kind = "still_pending" if event.status == TxnStatus.PENDING else "applied"
    if not result.accepted:
        kind = "errors"
    return _polled(due.attempt_id, kind, uow=uow, now=now)


def _polled(attempt_id: int, outcome: str, *, uow: UnitOfWork, now: datetime) -> str:
    with uow:
        attempt = uow.session.get(PaygovAttempt, attempt_id)
        if attempt is not None:
            attempt.last_polled_at = now
        uow.commit()
    return outcome


def bill_subscriber(settings: Settings) -> Subscriber:
    """The outbox subscriber fetching the platform's receipt of each paid portal payment."""

    def handler(session: Session, event: OutboxEvent, _delivery: OutboxDelivery) -> None:
        fetch_bills(session, event.aggregate_id, paygov_client(settings))

    return Subscriber(BILL_SUBSCRIBER, PAID_TOPICS, handler)


def fetch_bills(session: Session, payment_request_id: str, client: PayGovClient) -> int:
    """Fetch and keep the receipt of every paid attempt of a request that has none yet.

    Raises the provider's error so that the outbox retries later; returns how many were stored.
    """
    attempts = session.scalars(
        select(PaygovAttempt).where(
            PaygovAttempt.payment_request_id == _uuid(payment_request_id),
            PaygovAttempt.status == PAID,
            PaygovAttempt.bill_sha256.is_(None),
        )
    )
    stored = 0
    for attempt in attempts:
        init_time = attempt.init_time or format_time(attempt.created_at)
        content = client.get_bill(attempt.provider_ref, init_time=init_time)
        attempt.bill_sha256 = _keep(session, content)
        stored += 1
        log.info("paygov_bill_stored", provider_ref=attempt.provider_ref, size=len(content))
    return stored


def _keep(session: Session, content: bytes) -> str:
    """Store a document once by its SHA-256 (the same bytes twice are one row)."""
    digest = hashlib.sha256(content).hexdigest()
    if session.get(PaygovBill, digest) is None:
        session.add(PaygovBill(sha256=digest, content=content, size=len(content)))
        session.flush()
    return digest
