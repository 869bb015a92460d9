"""National-portal payments (PayGov): start one from the checkout page, poll the ones pending.

INIT is a call to another system, so it never runs inside a database transaction: the attempt is
committed first (its ``MaThamChieu`` is then reserved), the platform is called, and the URL is
stored in a second short transaction. Answers of the status poll go through ``record_event``, the
same code path as the platform's RESULT callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select

from payments.clock import utcnow
from payments.config import Settings
from payments.errors import NotFound
from payments.money import Money
from payments.paygov.errors import PaygovNotConfigured, PaygovUnavailable, RequestNotPayable
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions.models import AttemptStatus, PaygovAttempt
from payments.transactions.services import ApplyResult, record_event, record_rejection
from payments.uow import UnitOfWork
from providers.base import ProviderDeclined, ProviderError, ProviderUnavailable, TxnStatus
from providers.paygov.client import PayGovClient

log = structlog.get_logger(__name__)

PENDING, FAILED, PAID = AttemptStatus.PENDING, AttemptStatus.FAILED, AttemptStatus.PAID
# a citizen who clicks twice within this window is sent to the same platform page
REUSE_URL_FOR = timedelta(minutes=15)
POLL_AFTER = timedelta(minutes=30)
POLL_UNTIL = timedelta(days=3)


def paygov_client(settings: Settings) -> PayGovClient:
    """The platform adapter for these settings; PaygovNotConfigured when a part is missing."""
    if not (settings.paygov_url and settings.paygov_partner_code and settings.paygov_secret):
        raise PaygovNotConfigured("THUPHI_PAYGOV_URL, _PARTNER_CODE and _SECRET must all be set")
    return PayGovClient(settings.paygov_url, settings.paygov_partner_code, settings.paygov_secret)


@dataclass(frozen=True)
class _Started:
    attempt_id: int
    provider_ref: str
    amount: int
    description: str
    payer: dict[str, str]
    url: str | None


def start_paygov_payment(token: str, client_ip: str, *, uow: UnitOfWork, settings: Settings) -> str:
    """Start a payment of what remains due on the platform; return the URL to send the citizen.

    Raises NotFound (no such checkout token), RequestNotPayable (not open, nothing due),
    PaygovNotConfigured, PaygovUnavailable (the platform failed; an attempt that may have reached
    it stays pending and is polled).
    """
    client = paygov_client(settings)
    started = _reserve_attempt(token, uow=uow, now=utcnow())
    if started.url:
        return started.url
    try:
        result = client.init_payment(
            started.provider_ref,
            Money(started.amount),
            started.description,
            client_ip or "127.0.0.1",
            receipt_info=started.payer,
        )
    except ProviderError as exc:
        _fail_attempt(started.attempt_id, exc, uow=uow)
        raise PaygovUnavailable(f"INIT failed: {exc.code}") from exc
    with uow:
        attempt = uow.session.get(PaygovAttempt, started.attempt_id)
        if attempt is not None:
            attempt.payment_url = result.url
        uow.commit()
    log.info("paygov_started", provider_ref=started.provider_ref, amount=started.amount)
    return result.url


def _reserve_attempt(token: str, *, uow: UnitOfWork, now: datetime) -> _Started:
    with uow:
        request = uow.session.scalar(
            select(PaymentRequest).where(PaymentRequest.checkout_token == token).with_for_update()
        )
        if request is None:
            raise NotFound("no such payment link")
        due = request.remaining_amount
        if request.status not in OPEN_STATUSES or due <= 0:
            raise RequestNotPayable(f"the request is {request.status}")
        reusable = _reusable_attempt(uow, request, due, now)
        if reusable is not None:
            return _started(reusable, request)
        count = uow.session.scalar(
            select(func.count())
            .select_from(PaygovAttempt)
            .where(PaygovAttempt.payment_request_id == request.id)
        )
        attempt = PaygovAttempt(
            payment_request_id=request.id,
            # MaThamChieu: our reference plus an attempt counter, unique per INIT
            provider_ref=f"{request.reference}G{(count or 0) + 1:02d}",
            amount=due,
            status=PENDING,
            created_at=now,
        )
        uow.session.add(attempt)
        uow.session.flush()
        started = _started(attempt, request)
        uow.commit()
        return started


def _reusable_attempt(
    uow: UnitOfWork, request: PaymentRequest, due: int, now: datetime
) -> PaygovAttempt | None:
    return uow.session.scalar(
        select(PaygovAttempt)
        .where(
            PaygovAttempt.payment_request_id == request.id,
            PaygovAttempt.status == PENDING,
            PaygovAttempt.amount == due,
            PaygovAttempt.payment_url.is_not(None),
            PaygovAttempt.created_at > now - REUSE_URL_FOR,
        )
        .order_by(PaygovAttempt.id.desc())
        .limit(1)
    )


def _started(attempt: PaygovAttempt, request: PaymentRequest) -> _Started:
    return _Started(
        attempt_id=attempt.id,
        provider_ref=attempt.provider_ref,
        amount=attempt.amount,
        description=f"Nop phi ho so {request.dossier_code} ma {request.reference}",
        payer={"HoTenNguoiNop": request.payer_name, "MaHoSo": request.dossier_code},
        url=attempt.payment_url,
    )


def _fail_attempt(attempt_id: int, exc: ProviderError, *, uow: UnitOfWork) -> None:
    """A refused INIT, or one that never left this host, is failed; anything else may have
    reached the platform and stays pending for the poller to settle."""
    reached = isinstance(exc, ProviderUnavailable) and exc.request_sent
    log.warning("paygov_init_failed", attempt_id=attempt_id, error=exc.code, reached=reached)
    if reached:
        return
    with uow:
        attempt = uow.session.get(PaygovAttempt, attempt_id)
        if attempt is not None and attempt.status == PENDING:
            attempt.status = FAILED
        uow.commit()


@dataclass(frozen=True)
class PollSummary:
    polled: int = 0
    applied: int = 0
    still_pending: int = 0
    errors: int = 0


def poll_paygov(
    uow: UnitOfWork,
    settings: Settings,
    now: datetime | None = None,
    *,
    client: PayGovClient | None = None,
    limit: int = 200,
) -> PollSummary:
    """Ask the platform about attempts pending between 30 minutes and 3 days old; apply answers.

    Safe to run twice: answers go through ``record_event``, which deduplicates.
    """
    if client is None and not settings.paygov_url:
        return PollSummary()
    platform = client or paygov_client(settings)
    moment = now or utcnow()
    with uow:
        due = list(
            uow.session.execute(
                select(PaygovAttempt.id, PaygovAttempt.provider_ref, PaygovAttempt.amount)
                .where(
                    PaygovAttempt.status == PENDING,
                    PaygovAttempt.created_at <= moment - POLL_AFTER,
                    PaygovAttempt.created_at >= moment - POLL_UNTIL,
                )
                .order_by(PaygovAttempt.created_at)
                .limit(limit)
            )
        )
    counts = {"applied": 0, "still_pending": 0, "errors": 0}
    for attempt_id, provider_ref, amount in due:
        counts[_poll_one(platform, attempt_id, provider_ref, amount, uow=uow, now=moment)] += 1
    return PollSummary(polled=len(due), **counts)


def _poll_one(
    platform: PayGovClient,
    attempt_id: int,
    provider_ref: str,
    amount: int,
    *,
    uow: UnitOfWork,
    now: datetime,
) -> str:
    try:
        event = platform.query_status(provider_ref)
    except ProviderDeclined as exc:
        log.warning("paygov_poll_declined", provider_ref=provider_ref, code=exc.provider_code)
        return _polled(attempt_id, "errors", uow=uow, now=now)
    except ProviderError as exc:
        log.warning("paygov_poll_failed", provider_ref=provider_ref, error=exc.code)
        return "errors"
    # PayGov: the status reply's MaXacThuc does not cover TrangThaiGD, so a reply claiming "paid"
    # must at least carry the amount we asked for
    if event.amount.amount != amount:
        record_rejection(uow, "paygov", "poll_amount_mismatch", dict(event.raw))
        return _polled(attempt_id, "errors", uow=uow, now=now)
    result: ApplyResult = record_event(event, uow=uow)
    kind = "still_pending" if event.status == TxnStatus.PENDING else "applied"
    if not result.accepted:
        kind = "errors"
    return _polled(attempt_id, kind, uow=uow, now=now)


def _polled(attempt_id: int, outcome: str, *, uow: UnitOfWork, now: datetime) -> str:
    with uow:
        attempt = uow.session.get(PaygovAttempt, attempt_id)
        if attempt is not None:
            attempt.last_polled_at = now
        uow.commit()
    return outcome
