"""Record what providers report, exactly once, and move payment requests accordingly.

Every provider path ends in ``record_event``: verify first (the adapter did), then deduplicate on
(provider, provider transaction id), check currency and account, and apply the amount under a row
lock on the request. What a provider sent is kept in the append-only ``provider_messages`` log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import ColumnElement, Table, and_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from payments import reference as refs
from payments.catalog.models import BeneficiaryAccount
from payments.clock import utcnow
from payments.db import DriverStatement
from payments.onetrip import OneTrip
from payments.outbox.models import OutboxEvent
from payments.outbox.services import emit
from payments.payment_requests.models import (
    LOCKED_COLUMNS,
    OPEN_STATUSES,
    AnyRequest,
    LockedRequest,
    PaymentRequest,
    RequestStatus,
)
from payments.payment_requests.services import event_payload
from payments.payment_requests.state import status_for_amount, transition
from payments.transactions.models import (
    Flag,
    PaygovAttempt,
    PaymentTransaction,
    PosSettlement,
    ProviderMessage,
    TxnState,
)
from payments.uow import UnitOfWork
from providers.base import EventKind, ProviderEvent, Settlement, TxnStatus

log = structlog.get_logger(__name__)
STATUS_TOPICS = {
    RequestStatus.PAID: "payment_request.paid",
    RequestStatus.PARTIALLY_PAID: "payment_request.partially_paid",
    RequestStatus.OVERPAID: "payment_request.overpaid",
}


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


_MESSAGE_TABLE = cast(Table, ProviderMessage.__table__)
_INSERT_MESSAGE = insert(_MESSAGE_TABLE)


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
    message = _message_row(provider, outcome, payload, reason, txn_id, request)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        trip = OneTrip()
        trip.insert("msg", _MESSAGE_TABLE, [message])
        trip.run(conn, "SELECT 1")
    else:
        conn.execute(_INSERT_MESSAGE, message)


def _message_row(
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


def record_rejection(
    uow: UnitOfWork, provider: str, reason: str, payload: Mapping[str, Any]
) -> None:
    """Keep a message that failed verification: logged, stored, changing nothing else."""
    log.warning("callback_rejected", provider=provider, reason=reason)
    with uow:
        log_message(uow.session, provider, "rejected", payload, reason=reason)
        uow.commit()


def record_event(event: ProviderEvent, *, uow: UnitOfWork) -> ApplyResult:
    """Apply one verified provider event exactly once (safe under concurrent deliveries)."""
    for attempt in range(2):
        try:
            with uow:
                result = _record(uow.session, event)
                uow.commit()
        except IntegrityError:
            # a concurrent delivery inserted the same (provider, id) first: the retry sees it
            if attempt:
                raise
            continue
        log.info(
            "provider_event",
            provider=event.provider,
            outcome=result.outcome,
            reason=result.reason,
            request_id=result.payment_request_id,
        )
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _record(session: Session, event: ProviderEvent) -> ApplyResult:
    found = _resolve(session, event)
    request, account, flags = found.request, found.account, found.flags
    if found.reason:
        return _reject(session, event, request, found.reason)
    existing = found.existing
    if not found.existing_known:
        existing = session.scalar(
            select(PaymentTransaction).where(
                PaymentTransaction.provider == event.provider,
                PaymentTransaction.provider_txn_id == event.provider_txn_id,
            )
        )
    if existing is not None:
        return _repeat(session, event, existing, request)
    if event.currency != "VND":
        return _reject(session, event, request, "wrong_currency")
    if event.status == TxnStatus.PENDING:
        log_message(
            session,
            event.provider,
            "pending",
            event.raw,
            txn_id=event.provider_txn_id,
            request=request,
        )
        return ApplyResult("pending", _rid(request), request.status if request else None)
    if event.status == TxnStatus.FAILED:
        _close_attempt(session, event, "failed")
        log_message(
            session,
            event.provider,
            "failed",
            event.raw,
            txn_id=event.provider_txn_id,
            request=request,
        )
        return ApplyResult("failed", _rid(request), request.status if request else None)
    if event.kind == EventKind.VOID:
        return _void(session, event, request)
    return _apply(session, event, request, account, flags)


def _rid(request: AnyRequest | None) -> str | None:
    return str(request.id) if request is not None else None


class StoredTxn(NamedTuple):
    """What telling a repeated message from a conflicting one reads of the stored transaction
    (``_lock_with_context`` gets it with the lock: no second query for a bank's retry)."""

    id: int
    amount: int
    kind: str


@dataclass(frozen=True)
class Resolution:
    """What ``_resolve`` found out about an event before anything is written."""

    request: AnyRequest | None  # locked
    account: str | None = None  # the account the money reached
    flags: list[str] = field(default_factory=list)  # how the request was found
    reason: str | None = None  # why the event is rejected
    # the transaction stored under the event's (provider, id), when the look-up asked already
    existing: PaymentTransaction | StoredTxn | None = None
    existing_known: bool = False


def _resolve(session: Session, event: ProviderEvent) -> Resolution:
    """The request an event pays (locked), the account the money reached, flags about how the
    request was found, or a rejection reason; and the transaction already recorded under the
    event's id when the look-up found it on the way."""
    if event.provider == "paygov" and event.reference:
        if (
            event.account_number is not None
            and _account_by_number(session, event.account_number) is None
        ):
            return Resolution(None, reason="unknown_account")
        return _resolve_paygov(session, event)
    reference = event.reference
    if reference is None and event.kind == EventKind.TRANSFER_IN:
        reference = refs.find_reference(_memo(event))
    if reference:
        found = _lock_with_context(session, event, reference)
        if found is not None:
            return found
    # no reference, or one no request holds: the general path, a statement per question
    account = None
    if event.account_number is not None:
        account = _account_by_number(session, event.account_number)
        if account is None:
            return Resolution(None, reason="unknown_account")
    flags: list[str] = []
    if reference is None and event.kind == EventKind.TRANSFER_IN:
        reference, flags = _reference_from_memo(session, event, account)
    request = None
    if reference:
        request = session.scalar(
            select(PaymentRequest).where(PaymentRequest.reference == reference).with_for_update()
        )
    if request is not None and account is not None and request.account_id != account:
        return Resolution(request, account, flags, "wrong_account")
    return Resolution(request, account or (request.account_id if request else None), flags)


def _lock_with_context(session: Session, event: ProviderEvent, reference: str) -> Resolution | None:
    """The hot path of every bank notification, in one statement: the request with this
    reference, locked, with the id of the account the money reached and of a transaction already
    stored under the event's id. None when no request has the reference.

    Under READ COMMITTED a concurrent delivery of the same event may commit after this statement's
    snapshot (while it waited for the lock): its transaction is then not seen here, and the
    unique (provider, id) constraint stops the second insert (``_apply`` inserts with ON
    CONFLICT DO NOTHING and answers as for a duplicate; other outcomes retry in
    ``record_event``).
    """
    number = _normalised_number(event.account_number)
    if event.account_number is not None and not number:
        return Resolution(None, reason="unknown_account")
    params = {
        "reference": reference,
        "account_number": number,
        "provider": event.provider,
        "provider_txn_id": event.provider_txn_id,
    }
    row = _LOCK_WITH_CONTEXT.first(session.connection(), params)
    if row is None:
        return None
    request = LockedRequest(*row[: len(LOCKED_COLUMNS)])
    account_id, *stored_columns = row[len(LOCKED_COLUMNS) :]
    if event.account_number is not None and account_id is None:
        return Resolution(None, reason="unknown_account")
    stored = None
    if stored_columns[0] is not None:
        stored = StoredTxn(*stored_columns)
    if account_id is not None and request.account_id != account_id:
        return Resolution(request, account_id, reason="wrong_account")
    return Resolution(
        request, account_id or request.account_id, existing=stored, existing_known=True
    )


def _memo(event: ProviderEvent) -> str:
    return " ".join(str(event.details.get(k, "")) for k in ("content", "description"))


def _resolve_paygov(session: Session, event: ProviderEvent) -> Resolution:
    attempt = session.scalar(
        select(PaygovAttempt).where(PaygovAttempt.provider_ref == event.reference)
    )
    if attempt is None:
        return Resolution(None, reason="unknown_reference")
    request = _lock(session, attempt.payment_request_id)
    account = request.account_id if request else None
    # the platform was told the amount: anything else is a protocol error, never a payment
    if event.status == TxnStatus.PAID and attempt.amount != event.amount.amount:
        return Resolution(request, account, reason="amount_mismatch")
    return Resolution(request, account)


def _account_by_number(session: Session, number: str) -> str | None:
    """The id of the catalog account with this number, ignoring the separators banks print."""
    wanted = _normalised_number(number)
    return session.scalar(_ACCOUNT_ID, {"account_number": wanted}) if wanted else None


def _normalised_number(number: str | None) -> str | None:
    return None if number is None else "".join(ch for ch in number if ch.isalnum())


def _without_separators(column: ColumnElement[str]) -> ColumnElement[str]:
    for sep in (".", "-", " "):
        column = func.replace(column, sep, "")
    return column


# Built once: the statements of the callbacks' hot path cost more to build than to run.
# An account matched in SQL on its normalised number (one small query, no Python scan).
_ACCOUNT_ID = (
    select(BeneficiaryAccount.id)
    .where(
        _without_separators(BeneficiaryAccount.account_number.expression)
        == bindparam("account_number")
    )
    .order_by(BeneficiaryAccount.id)
    .limit(1)
)
_REQUEST_TABLE = cast(Table, PaymentRequest.__table__)
_STORED = cast(Table, PaymentTransaction.__table__).alias("stored")
# the columns applying a payment reads, no more (a wide row costs more to load than to lock),
# as a plain row: loading an ORM object cost more CPU than the round trip itself
_LOCK_WITH_CONTEXT = DriverStatement(
    select(
        *(_REQUEST_TABLE.c[name] for name in LOCKED_COLUMNS),
        _ACCOUNT_ID.scalar_subquery().label("account_reached"),
        _STORED.c.id.label("stored_id"),
        _STORED.c.amount.label("stored_amount"),
        _STORED.c.kind.label("stored_kind"),
    )
    .select_from(
        _REQUEST_TABLE.outerjoin(
            _STORED,
            and_(
                _STORED.c.provider == bindparam("provider"),
                _STORED.c.provider_txn_id == bindparam("provider_txn_id"),
            ),
        )
    )
    .where(_REQUEST_TABLE.c.reference == bindparam("reference"))
    .with_for_update(of=_REQUEST_TABLE)
)  # the account reached, then the stored transaction's id, amount and kind


def _persistent(session: Session, request: AnyRequest) -> PaymentRequest:
    """``request`` as a persistent object of ``session`` whose changes flush as usual; a locked
    row becomes one without the ORM's loading (a column outside ``LOCKED_COLUMNS`` loads on first
    use). ``record_event`` gives each attempt a new session, so the session holds no other copy
    of the request (``add`` would refuse one)."""
    if isinstance(request, PaymentRequest):
        return request
    attached = PaymentRequest(**{name: getattr(request, name) for name in LOCKED_COLUMNS})
    make_transient_to_detached(attached)
    session.add(attached)
    return attached


def _reference_from_memo(
    session: Session, event: ProviderEvent, account: str | None
) -> tuple[str | None, list[str]]:
    text = _memo(event)
    found = refs.find_reference(text)
    if found or account is None:
        return found, []
    # one wrong digit: correct it only if exactly one open request of this account fits,
    # and only if that request's remaining amount is what arrived
    for candidate in refs.candidates_in(text):
        open_refs = session.scalars(
            select(PaymentRequest.reference).where(
                PaymentRequest.account_id == account,
                PaymentRequest.status.in_(OPEN_STATUSES),
                PaymentRequest.total_amount - PaymentRequest.paid_amount == event.amount.amount,
            )
        )
        corrected = refs.correct_one_typo(candidate, open_refs)
        if corrected:
            return corrected, [Flag.REFERENCE_CORRECTED]
    return None, []


def _lock(session: Session, request_id: Any) -> PaymentRequest | None:
    return session.scalar(
        select(PaymentRequest).where(PaymentRequest.id == request_id).with_for_update()
    )


def _reject(
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
    return ApplyResult("rejected", _rid(request), reason=reason)


def _repeat(
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
        return ApplyResult("duplicate", _rid(request), status, existing.id)
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
        "conflict", _rid(request), reason="amount_conflict", transaction_id=existing.id
    )


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


def _apply(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest | None,
    account: str | None,
    flags: list[str],
) -> ApplyResult:
    if event.kind == EventKind.TRANSFER_OUT:
        return _store(session, event, request, account, TxnState.RECORDED, flags, "recorded")
    if request is None:
        return _store(session, event, None, account, TxnState.UNMATCHED, flags, "unmatched")
    if request.status in (RequestStatus.EXPIRED, RequestStatus.CANCELLED, RequestStatus.REFUNDED):
        # never lost: kept beside the request and flagged for the officer
        request = _persistent(session, request)
        request.flags = sorted({*request.flags, Flag.LATE_PAYMENT, Flag.REFUND_DUE})
        return _store(
            session,
            event,
            request,
            account,
            TxnState.RECORDED,
            [*flags, Flag.LATE_PAYMENT, Flag.REFUND_DUE],
            "recorded",
        )
    if request.status in (RequestStatus.PAID, RequestStatus.OVERPAID):
        flags = [*flags, Flag.DUPLICATE_PAYMENT]
    target = status_for_amount(request.paid_amount + event.amount.amount, request.total_amount)
    if target == RequestStatus.OVERPAID:
        flags = [*flags, Flag.OVERPAYMENT, Flag.REFUND_DUE]
    txn = _new_txn(event, request, account, TxnState.APPLIED, flags)
    if session.get_bind().dialect.name == "postgresql":
        return _apply_in_one_trip(session, event, request, txn, target)
    request = _persistent(session, request)
    # the transaction first, and the request only if it went in: a concurrent delivery of the
    # same event that committed after our look-up's snapshot is seen here, without an error
    txn_id = _insert_unless_recorded(session, txn)
    if txn_id is None:
        return _repeat(session, event, _recorded(session, event), request)
    topic = _credit_request(request, event.amount.amount, target, txn["flags"])
    log_message(
        session, event.provider, "applied", event.raw, txn_id=event.provider_txn_id, request=request
    )
    _close_attempt(session, event, "paid")
    if topic is not None:
        emit(session, topic, str(request.id), event_payload(request))
    return ApplyResult("applied", str(request.id), request.status, txn_id)


def _credit_request(
    request: AnyRequest, amount: int, target: RequestStatus, flags: Sequence[str]
) -> str | None:
    """Add ``amount`` to the request and move it to ``target``; the topic to emit, if any."""
    request.paid_amount += amount
    if target == RequestStatus.OVERPAID:
        request.flags = sorted({*request.flags, Flag.REFUND_DUE})
    if Flag.REFERENCE_CORRECTED in flags:
        request.flags = sorted({*request.flags, Flag.REFERENCE_CORRECTED})
    moved = transition(request, target)
    if moved or target == RequestStatus.OVERPAID:
        return STATUS_TOPICS.get(target, f"payment_request.{target}")
    return None


_OUTBOX_TABLE = cast(Table, OutboxEvent.__table__)


def _apply_in_one_trip(
    session: Session,
    event: ProviderEvent,
    request: AnyRequest,
    txn: dict[str, Any],
    target: RequestStatus,
) -> ApplyResult:
    """PostgreSQL: the transaction, the request's new amount and state, the message log and the
    outbox event in one statement, every part after the first only if the transaction went in.

    The request was changed in memory only to compute its new row; it leaves the session so
    that nothing flushes it again."""
    topic = _credit_request(request, event.amount.amount, target, txn["flags"])
    if isinstance(request, PaymentRequest):
        session.expunge(request)
    trip = OneTrip()
    trip.insert(
        "txn",
        _TXN_TABLE,
        [txn],
        unless_conflict=("provider", "provider_txn_id"),
        returning="id",
    )
    trip.update(
        "req",
        _REQUEST_TABLE,
        {"id": request.id},
        {
            "paid_amount": request.paid_amount,
            "status": request.status,
            "flags": request.flags,
            "version": request.version,
            "updated_at": utcnow(),
        },
        when="txn",
    )
    message = _message_row(
        event.provider, "applied", event.raw, None, event.provider_txn_id, request
    )
    trip.insert("msg", _MESSAGE_TABLE, [message], when="txn")
    if topic is not None:
        outbox = {
            "topic": topic,
            "aggregate_id": str(request.id),
            "payload": event_payload(request),
        }
        trip.insert("ev", _OUTBOX_TABLE, [outbox], when="txn")
    row = trip.run(session.connection(), "SELECT id FROM txn")
    if row is None:
        # a concurrent delivery of the same event committed after our look-up's snapshot
        stored = session.get(PaymentRequest, request.id)
        return _repeat(session, event, _recorded(session, event), stored)
    _close_attempt(session, event, "paid")
    return ApplyResult("applied", str(request.id), request.status, row[0])


def _insert_unless_recorded(session: Session, txn: dict[str, Any]) -> int | None:
    """INSERT a transaction; None, and nothing written, when its (provider, id) is recorded
    already (PostgreSQL waits for a concurrent insert of the same id to commit or roll back)."""
    stmt = _INSERT_TXN_UNLESS_RECORDED[session.get_bind().dialect.name]
    return session.connection().execute(stmt, txn).scalar_one_or_none()


def _recorded(session: Session, event: ProviderEvent) -> PaymentTransaction:
    return session.execute(
        select(PaymentTransaction).where(
            PaymentTransaction.provider == event.provider,
            PaymentTransaction.provider_txn_id == event.provider_txn_id,
        )
    ).scalar_one()


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
    return ApplyResult(outcome, _rid(request), request.status if request else None, txn_id)


def _close_attempt(session: Session, event: ProviderEvent, status: str) -> None:
    if event.provider != "paygov" or not event.reference:
        return
    attempt = session.scalar(
        select(PaygovAttempt).where(PaygovAttempt.provider_ref == event.reference)
    )
    if attempt is not None and attempt.status == "pending":
        attempt.status = status


def _void(session: Session, event: ProviderEvent, request: AnyRequest | None) -> ApplyResult:
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
        return _reject(session, event, request, "void_of_unknown_payment")
    if original.amount != event.amount.amount:
        return _reject(session, event, request, "void_amount_mismatch")
    settled = session.scalar(
        select(PosSettlement.id).where(PosSettlement.settlement_key == original.settlement_key)
    )
    if settled is not None:
        return _reject(session, event, request, "batch_already_settled")
    original.state = TxnState.REVERSED
    request = _lock(session, original.payment_request_id) if original.payment_request_id else None
    result = _store(session, event, request, original.account_id, TxnState.RECORDED, [], "reversed")
    if request is not None:
        request.paid_amount -= original.amount
        target = status_for_amount(request.paid_amount, request.total_amount)
        if transition(request, target, reversal=True):
            emit(session, "payment_request.reversed", str(request.id), event_payload(request))
    return ApplyResult(
        "reversed", _rid(request), request.status if request else None, result.transaction_id
    )


def record_settlement(settlement: Settlement, *, uow: UnitOfWork) -> ApplyResult:
    """Keep a POS batch close once; reconciliation matches its net credit to the batch."""
    with uow:
        s = uow.session
        exists = s.scalar(
            select(PosSettlement).where(PosSettlement.settlement_key == settlement.provider_txn_id)
        )
        if exists is not None:
            same = exists.net_amount == settlement.net_amount.amount
            log_message(
                s,
                "pos",
                "duplicate" if same else "conflict",
                settlement.raw,
                txn_id=settlement.provider_txn_id,
            )
            uow.commit()
            return ApplyResult("duplicate" if same else "conflict")
        s.add(
            PosSettlement(
                settlement_key=settlement.provider_txn_id,
                terminal_id=settlement.terminal_id,
                merchant_id=settlement.merchant_id,
                batch_no=settlement.batch_no,
                settled_at=settlement.settled_at,
                count=settlement.count,
                gross_amount=settlement.gross_amount.amount,
                fee_amount=settlement.fee_amount.amount,
                net_amount=settlement.net_amount.amount,
                account_id=_batch_account(s, settlement),
            )
        )
        log_message(s, "pos", "settled", settlement.raw, txn_id=settlement.provider_txn_id)
        uow.commit()
    return ApplyResult("settled")


def _batch_account(session: Session, settlement: Settlement) -> str | None:
    return session.scalar(
        select(PaymentTransaction.account_id)
        .where(
            PaymentTransaction.settlement_key == settlement.provider_txn_id,
            PaymentTransaction.account_id.is_not(None),
        )
        .limit(1)
    )


_TXN_KEYS = [
    c.key for c in PaymentTransaction.__table__.columns if c.key not in {"id", "recorded_at"}
]
_TXN_TABLE = cast(Table, PaymentTransaction.__table__)
_INSERT_TXN = insert(_TXN_TABLE).returning(_TXN_TABLE.c.id)
_INSERT_TXN_UNLESS_RECORDED = {
    name: dialect_insert(_TXN_TABLE)
    .on_conflict_do_nothing(index_elements=[_TXN_TABLE.c.provider, _TXN_TABLE.c.provider_txn_id])
    .returning(_TXN_TABLE.c.id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
