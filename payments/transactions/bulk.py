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
from operator import attrgetter
from typing import Any, cast

import psycopg
from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    Table,
    any_,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from payments.clock import utcnow
from payments.db import driver_connection
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import LOCKED_COLUMNS, LockedRequest, PaymentRequest
from payments.transactions import ledger
from payments.transactions.ledger import Move, Standing
from payments.transactions.models import PaymentTransaction, ProviderMessage
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


# the columns each batch writes, in the order of the rows' tuples
TXN_COLUMNS = (
    "provider",
    "provider_txn_id",
    "payment_request_id",
    "account_id",
    "kind",
    "state",
    "amount",
    "currency",
    "occurred_at",
    "recorded_at",
    "reference",
    "memo",
    "payer_name",
    "settlement_key",
    "flags",
    "details",
)
MESSAGE_COLUMNS = (
    "provider",
    "received_at",
    "outcome",
    "reason",
    "provider_txn_id",
    "payment_request_id",
    "payload",
)
EVENT_COLUMNS = ("topic", "aggregate_id", "payload", "created_at", "fanned_out")
REQUEST_COLUMNS = ("rid", "paid_amount", "status", "flags", "version", "updated_at")


@dataclass
class Rows:
    """What a batch writes: a tuple per row in the order of ``TXN_COLUMNS``, ``MESSAGE_COLUMNS``,
    ``EVENT_COLUMNS`` and ``REQUEST_COLUMNS`` (the requests' new columns), JSON columns as JSON
    text."""

    txns: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    requests: list[tuple[Any, ...]] = field(default_factory=list)


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
    requests = lock_requests(conn, sorted({c.request_id for c in credits}, key=_as_int))
    seen = recorded(conn, credits)
    fresh = [c for c in credits if (c.provider, c.provider_txn_id) not in seen]
    with paused_gc():
        rows = decide_rows(fresh, requests, now or utcnow())
        (writer or WRITERS.get(conn.dialect.name, write_portable))(conn, rows)
    return dict(Counter(t[_STATE] for t in rows.txns))


def lock_requests(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LockedRequest]:
    """The requests ``ids`` (sorted), locked in id order, as plain rows."""
    out: dict[uuid.UUID, LockedRequest] = {}
    if conn.dialect.name == "postgresql":
        flags = _FlagsOfJson()
        for row in driver_rows(conn, _LOCK_SQL, [list(ids)]):
            req = out[row[0]] = LockedRequest(*row)
            req.flags = flags(row[_FLAGS])  # read as JSON text
        return out
    cols = [_REQ.c[name] for name in LOCKED_COLUMNS]
    for where in keys_in(conn, _REQ.c.id, ids):
        query = select(*cols).where(where).order_by(_REQ.c.id).with_for_update()
        for row in conn.execute(query):
            out[row[0]] = LockedRequest(*row)
    return out


_as_int = attrgetter("int")  # a UUID's order, compared in C (UUID.__lt__ is Python)
_FLAGS = LOCKED_COLUMNS.index("flags")
# the flags as JSON text: a day's requests share a handful of values, each parsed once
_LOCK_SQL = (
    f"SELECT {', '.join(f'{c}::text' if c == 'flags' else c for c in LOCKED_COLUMNS)}"  # noqa: S608
    f" FROM {_REQ.name} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
)
_RECORDED_SQL = (
    f"SELECT provider_txn_id FROM {_TXN.name}"  # noqa: S608 - the table's own name
    " WHERE provider = %s AND provider_txn_id = ANY(%s)"
)


def driver_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows of ``sql`` as psycopg returns them (tuples, binary transfer), inside
    ``conn``'s transaction; a failure raises what SQLAlchemy would."""
    try:
        with driver_connection(conn).cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error, dialect=conn.dialect) from exc


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
        if conn.dialect.name == "postgresql":
            found.update(
                (provider, tid) for (tid,) in driver_rows(conn, _RECORDED_SQL, [provider, ids])
            )
            continue
        for where in keys_in(conn, _TXN.c.provider_txn_id, ids):
            query = select(_TXN.c.provider_txn_id).where(_TXN.c.provider == provider, where)
            found.update((provider, tid) for tid in conn.scalars(query))
    return found


_STATE = TXN_COLUMNS.index("state")
_TRANSFER_IN = EventKind.TRANSFER_IN.value


