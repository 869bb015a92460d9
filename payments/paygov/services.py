"""National-portal payments (PayGov): start one from the checkout page; what officers read.

INIT is a call to another system, so it never runs inside a database transaction: the attempt is
committed first (its ``MaThamChieu`` and the INIT's ``ThoiGianGD`` are then reserved: the
platform finds the transaction by both, so the poller can ask even when the INIT's answer was
lost), the platform is called, and the URL is stored in a second short transaction. Polling and
fetching the platform's receipt are in ``jobs``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select

from payments.catalog.models import Agency, BeneficiaryAccount, Procedure
from payments.clock import utcnow
from payments.config import Settings
from payments.errors import NotFound
from payments.money import Money
from payments.paygov.errors import PaygovNotConfigured, PaygovUnavailable, RequestNotPayable
from payments.paygov.models import PaygovBill
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions.models import AttemptStatus, PaygovAttempt
from payments.uow import UnitOfWork
from providers.base import ProviderError, ProviderUnavailable
from providers.paygov.client import PayGovClient
from providers.paygov.mapping import BillInfo, FeeLine, receipt_info
from providers.paygov.schemas import MAX_REFERENCE, format_time

log = structlog.get_logger(__name__)

PENDING, FAILED, PAID = AttemptStatus.PENDING, AttemptStatus.FAILED, AttemptStatus.PAID
# a citizen who clicks twice within this window is sent to the same platform page
REUSE_URL_FOR = timedelta(minutes=15)
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Scope = list[str] | None  # the agencies a caller may see; None: all


def paygov_configured(settings: Settings) -> bool:
    """Whether the platform can be called: partner code, secret, and an INIT URL."""
    has_url = bool(settings.paygov_url or settings.paygov_init_url)
    return has_url and bool(settings.paygov_partner_code and settings.paygov_secret)


def paygov_client(settings: Settings) -> PayGovClient:
    """The platform adapter for these settings; PaygovNotConfigured when a part is missing."""
    if not paygov_configured(settings):
        raise PaygovNotConfigured(
            "THUPHI_PAYGOV_URL (or the three URLs), _PARTNER_CODE and _SECRET must all be set"
        )
    return PayGovClient(
        settings.paygov_url,
        settings.paygov_partner_code,
        settings.paygov_secret,
        init_url=settings.paygov_init_url,
        query_url=settings.paygov_query_url,
        bill_url=settings.paygov_bill_url,
        access_token=settings.paygov_access_token,
    )


@dataclass(frozen=True)
class _Started:
    attempt_id: int
    provider_ref: str
    init_time: str
    amount: int
    description: str
    receipt: dict[str, Any]
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
            receipt=started.receipt,
            init_time=started.init_time,
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
        attempt = _reusable_attempt(uow, request, due, now)
        if attempt is None:
            attempt = PaygovAttempt(
                payment_request_id=request.id,
                provider_ref=_new_provider_ref(uow, request),
                amount=due,
                status=PENDING,
                created_at=now,
                init_time=format_time(now),
            )
            uow.session.add(attempt)
            uow.session.flush()
        started = _started(uow, attempt, request)
        uow.commit()
        return started


def _new_provider_ref(uow: UnitOfWork, request: PaymentRequest) -> str:
    """``MaThamChieu``: our reference, "G" and an attempt counter in base 36, ≤ 20 characters
    (the platform's limit [OCPS]) and unique per INIT; the reference stays findable in it."""
    count = uow.session.scalar(
        select(func.count())
        .select_from(PaygovAttempt)
        .where(PaygovAttempt.payment_request_id == request.id)
    )
    number = (count or 0) + 1
    if number >= 36**2:
        raise RequestNotPayable("too many portal payments were started for this request")
    ref = f"{request.reference}G{_BASE36[number // 36]}{_BASE36[number % 36]}"
    if len(ref) > MAX_REFERENCE:  # pragma: no cover - references are 17 characters
        raise RequestNotPayable("the payment reference is too long for the platform")
    return ref


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


def _started(uow: UnitOfWork, attempt: PaygovAttempt, request: PaymentRequest) -> _Started:
    # [TD] "THANH TOAN HO SO <dossier>": ThongTinGiaoDich and the receipt's NoiDungThanhToan
    description = f"THANH TOAN HO SO {request.dossier_code}"
    return _Started(
        attempt_id=attempt.id,
        provider_ref=attempt.provider_ref,
        init_time=attempt.init_time or format_time(attempt.created_at),
        amount=attempt.amount,
        description=description,
        receipt=receipt_info(_bill_info(uow, request, attempt.amount, description)),
        url=attempt.payment_url,
    )


def _bill_info(uow: UnitOfWork, request: PaymentRequest, amount: int, description: str) -> BillInfo:
    """The catalog's agency, procedure and account, and the request's lines and payer."""
    s = uow.session
    procedure = s.get(Procedure, request.procedure_code)
    agency = s.get(Agency, request.agency_code)
    account = s.get(BeneficiaryAccount, request.account_id)
    return BillInfo(
        dossier_code=request.dossier_code,
        procedure_code=request.procedure_code,
        procedure_name=procedure.name if procedure else "",
        dvc_code=procedure.dvc_code if procedure else None,
        agency_code=request.agency_code,
        agency_name=agency.name if agency else "",
        account_number=account.account_number if account else "",
        bank_bin=account.bank_bin if account else "",
        account_name=account.account_name if account else "",
        treasury=bool(account and account.kind == "treasury"),
        payer_name=request.payer_name,
        payer_id_number=request.payer_id_number or "",
        payer_address=request.payer_address or "",
        description=description,
        amount=amount,
        lines=tuple(FeeLine(ln.kind, ln.fee_code, ln.name, ln.amount) for ln in request.lines),
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


def _visible_request(uow: UnitOfWork, request_id: str, scope: Scope) -> PaymentRequest:
    try:
        key = uuid.UUID(request_id)
    except ValueError:
        raise NotFound("no such payment request") from None
    request = uow.session.get(PaymentRequest, key)
    if request is None or (scope is not None and request.agency_code not in scope):
        raise NotFound("no such payment request")
    return request


def list_attempts(request_id: str, scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """A request's national-portal payments, oldest first, with their stored receipts."""
    with uow:
        request = _visible_request(uow, request_id, scope)
        rows = uow.session.execute(
            select(PaygovAttempt, PaygovBill.size)
            .outerjoin(PaygovBill, PaygovBill.sha256 == PaygovAttempt.bill_sha256)
            .where(PaygovAttempt.payment_request_id == request.id)
            .order_by(PaygovAttempt.id)
        )
        return [
            {
                "provider_ref": a.provider_ref,
                "amount": a.amount,
                "status": a.status,
                "created_at": a.created_at,
                "init_time": a.init_time,
                "last_polled_at": a.last_polled_at,
                "bill_sha256": a.bill_sha256,
                "bill_size": size,
            }
            for a, size in rows
        ]


def get_bill(request_id: str, sha256: str, scope: Scope, *, uow: UnitOfWork) -> bytes:
    """The platform's receipt PDF of one of a request's payments (NotFound otherwise)."""
    with uow:
        request = _visible_request(uow, request_id, scope)
        content = uow.session.scalar(
            select(PaygovBill.content)
            .join(PaygovAttempt, PaygovAttempt.bill_sha256 == PaygovBill.sha256)
            .where(PaygovAttempt.payment_request_id == request.id, PaygovBill.sha256 == sha256)
            .limit(1)
        )
        if content is None:
            raise NotFound("no such receipt of the national platform")
        return content
