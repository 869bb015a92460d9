"""Credits by the hundred thousand, decided one by one by ``ledger.decide``, written set-based.

``apply_credits`` does for a batch of credits what ``record_event`` does for one credit naming
its request: it locks the batch's requests in id order (one query per few thousand; concurrent
batches and callbacks cannot deadlock or lose an update), drops the credits recorded already (a
replay), asks ``ledger.decide`` about each credit in order (each seeing its request as the
previous one left it), and hands the rows to a writer. Writers only write: ``write_portable``
(any database, executemany) and ``write_copy`` (PostgreSQL: COPY, and one ``UPDATE … FROM`` for
the requests), with the same signature. No SQL here knows a rule.
"""

from __future__ import annotations

import gc
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import psycopg
from sqlalchemy import ARRAY, Connection, Table, any_, bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from payments.clock import utcnow
from payments.db import driver_connection
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import LOCKED_COLUMNS, LockedRequest, PaymentRequest
from payments.transactions import ledger
from payments.transactions.ledger import Move, Standing
from payments.transactions.models import PaymentTransaction, ProviderMessage, TxnState
from providers.base import EventKind

IN_CHUNK = 5_000  # keys per IN (…) list
_REQ = cast(Table, PaymentRequest.__table__)
_TXN = cast(Table, PaymentTransaction.__table__)
_MSG = cast(Table, ProviderMessage.__table__)
_OUTBOX = cast(Table, OutboxEvent.__table__)


@dataclass(frozen=True, slots=True)
class Credit:
    """One credit naming its request, as a provider would have reported it."""

    request_id: uuid.UUID
    provider: str
    provider_txn_id: str  # unique per provider within one call
    amount: int
    occurred_at: datetime
    memo: str | None
    details: dict[str, Any]  # the transaction's details
    raw: dict[str, Any]  # the provider message's payload
    reference_corrected: bool = False


@dataclass
class Rows:
    """What a batch writes, row by row, every column keyed."""

    txns: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # the requests' new columns


