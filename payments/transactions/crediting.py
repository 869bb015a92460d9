"""Writers of one provider event: what ``ledger.decide`` decided, written (portable, and on
PostgreSQL in one statement)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from payments.clock import utcnow
from payments.onetrip import OneTrip
from payments.outbox.models import OutboxEvent
from payments.outbox.services import emit
from payments.payment_requests.models import (
    AnyRequest,
    PaymentRequest,
)
from payments.transactions import ledger
from payments.transactions.finding import REQUEST_TABLE, lock, persistent
from payments.transactions.ledger import Decision, Move
from payments.transactions.models import (
    AttemptStatus,
    Flag,
    PaymentTransaction,
    PosSettlement,
    TxnState,
)
from payments.transactions.recording import (
    MESSAGE_TABLE,
    ApplyResult,
    close_attempt,
    log_message,
    message_row,
    recorded,
    reject,
    repeat,
    rid,
)
from providers.base import EventKind, ProviderEvent


def _new_txn(
    event: ProviderEvent,
    request: AnyRequest | None,
    account: str | None,
    state: str,
    flags: list[str],
) -> dict[str, Any]:
    """The new transaction's row, every inserted column keyed (a plain dict: building an ORM
    object only to read its attributes back cost more than the INSERT)."""
    details = dict(event.details)
    batch = None
    if event.provider == "pos":
        batch = f"{details.get('terminal_id')}:{details.get('batch_no')}"
    row = dict.fromkeys(_TXN_KEYS)
    row.update(
        provider=event.provider,
        provider_txn_id=event.provider_txn_id,
        payment_request_id=request.id if request else None,
        account_id=account or (request.account_id if request else None),
        kind=event.kind,
        state=state,
        amount=event.amount.amount,
        currency=event.currency,
        occurred_at=event.occurred_at,
        reference=request.reference if request else event.reference,
        memo=details.get("content") or details.get("description"),
        payer_name=details.get("payer_name"),
        settlement_key=batch,
        flags=sorted(set(flags)),
        details=details,
    )
    return row


def apply(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest | None,
    account: str | None,
    flags: list[str],
) -> ApplyResult:
    """Record a credit: a debit or money for no request is kept; money for a request goes
    where ``ledger.decide`` says, written by the dialect's writer."""
    if event.kind == EventKind.TRANSFER_OUT:
        return _store(session, event, request, account, TxnState.RECORDED, flags, "recorded")
    if request is None:
        return _store(session, event, None, account, TxnState.UNMATCHED, flags, "unmatched")
    decision = ledger.decide(
        Move.CREDIT,
        ledger.standing(request),
        event.amount.amount,
        reference_corrected=Flag.REFERENCE_CORRECTED in flags,
    )
    txn = _new_txn(event, request, account, decision.txn_state, [*flags, *decision.txn_flags])
    writer = _WRITERS.get(session.get_bind().dialect.name, write_credit)
    return writer(session, event, request, txn, decision)


def write_credit(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest,
    txn: dict[str, Any],
    decision: Decision,
) -> ApplyResult:
    """The portable writer: the transaction first, and the request only if it went in (a
    concurrent delivery of the same event that committed after our look-up's snapshot is seen
    here, without an error)."""
    request = persistent(session, request)
    txn_id = _insert_unless_recorded(session, txn)
    if txn_id is None:
        return repeat(session, event, recorded(session, event), request)
    ledger.settle(request, decision.after)
    outcome = str(decision.txn_state)
    log_message(
        session, event.provider, outcome, event.raw, txn_id=event.provider_txn_id, request=request
    )
    if decision.applied:
        close_attempt(session, event, AttemptStatus.PAID)
    if decision.topic is not None:
        emit(
            session, decision.topic, str(request.id), ledger.event_payload(request, decision.after)
        )
    return ApplyResult(outcome, str(request.id), request.status, txn_id)


_OUTBOX_TABLE = cast(Table, OutboxEvent.__table__)


