"""How an open request ends without a payment: cancelled or expired; and what the outbox says
about a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.clock import day_bounds, today, utcnow
from payments.config import Settings
from payments.errors import Conflict, ValidationFailed
from payments.outbox.services import emit
from payments.payment_requests import state
from payments.payment_requests.models import (
    AnyRequest,
    PaymentRequest,
)
from payments.payment_requests.services.reading import ViewExtension, load_request, present
from payments.payment_requests.state import transition
from payments.transactions import ledger
from payments.transactions.models import PaymentTransaction, TxnState
from payments.uow import UnitOfWork


def event_payload(request: AnyRequest) -> dict[str, Any]:
    """What the outbox carries about a request (built by ``ledger.event_payload``)."""
    return ledger.event_payload(request, ledger.standing(request))


def cancel_payment_request(
    request_id: str,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    extensions: Sequence[ViewExtension] = (),
) -> dict[str, Any]:
    """Cancel an open request. Money already received stays recorded and is flagged for refund."""
    with uow:
        request = _lock(uow.session, request_id, principal)
        if transition(request, state.CANCELLED):
            if request.paid_amount > 0:
                request.flags = sorted({*request.flags, "refund_due"})
            emit(uow.session, "payment_request.cancelled", str(request.id), event_payload(request))
        view = present(uow.session, [request], settings, extensions=extensions)[0]
        uow.commit()
        return view


# the provider name of refunds in payment_transactions: the bank reference is unique among them
REFUND_PROVIDER = "refund"


class RefundExists(Conflict):
    code = "refund-exists"
    title = "Another refund already carries this bank reference"


@dataclass(frozen=True)
class RecordRefund:
    request_id: str
    amount: int
    refunded_on: date
    bank_reference: str
    note: str = ""


def refund_payment_request(
    cmd: RecordRefund,
    *,
    uow: UnitOfWork,
    settings: Settings,
    principal: Principal | None,
    extensions: Sequence[ViewExtension] = (),
) -> tuple[dict[str, Any], bool]:
    """Record money paid back to the payer, as ``ledger.decide`` rules: ``(view, created)``.
    The same bank reference again for the same request and amount is the same refund."""
    if cmd.refunded_on > today():
        raise ValidationFailed({"refunded_on": ["is in the future"]})
    with uow:
        session = uow.session
        request = _lock(session, cmd.request_id, principal)
        known = session.scalar(
            select(PaymentTransaction).where(
                PaymentTransaction.provider == REFUND_PROVIDER,
                PaymentTransaction.provider_txn_id == cmd.bank_reference,
            )
        )
        if known is not None:
            if (known.payment_request_id, known.amount) != (request.id, cmd.amount):
                raise RefundExists(f"refund {cmd.bank_reference} is already recorded")
            return present(session, [request], settings, extensions=extensions)[0], False
        decision = ledger.decide(ledger.Move.REFUND, ledger.standing(request), cmd.amount)
        session.add(
            PaymentTransaction(
                provider=REFUND_PROVIDER,
                provider_txn_id=cmd.bank_reference,
                payment_request_id=request.id,
                account_id=request.account_id,
                kind="refund",
                state=TxnState.RECORDED,
                amount=cmd.amount,
                occurred_at=day_bounds(cmd.refunded_on)[0],
                reference=request.reference,
                memo=cmd.note or None,
                payer_name=request.payer_name,
                details={"refunded_on": cmd.refunded_on.isoformat(), "note": cmd.note},
            )
        )
        ledger.settle(request, decision.after)
        if decision.topic is not None:
            payload = ledger.event_payload(request, decision.after)
            emit(session, decision.topic, str(request.id), payload)
        session.flush()
        view = present(session, [request], settings, extensions=extensions)[0]
        uow.commit()
        return view, True


def _lock(session: Session, request_id: str, principal: Principal | None) -> PaymentRequest:
    request = load_request(session, request_id, principal)
    session.refresh(request, with_for_update=True)
    return request


def expire_overdue(*, uow: UnitOfWork, now: datetime | None = None, batch: int = 1000) -> int:
    """Mark pending requests past their expiry as expired (idempotent; safe to run twice)."""
    moment = now or utcnow()
    expired = 0
    while True:
        with uow:
            stmt = (
                select(PaymentRequest)
                .where(
                    PaymentRequest.status == state.EXPIRES,
                    PaymentRequest.expires_at <= moment,
                )
                .limit(batch)
            )
            if uow.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(uow.session.scalars(stmt))
            for request in rows:
                transition(request, state.EXPIRED)
                emit(
                    uow.session, "payment_request.expired", str(request.id), event_payload(request)
                )
            uow.commit()
        expired += len(rows)
        if len(rows) < batch:
            return expired
