"""Credits by the hundred thousand through the payment state machine, set-based in SQL.

``apply_credits_from`` decides for a batch of credits what ``record_event`` decides for one
credit naming its request (``services._apply``): the transaction's state and flags, the request's
paid amount and status, the outbox event; then writes each table with one ``INSERT … SELECT`` or
``UPDATE … FROM``. The same SQL runs on PostgreSQL and SQLite; ``payments.db`` spells the few
expressions they write differently.

Credits of one request apply in ``seq`` order, each seeing the request as the previous one left
it (a running sum per request). The caller owns the transaction; the requests are locked in id
order first, so concurrent batches and callbacks cannot deadlock or lose an update.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)

from payments.clock import utcnow
from payments.db import BigInt, UTCDateTime, json_object, json_value, uuid_text
from payments.errors import IllegalTransition
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.models import RequestStatus as S
from payments.payment_requests.state import allowed_sql, status_for_amount_sql
from payments.transactions.models import Flag, PaymentTransaction, ProviderMessage, TxnState
from providers.base import EventKind

# the columns a source of credits selects, by these labels
SOURCE_COLUMNS = (
    "seq",  # order of application
    "request_id",
    "provider",
    "provider_txn_id",  # unique per provider within one call
    "amount",
    "occurred_at",
    "memo",
    "details",  # JSON, the transaction's details
    "raw",  # JSON, the provider message's payload
)
LATE = (S.EXPIRED.value, S.CANCELLED.value, S.REFUNDED.value)
_REQ = cast(Table, PaymentRequest.__table__)
_TXN = cast(Table, PaymentTransaction.__table__)
_MSG = cast(Table, ProviderMessage.__table__)
_OUTBOX = cast(Table, OutboxEvent.__table__)

# one row per credit and what the state machine made of it; lives for one call
DECIDED = Table(
    "credits_decided",
    MetaData(),
    Column("seq", BigInt, primary_key=True),
    Column("request_id", Uuid),
    Column("provider", String(32)),
    Column("provider_txn_id", String(128)),
    Column("amount", BigInt),
    Column("occurred_at", UTCDateTime()),
    Column("memo", Text),
    Column("details", JSON),
    Column("raw", JSON),
    Column("account_id", String(64)),
    Column("reference", String(19)),
    Column("status0", String(16)),  # the request's status before the batch
    Column("status_before", String(16)),
    Column("target", String(16)),
    Column("paid_after", BigInt),
    Column("state", String(16)),
    Column("flags", JSON),
    Column("moved", Integer),
    Column("topic", String(64)),
    prefixes=["TEMPORARY"],
)


def _flags(*flags: Flag) -> Any:
    return json_value(literal(json.dumps(sorted(f.value for f in flags))))


def apply_credits_from(
    conn: Connection, source: Select[Any], *, now: datetime | None = None
) -> dict[str, int]:
    """Apply the credits ``source`` selects (``SOURCE_COLUMNS``) exactly as ``record_event``
    applies one: a credit whose (provider, id) is recorded already is skipped (a replay), one
    for an expired, cancelled or refunded request is recorded and flagged, the others are added
    to the request's paid amount and move it through ``ALLOWED``. Returns a count per outcome."""
    now = now or utcnow()
    src = source.subquery("src")
    if conn.dialect.name == "postgresql":  # SQLite's writer holds the whole database already
        conn.execute(text("SET LOCAL work_mem = '64MB'"))  # sorts of a batch stay in memory
        locked = select(_REQ.c.id).where(_REQ.c.id.in_(select(src.c.request_id)))
        conn.execute(locked.order_by(_REQ.c.id).with_for_update()).all()
    DECIDED.create(conn)
    try:
        conn.execute(insert(DECIDED).from_select(list(DECIDED.c.keys()), _decide(src)))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE credits_decided"))
        _check_transitions(conn)
        counts = _write(conn, now)
    finally:
        DECIDED.drop(conn)
    return counts


def _decide(src: Any) -> Select[Any]:
    """The decisions, three layers deep: running paid amount, statuses, then flags and topic."""
    s, r = src, _REQ
    fresh = select(s).where(
        ~exists().where(
            _TXN.c.provider == s.c.provider, _TXN.c.provider_txn_id == s.c.provider_txn_id
        )
    )
    f = fresh.subquery("fresh")
    one = (
        select(
            *(f.c[name] for name in SOURCE_COLUMNS),
            r.c.account_id,
            r.c.reference,
            r.c.status.label("status0"),
            r.c.total_amount.label("total"),
            (
                r.c.paid_amount
                + func.sum(f.c.amount).over(
                    partition_by=f.c.request_id, order_by=f.c.seq, rows=(None, 0)
                )
            ).label("paid_after"),
            func.row_number().over(partition_by=f.c.request_id, order_by=f.c.seq).label("n"),
        )
        .join_from(f, r, r.c.id == f.c.request_id)
        .subquery("one")
    )
    late = one.c.status0.in_(LATE)
    paid_before = one.c.paid_after - one.c.amount
    two = select(
        one,
        case(
            (late | (one.c.n == 1), one.c.status0),
            else_=status_for_amount_sql(paid_before, one.c.total),
        ).label("status_before"),
        case(
            (late, one.c.status0), else_=status_for_amount_sql(one.c.paid_after, one.c.total)
        ).label("target"),
    ).subquery("two")
    late = two.c.status0.in_(LATE)
    moved = and_(~late, two.c.status_before != two.c.target)
    dup = two.c.status_before.in_((S.PAID.value, S.OVERPAID.value))
    over = and_(~late, two.c.target == S.OVERPAID.value)
    return select(
        *(two.c[name] for name in SOURCE_COLUMNS),
        two.c.account_id,
        two.c.reference,
        two.c.status0,
        two.c.status_before,
        two.c.target,
        two.c.paid_after,
        case((late, literal(TxnState.RECORDED.value)), else_=literal(TxnState.APPLIED.value)),
        case(
            (late, _flags(Flag.LATE_PAYMENT, Flag.REFUND_DUE)),
            (dup & over, _flags(Flag.DUPLICATE_PAYMENT, Flag.OVERPAYMENT, Flag.REFUND_DUE)),
            (dup, _flags(Flag.DUPLICATE_PAYMENT)),
            (over, _flags(Flag.OVERPAYMENT, Flag.REFUND_DUE)),
            else_=_flags(),
        ),
        case((moved, 1), else_=0),
        # services.STATUS_TOPICS: "payment_request.<status>"
        case((moved | over, literal("payment_request.") + two.c.target), else_=null()),
    )