def write_credit_in_one_trip(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest,
    txn: dict[str, Any],
    decision: Decision,
) -> ApplyResult:
    """PostgreSQL: the transaction, the request's new amount and state, the message log and the
    outbox event in one statement, every part after the first only if the transaction went in.
    The request leaves the session, so that nothing flushes it again."""
    if isinstance(request, PaymentRequest):
        session.expunge(request)
    after = decision.after
    trip = OneTrip()
    trip.insert(
        "txn",
        TXN_TABLE,
        [txn],
        unless_conflict=("provider", "provider_txn_id"),
        returning="id",
    )
    trip.update(
        "req",
        REQUEST_TABLE,
        {"id": request.id},
        {
            "paid_amount": after.paid,
            "status": after.status,
            "flags": list(after.flags),
            "version": after.version,
            "updated_at": utcnow(),
        },
        when="txn",
    )
    outcome = str(decision.txn_state)
    message = message_row(event.provider, outcome, event.raw, None, event.provider_txn_id, request)
    trip.insert("msg", MESSAGE_TABLE, [message], when="txn")
    if decision.topic is not None:
        outbox = {
            "topic": decision.topic,
            "aggregate_id": str(request.id),
            "payload": ledger.event_payload(request, after),
        }
        trip.insert("ev", _OUTBOX_TABLE, [outbox], when="txn")
    row = trip.run(session.connection(), "SELECT id FROM txn")
    if row is None:
        # a concurrent delivery of the same event committed after our look-up's snapshot
        stored = session.get(PaymentRequest, request.id)
        return repeat(session, event, recorded(session, event), stored)
    if decision.applied:
        close_attempt(session, event, AttemptStatus.PAID)
    return ApplyResult(outcome, str(request.id), after.status, row[0])


_WRITERS = {"postgresql": write_credit_in_one_trip}


def _insert_unless_recorded(session: Session, txn: dict[str, Any]) -> int | None:
    """INSERT a transaction; None, and nothing written, when its (provider, id) is recorded
    already (PostgreSQL waits for a concurrent insert of the same id to commit or roll back)."""
    stmt = _INSERT_TXN_UNLESS_RECORDED[session.get_bind().dialect.name]
    return session.connection().execute(stmt, txn).scalar_one_or_none()


def _store(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest | None,
    account: str | None,
    state: str,
    flags: list[str],
    outcome: str,
) -> ApplyResult:
    txn = _new_txn(event, request, account, state, flags)
    # a Core INSERT (the ORM's flush costs more than the statement): the unique (provider, id)
    # constraint speaks here
    txn_id = session.connection().execute(_INSERT_TXN, txn).scalar_one()
    log_message(
        session, event.provider, outcome, event.raw, txn_id=event.provider_txn_id, request=request
    )
    return ApplyResult(outcome, rid(request), request.status if request else None, txn_id)


def void(session: Session, event: ProviderEvent, request: AnyRequest | None) -> ApplyResult:
    """A POS void before its batch settles reverses the payment it names."""
    original_id = event.details.get("original_txn_id", "")
    original = session.scalar(
        select(PaymentTransaction)
        .where(
            PaymentTransaction.provider == event.provider,
            PaymentTransaction.provider_txn_id == original_id,
        )
        .with_for_update()
    )
    if original is None or original.state != TxnState.APPLIED:
        return reject(session, event, request, "void_of_unknown_payment")
    if original.amount != event.amount.amount:
        return reject(session, event, request, "void_amount_mismatch")
    settled = session.scalar(
        select(PosSettlement.id).where(PosSettlement.settlement_key == original.settlement_key)
    )
    if settled is not None:
        return reject(session, event, request, "batch_already_settled")
    original.state = TxnState.REVERSED
    request = lock(session, original.payment_request_id) if original.payment_request_id else None
    result = _store(session, event, request, original.account_id, TxnState.RECORDED, [], "reversed")
    if request is not None:
        decision = ledger.decide(Move.VOID, ledger.standing(request), original.amount)
        ledger.settle(request, decision.after)
        if decision.topic is not None:
            payload = ledger.event_payload(request, decision.after)
            emit(session, decision.topic, str(request.id), payload)
    return ApplyResult(
        "reversed", rid(request), request.status if request else None, result.transaction_id
    )


_TXN_KEYS = [
    c.key for c in PaymentTransaction.__table__.columns if c.key not in {"id", "recorded_at"}
]
TXN_TABLE = cast(Table, PaymentTransaction.__table__)
_INSERT_TXN = insert(TXN_TABLE).returning(TXN_TABLE.c.id)
_INSERT_TXN_UNLESS_RECORDED = {
    name: dialect_insert(TXN_TABLE)
    .on_conflict_do_nothing(index_elements=[TXN_TABLE.c.provider, TXN_TABLE.c.provider_txn_id])
    .returning(TXN_TABLE.c.id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
