"""What a provider message became: the answer, the append-only log, repeats and rejections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from payments.onetrip import OneTrip
from payments.payment_requests.models import (
    AnyRequest,
)
from payments.transactions.models import (
    AttemptStatus,
    Flag,
    PaygovAttempt,
    PaymentTransaction,
    ProviderMessage,
)
from providers.base import ProviderEvent


@dataclass(frozen=True)
class ApplyResult:
    """What became of one provider message."""

    outcome: str  # applied, duplicate, conflict, rejected, unmatched, recorded, pending, failed
    payment_request_id: str | None = None
    status: str | None = None
    transaction_id: int | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome not in {"rejected", "conflict"}


MESSAGE_TABLE = cast(Table, ProviderMessage.__table__)
_INSERT_MESSAGE = insert(MESSAGE_TABLE)


def log_message(
    session: Session,
    provider: str,
    outcome: str,
    payload: Mapping[str, Any],
    *,
    reason: str | None = None,
    txn_id: str | None = None,
    request: AnyRequest | None = None,
) -> None:
    # sent at once: the log is append-only, nothing reads the row back; on PostgreSQL through
    # the driver (a bank's re-sent notification writes only this row, and SQLAlchemy's
    # execution of an INSERT cost more CPU than PostgreSQL's work on it)
    message = message_row(provider, outcome, payload, reason, txn_id, request)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        trip = OneTrip()
        trip.insert("msg", MESSAGE_TABLE, [message])
        trip.run(conn, "SELECT 1")
    else:
        conn.execute(_INSERT_MESSAGE, message)


def message_row(
    provider: str,
    outcome: str,
    payload: Mapping[str, Any],
    reason: str | None,
    txn_id: str | None,
    request: AnyRequest | None,
) -> dict[str, Any]:
    """The ``provider_messages`` row of one message."""
    return {
        "provider": provider,
        "outcome": outcome,
        "reason": reason,
        "provider_txn_id": txn_id,
        "payload": dict(payload),
        "payment_request_id": request.id if request else None,
    }


def rid(request: AnyRequest | None) -> str | None:
    return str(request.id) if request is not None else None


class StoredTxn(NamedTuple):
    """What telling a repeated message from a conflicting one reads of the stored transaction
    (``_lock_with_context`` gets it with the lock: no second query for a bank's retry)."""

    id: int
    amount: int
    kind: str


def reject(
    session: Session, event: ProviderEvent, request: AnyRequest | None, reason: str
) -> ApplyResult:
    log_message(
        session,
        event.provider,
        "rejected",
        event.raw,
        reason=reason,
        txn_id=event.provider_txn_id,
        request=request,
    )
    return ApplyResult("rejected", rid(request), reason=reason)


def repeat(
    session: Session,
    event: ProviderEvent,
    existing: PaymentTransaction | StoredTxn,
    request: AnyRequest | None,
) -> ApplyResult:
    """The same provider id again: acknowledged if identical, rejected and flagged if not."""
    if existing.amount == event.amount.amount and existing.kind == event.kind:
        log_message(
            session,
            event.provider,
            "duplicate",
            event.raw,
            txn_id=event.provider_txn_id,
            request=request,
        )
        status = request.status if request else None
        return ApplyResult("duplicate", rid(request), status, existing.id)
    stored = existing
    if not isinstance(stored, PaymentTransaction):
        stored = session.get_one(PaymentTransaction, existing.id)
    stored.flags = sorted({*stored.flags, Flag.AMOUNT_CONFLICT})
    log_message(
        session,
        event.provider,
        "conflict",
        event.raw,
        txn_id=event.provider_txn_id,
        request=request,
        reason=f"stored amount {existing.amount}, now {event.amount.amount}",
    )
    return ApplyResult(
        "conflict", rid(request), reason="amount_conflict", transaction_id=existing.id
    )


def recorded(session: Session, event: ProviderEvent) -> PaymentTransaction:
    return session.execute(
        select(PaymentTransaction).where(
            PaymentTransaction.provider == event.provider,
            PaymentTransaction.provider_txn_id == event.provider_txn_id,
        )
    ).scalar_one()


def close_attempt(session: Session, event: ProviderEvent, status: str) -> None:
    if event.provider != "paygov" or not event.reference:
        return
    attempt = session.scalar(
        select(PaygovAttempt).where(PaygovAttempt.provider_ref == event.reference)
    )
    if attempt is not None and attempt.status == AttemptStatus.PENDING:
        attempt.status = status