Writer = Callable[[Connection, Rows], None]
_GC_LOCK = threading.Lock()
_GC_PAUSES = [0]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a bulk step builds objects by the hundred thousand
    (none of them in cycles): the collector's passes over an ever larger heap cost more than the
    work itself (decide_rows: 45 µs a credit with it, 17 without). Nested and threaded uses
    pause it once; it resumes when the last one ends."""
    with _GC_LOCK:
        _GC_PAUSES[0] += 1
        if _GC_PAUSES[0] == 1:
            gc.disable()
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES[0] -= 1
            if _GC_PAUSES[0] == 0:
                gc.enable()


def apply_credits(
    conn: Connection,
    credits: Sequence[Credit],
    *,
    now: datetime | None = None,
    writer: Writer | None = None,
) -> dict[str, int]:
    """Apply ``credits`` in order exactly as ``record_event`` applies one: a credit whose
    (provider, id) is recorded already is skipped, the others go where ``ledger.decide`` says.
    The caller owns the transaction. Returns a count per outcome (``applied``, ``recorded``)."""
    requests = lock_requests(conn, sorted({c.request_id for c in credits}))
    seen = recorded(conn, credits)
    fresh = [c for c in credits if (c.provider, c.provider_txn_id) not in seen]
    with paused_gc():
        rows = decide_rows(fresh, requests, now or utcnow())
        (writer or WRITERS.get(conn.dialect.name, write_portable))(conn, rows)
    return dict(Counter(str(t["state"]) for t in rows.txns))


def lock_requests(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedRequest]:
    """The requests ``ids`` (sorted), locked in id order, as plain rows."""
    cols = [_REQ.c[name] for name in LOCKED_COLUMNS]
    out: dict[uuid.UUID, LockedRequest] = {}
    for where in keys_in(conn, _REQ.c.id, ids):
        query = select(*cols).where(where).order_by(_REQ.c.id).with_for_update()
        for row in conn.execute(query):
            out[row[0]] = LockedRequest(*row)
    return out


def keys_in(conn: Connection, column: Any, keys: Sequence[Any]) -> Iterator[Any]:
    """Conditions that together select ``column`` in ``keys``: on PostgreSQL one ``= ANY(array)``
    (a single parameter however many keys), elsewhere an ``IN (…)`` per few thousand keys."""
    if conn.dialect.name == "postgresql":
        yield column == any_(bindparam("keys", list(keys), type_=ARRAY(column.type)))
        return
    for chunk in _chunks(keys):
        yield column.in_(chunk)


def recorded(conn: Connection, credits: Sequence[Credit]) -> set[tuple[str, str]]:
    """The (provider, id) pairs of ``credits`` recorded already."""
    by_provider: dict[str, list[str]] = {}
    for c in credits:
        by_provider.setdefault(c.provider, []).append(c.provider_txn_id)
    found: set[tuple[str, str]] = set()
    for provider, ids in by_provider.items():
        for where in keys_in(conn, _TXN.c.provider_txn_id, ids):
            query = select(_TXN.c.provider_txn_id).where(_TXN.c.provider == provider, where)
            found.update((provider, tid) for tid in conn.scalars(query))
    return found


def decide_rows(
    credits: Iterable[Credit], requests: dict[uuid.UUID, LockedRequest], now: datetime
) -> Rows:
    """The rows ``credits`` write, each decided by ``ledger.decide`` (no database)."""
    rows = Rows()
    standings: dict[uuid.UUID, Standing] = {}
    for c in credits:
        req = requests[c.request_id]
        before = standings.get(c.request_id) or ledger.standing(req)
        d = ledger.decide(Move.CREDIT, before, c.amount, reference_corrected=c.reference_corrected)
        standings[c.request_id] = d.after
        rows.txns.append(_txn_row(c, req, d.txn_state, d.txn_flags, now))
        rows.messages.append(
            {
                "provider": c.provider,
                "received_at": now,
                "outcome": str(d.txn_state),  # applied | recorded: the words record_event logs
                "reason": None,
                "provider_txn_id": c.provider_txn_id,
                "payment_request_id": c.request_id,
                "payload": c.raw,
            }
        )
        if d.topic is not None:
            rows.events.append(
                {
                    "topic": d.topic,
                    "aggregate_id": str(c.request_id),
                    "payload": ledger.event_payload(req, d.after),
                    "created_at": now,
                    "fanned_out": False,
                }
            )
    for rid, after in standings.items():
        rows.requests.append(
            {
                "rid": rid,
                "paid_amount": after.paid,
                "status": str(after.status),
                "flags": list(after.flags),
                "version": after.version,
                "updated_at": now,
            }
        )
    return rows


def _txn_row(
    c: Credit, req: LockedRequest, state: TxnState, flags: tuple[str, ...], now: datetime
) -> dict[str, Any]:
    return {
        "provider": c.provider,
        "provider_txn_id": c.provider_txn_id,
        "payment_request_id": c.request_id,
        "account_id": req.account_id,
        "kind": str(EventKind.TRANSFER_IN),
        "state": str(state),
        "amount": c.amount,
        "currency": "VND",
        "occurred_at": c.occurred_at,
        "recorded_at": now,
        "reference": req.reference,
        "memo": c.memo,
        "payer_name": None,
        "settlement_key": None,
        "flags": list(flags),
        "details": c.details,
    }


# the SET clause is the rows' other keys (paid_amount, status, flags, version, updated_at)
_UPDATE_REQUEST = update(_REQ).where(_REQ.c.id == bindparam("rid"))


def write_portable(conn: Connection, rows: Rows) -> None:
    """Any database: one executemany per table."""
    for table, batch in ((_TXN, rows.txns), (_MSG, rows.messages), (_OUTBOX, rows.events)):
        if batch:
            conn.execute(insert(table), batch)
    if rows.requests:
        conn.execute(_UPDATE_REQUEST, rows.requests)


def write_copy(conn: Connection, rows: Rows) -> None:
    """PostgreSQL: COPY into each table, the requests through a staging table and one
    ``UPDATE … FROM`` (the statement triggers of 0008/0011 run once per statement)."""
    copy_rows(conn, _TXN.name, rows.txns)
    copy_rows(conn, _MSG.name, rows.messages)
    copy_rows(conn, _OUTBOX.name, rows.events)
    if not rows.requests:
        return
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE credits_requests (rid uuid PRIMARY KEY, paid_amount bigint,"
            " status varchar(16), flags json, version integer, updated_at timestamptz)"
            " ON COMMIT DROP"
        )
    )
    copy_rows(conn, "credits_requests", rows.requests)
    conn.execute(
        text(
            "UPDATE payment_requests r SET paid_amount = c.paid_amount, status = c.status,"
            " flags = c.flags, version = c.version, updated_at = c.updated_at"
            " FROM credits_requests c WHERE r.id = c.rid"
        )
    )
    conn.execute(text("DROP TABLE credits_requests"))


WRITERS: dict[str, Writer] = {"postgresql": write_copy}


def copy_rows(conn: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts keyed by column, JSON columns as Python values) into ``table`` on
    PostgreSQL, inside ``conn``'s transaction; a failure raises what SQLAlchemy would."""
    if not rows:
        return
    cols = list(rows[0])
    sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN"
    try:
        with driver_connection(conn).cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([_copy_value(row[c]) for c in cols])
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, {}, exc, psycopg.Error, dialect=conn.dialect) from exc


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
