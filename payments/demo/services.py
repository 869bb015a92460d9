"""Demo-mode simulations: the fakes send real, signed provider callbacks to this very service.

Only reachable when ``settings.demo`` is on (the blueprint is registered nowhere else).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import structlog
from sqlalchemy import select

from payments.catalog.models import BeneficiaryAccount
from payments.config import Settings, split_secret
from payments.errors import Conflict, NotFound
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions.models import PaygovAttempt
from payments.uow import UnitOfWork
from providers.fakes.bank import FakeBank
from providers.fakes.pos import FakePosAcquirer

log = structlog.get_logger(__name__)

# The fakes number their transactions from a fixed start, so a fresh fake per click (or a
# restarted demo on the same database) would send the id of an earlier transfer again and be
# answered 409. One sequence per process, started from the clock, keeps every id new.
_SEQUENCE = itertools.count(int(time.time() * 1000))


def next_provider_number() -> int:
    """A transaction number no earlier simulation of this or a previous process has used."""
    return next(_SEQUENCE)


@dataclass(frozen=True)
class _Due:
    reference: str
    amount: int
    account_number: str


def _due(token: str, uow: UnitOfWork) -> _Due:
    with uow:
        request = uow.session.scalar(
            select(PaymentRequest).where(PaymentRequest.checkout_token == token)
        )
        if request is None:
            raise NotFound("no such payment link")
        if request.status not in OPEN_STATUSES or request.remaining_amount <= 0:
            raise Conflict(f"the request is {request.status}: nothing to pay")
        account = uow.session.get(BeneficiaryAccount, request.account_id)
        number = account.account_number if account else ""
        return _Due(request.reference, request.remaining_amount, number)


def simulate_transfer(token: str, *, uow: UnitOfWork, settings: Settings) -> int:
    """A VietQR transfer of what is due: the fake bank notifies ``/callbacks/bank/demo``."""
    due = _due(token, uow)
    bank = FakeBank(
        f"{settings.public_url.rstrip('/')}/callbacks/bank/demo",
        split_secret(settings.bank_api_key)[0],
        account_number=due.account_number,
    )
    number = next_provider_number()
    response = bank.notify(
        due.amount, f"{due.reference} nop phi ho so", id=number, referenceCode=f"FT{number}"
    )
    log.info("demo_transfer_sent", status=response.status_code)
    return response.status_code


def simulate_card(token: str, *, uow: UnitOfWork, settings: Settings) -> int:
    """A card payment at the counter: the fake acquirer posts a signed approval."""
    due = _due(token, uow)
    pos = FakePosAcquirer(f"{settings.public_url.rstrip('/')}/callbacks/pos", settings.pos_secret)
    number = next_provider_number()
    batch, trace = divmod(number, 1_000_000)
    response = pos.send_payment(
        due.reference, due.amount, batch_no=f"{batch % 1_000_000:06d}", trace_no=f"{trace:06d}"
    )
    log.info("demo_card_sent", status=response.status_code)
    return response.status_code


def checkout_token_for_attempt(provider_ref: str, *, uow: UnitOfWork) -> str:
    """Where the fake platform sends the citizen back: the checkout page of the attempt."""
    with uow:
        token = uow.session.scalar(
            select(PaymentRequest.checkout_token)
            .join(PaygovAttempt, PaygovAttempt.payment_request_id == PaymentRequest.id)
            .where(PaygovAttempt.provider_ref == provider_ref)
        )
        if token is None:
            raise NotFound("no such portal payment")
        return token