def decide_rows(
    credits: Iterable[Credit], requests: dict[uuid.UUID, LockedRequest], now: datetime
) -> Rows:
    """The rows ``credits`` write, each decided by ``ledger.decide`` (no database): one pass,
    a tuple per row, each JSON value serialised once."""
    rows = Rows()
    txns, messages, events = rows.txns.append, rows.messages.append, rows.events.append
    standings: dict[uuid.UUID, Standing] = {}
    flags_json = _JsonOfFlags()
    for c in credits:
        rid = c.request_id
        req = requests[rid]
        before = standings.get(rid) or ledger.standing(req)
        d = ledger.decide(Move.CREDIT, before, c.amount, reference_corrected=c.reference_corrected)
        standings[rid] = d.after
        state = d.txn_state.value
        txns(
            (
                c.provider,
                c.provider_txn_id,
                rid,
                req.account_id,
                _TRANSFER_IN,
                state,
                c.amount,
                "VND",
                c.occurred_at,
                now,
                req.reference,
                c.memo,
                None,  # payer_name
                None,  # settlement_key
                flags_json(d.txn_flags),
                json.dumps(c.details),
            )
        )
        # outcome: applied | recorded, the words record_event logs
        messages((c.provider, now, state, None, c.provider_txn_id, rid, json.dumps(c.raw)))
        if d.topic is not None:
            payload = json.dumps(ledger.event_payload(req, d.after))
            events((d.topic, str(rid), payload, now, False))
    rows.requests = [
        (rid, after.paid, str(after.status), flags_json(after.flags), after.version, now)
        for rid, after in standings.items()
    ]
    return rows


class _FlagsOfJson(dict[str, list[str]]):
    """JSON text of flags as a list, each distinct text parsed once (a fresh list each time)."""

    def __call__(self, text: str) -> list[str]:
        flags = self.get(text)
        if flags is None:
            flags = self[text] = json.loads(text)
        return list(flags)


class _JsonOfFlags(dict[tuple[str, ...], str]):
    """Flags as JSON text, each combination serialised once (most rows have none)."""

    def __call__(self, flags: tuple[str, ...]) -> str:
        text = self.get(flags)
        if text is None:
            text = self[flags] = json.dumps(list(flags))
        return text


# the SET clause is the rows' other keys (paid_amount, status, flags, version, updated_at)
_UPDATE_REQUEST = update(_REQ).where(_REQ.c.id == bindparam("rid"))


def write_portable(conn: Connection, rows: Rows) -> None:
    """Any database: one executemany per table."""
    for table, cols, batch in (
        (_TXN, TXN_COLUMNS, rows.txns),
        (_MSG, MESSAGE_COLUMNS, rows.messages),
        (_OUTBOX, EVENT_COLUMNS, rows.events),
    ):
        if batch:
            conn.execute(insert(table), _keyed(table, cols, batch))
    if rows.requests:
        conn.execute(_UPDATE_REQUEST, _keyed(_REQ, REQUEST_COLUMNS, rows.requests))


def _keyed(
    table: Table, cols: Sequence[str], batch: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Rows as SQLAlchemy's executemany takes them: keyed by column, JSON as Python values."""
    json_cols = {c for c in cols if c in table.c and isinstance(table.c[c].type, JSON)}
    return [
        {c: json.loads(v) if c in json_cols else v for c, v in zip(cols, row, strict=True)}
        for row in batch
    ]


def write_copy(conn: Connection, rows: Rows) -> None:
    """PostgreSQL: COPY into each table, the requests through a staging table and one
    ``UPDATE … FROM`` (the statement triggers of 0008/0011 run once per statement)."""
    copy_rows(conn, _TXN.name, TXN_COLUMNS, rows.txns)
    copy_rows(conn, _MSG.name, MESSAGE_COLUMNS, rows.messages)
    copy_rows(conn, _OUTBOX.name, EVENT_COLUMNS, rows.events)
    if not rows.requests:
        return
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE credits_requests (rid uuid PRIMARY KEY, paid_amount bigint,"
            " status varchar(16), flags json, version integer, updated_at timestamptz)"
            " ON COMMIT DROP"
        )
    )
    copy_rows(conn, "credits_requests", REQUEST_COLUMNS, rows.requests)
    conn.execute(
        text(
            "UPDATE payment_requests r SET paid_amount = c.paid_amount, status = c.status,"
            " flags = c.flags, version = c.version, updated_at = c.updated_at"
            " FROM credits_requests c WHERE r.id = c.rid"
        )
    )
    conn.execute(text("DROP TABLE credits_requests"))


WRITERS: dict[str, Writer] = {"postgresql": write_copy}


def copy_rows(
    conn: Connection, table: str, cols: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY ``rows`` (tuples in the order of ``cols``, JSON columns as JSON text) into ``table``
    on PostgreSQL, inside ``conn``'s transaction; a failure raises what SQLAlchemy would."""
    if not rows:
        return
    sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN"
    try:
        with driver_connection(conn).cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, {}, exc, psycopg.Error, dialect=conn.dialect) from exc


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