def _check_transitions(conn: Connection) -> None:
    d = DECIDED.c
    bad = conn.execute(
        select(d.status_before, d.target)
        .where(d.moved == 1, ~allowed_sql(d.status_before, d.target))
        .limit(1)
    ).first()
    if bad is not None:
        raise IllegalTransition(f"a {bad[0]} request cannot become {bad[1]}")


def _write(conn: Connection, now: datetime) -> dict[str, int]:
    d = DECIDED.c
    ordered = select().select_from(DECIDED).order_by(d.seq)
    txn = {
        "provider": d.provider,
        "provider_txn_id": d.provider_txn_id,
        "payment_request_id": d.request_id,
        "account_id": d.account_id,
        "kind": literal(EventKind.TRANSFER_IN.value),
        "state": d.state,
        "amount": d.amount,
        "currency": literal("VND"),
        "occurred_at": d.occurred_at,
        "recorded_at": literal(now, UTCDateTime()),
        "reference": d.reference,
        "memo": d.memo,
        "flags": d.flags,
        "details": d.details,
    }
    conn.execute(_insert_from(_TXN, txn, ordered))
    message = {
        "provider": d.provider,
        "received_at": literal(now, UTCDateTime()),
        "outcome": d.state,  # applied | recorded: the words record_event logs
        "provider_txn_id": d.provider_txn_id,
        "payment_request_id": d.request_id,
        "payload": d.raw,
    }
    conn.execute(_insert_from(_MSG, message, ordered))
    # an event carries the request as that credit left it: the flags an overpayment adds are
    # written between the events before it and those after
    overpaid = d.target == S.OVERPAID.value
    _emit(conn, now, ~overpaid)
    _merge_request_flags(conn, now)
    _emit(conn, now, overpaid)
    applied = d.state == TxnState.APPLIED.value
    totals = (
        select(d.request_id, func.max(d.paid_after).label("paid"), func.sum(d.moved).label("n"))
        .where(applied)
        .group_by(d.request_id)
        .subquery("totals")
    )
    conn.execute(
        update(_REQ)
        .where(_REQ.c.id == totals.c.request_id)
        .values(
            paid_amount=totals.c.paid,
            status=status_for_amount_sql(totals.c.paid, _REQ.c.total_amount),
            version=_REQ.c.version + totals.c.n,
            updated_at=literal(now, UTCDateTime()),
        )
    )
    counts = conn.execute(select(d.state, func.count()).group_by(d.state)).all()
    return {str(state): int(n) for state, n in counts}


def _insert_from(table: Table, values: dict[str, Any], ordered: Select[Any]) -> Any:
    query = ordered.add_columns(*values.values())
    return insert(table).from_select(list(values), query)


def _emit(conn: Connection, now: datetime, which: Any) -> None:
    d, r = DECIDED.c, _REQ.c
    payload = json_object(
        payment_request_id=uuid_text(r.id),
        dossier_code=r.dossier_code,
        reference=r.reference,
        status=d.target,
        total_amount=r.total_amount,
        paid_amount=d.paid_after,
        callback_url=r.callback_url,
        flags=json_value(r.flags),
    )
    rows = (
        select(
            d.topic,
            uuid_text(d.request_id),
            payload,
            literal(now, UTCDateTime()),
            false(),
        )
        .join_from(DECIDED, _REQ, r.id == d.request_id)
        .where(d.topic.is_not(None), which)
        .order_by(d.seq)
    )
    cols = ["topic", "aggregate_id", "payload", "created_at", "fanned_out"]
    conn.execute(insert(_OUTBOX).from_select(cols, rows))


def _merge_request_flags(conn: Connection, now: datetime) -> None:
    """Late payments flag their request late and refund-due, overpayments refund-due: a few rows
    a day, merged in Python (a sorted set in a JSON column has no portable SQL)."""
    d, r = DECIDED.c, _REQ.c
    flagged = select(d.request_id).where(
        or_(d.state == TxnState.RECORDED.value, d.target == S.OVERPAID.value)
    )
    changed: list[dict[str, Any]] = []
    for rid, status, flags in conn.execute(
        select(r.id, r.status, r.flags).where(r.id.in_(flagged))
    ):
        added: Sequence[Flag] = (
            (Flag.LATE_PAYMENT, Flag.REFUND_DUE) if status in LATE else (Flag.REFUND_DUE,)
        )
        merged = sorted({*(flags or []), *added})
        if merged != flags:
            changed.append({"rid": rid, "flags": merged})
    if changed:
        conn.execute(
            update(_REQ)
            .where(_REQ.c.id == bindparam("rid"))
            .values(flags=bindparam("flags"), updated_at=literal(now, UTCDateTime())),
            changed,
        )
