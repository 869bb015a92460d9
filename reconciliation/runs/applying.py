"""Applying statement credits to their requests (``transactions.bulk``: ``ledger.decide``)."""

from __future__ import annotations

import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time
from typing import cast

from sqlalchemy import (
    Connection,
    Table,
    select,
)
from sqlalchemy.exc import IntegrityError

from payments.clock import VN_TZ
from payments.transactions.bulk import Credit, apply_credits, driver_rows, keys_in
from payments.uow import UnitOfWork
from reconciliation.matching import (
    CreditOut,
)
from reconciliation.models import (
    StatementLine,
)

PROVIDER = "statement"  # statement credits enter the payment state machine as this provider
APPLY_CHUNK = 50_000  # credits per transaction: bounded lock time and memory
STREAMS = 2
Progress = Callable[[str, int, int], None]


def apply_statement_credits(
    credits: Sequence[CreditOut],
    *,
    uow: UnitOfWork,
    progress: Progress | None = None,
    chunk_size: int = APPLY_CHUNK,
) -> dict[str, int]:
    """Apply statement credits to their requests (``payments.transactions.bulk``): one
    transaction per chunk, a replay is a no-op. Returns a count per outcome (``applied``,
    ``recorded``).

    On PostgreSQL a large day goes through ``STREAMS`` connections at once, the requests split
    between them (each request's credits stay in one stream, in order), so the database's
    index and constraint work runs on more than one core.
    """
    with uow:
        parallel = uow.dialect == "postgresql" and len(credits) > chunk_size
    streams = STREAMS if parallel else 1
    buckets = [array("q") for _ in range(streams)]
    for i, credit in enumerate(credits):
        buckets[int(credit.request_id[-1], 16) % streams].append(i)
    lock = threading.Lock()
    done = [0]

    def run(indices: Sequence[int], unit: UnitOfWork) -> Counter[str]:
        counts: Counter[str] = Counter()
        for start in range(0, len(indices), chunk_size):
            rows = [credits[i] for i in indices[start : start + chunk_size]]
            counts.update(_apply_rows(unit, rows))
            with lock:
                done[0] += len(rows)
                if progress and done[0] < len(credits):  # the caller reports the end
                    progress("applying", done[0], len(credits))
        return counts

    if streams == 1:
        return dict(run(buckets[0], uow))
    total: Counter[str] = Counter()
    with ThreadPoolExecutor(streams) as pool:
        for counts in pool.map(run, buckets, [uow.fork() for _ in buckets]):
            total.update(counts)
    return dict(total)


def _apply_rows(uow: UnitOfWork, rows: Sequence[CreditOut]) -> dict[str, int]:
    for attempt in range(2):
        try:
            with uow:
                done = apply_line_credits(uow.session.connection(), rows)
                uow.commit()
            return done
        except IntegrityError:  # a concurrent run recorded some first: the retry skips them
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def apply_line_credits(conn: Connection, credits: Sequence[CreditOut]) -> dict[str, int]:
    """Apply statement credits inside the caller's transaction."""
    fingerprints = _fingerprints(conn, [c.line.id for c in credits])
    noon: dict[date, datetime] = {}
    return apply_credits(
        conn, [statement_credit(c, fingerprints[c.line.id], noon) for c in credits]
    )


def statement_credit(c: CreditOut, fingerprint: str, noon: dict[date, datetime]) -> Credit:
    """What ``record_event`` would have been told by a provider ``statement`` reporting the
    line (booked at noon of its day)."""
    line = c.line
    booked = noon.get(line.booking_date) or noon.setdefault(
        line.booking_date, datetime.combine(line.booking_date, time(12), tzinfo=VN_TZ)
    )
    return Credit(
        request_id=uuid.UUID(c.request_id),
        provider=PROVIDER,
        provider_txn_id=fingerprint,
        amount=line.amount,
        occurred_at=booked,
        memo=line.description or None,
        details={"description": line.description, "statement_line_id": str(line.id)},
        raw={
            "statement_line_id": line.id,
            "booking_date": str(line.booking_date),
            "amount": line.amount,
            "description": line.description,
            "bank_reference": line.bank_reference,
        },
        reference_corrected=c.reference_corrected,
    )


_LINE = cast(Table, StatementLine.__table__)
_FINGERPRINTS = f"SELECT id, fingerprint FROM {_LINE.name} WHERE id = ANY(%s)"  # noqa: S608


def _fingerprints(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    if conn.dialect.name == "postgresql":  # tuples through the driver: a chunk is 50,000 lines
        return dict(driver_rows(conn, _FINGERPRINTS, [list(ids)]))
    out: dict[int, str] = {}
    line = _LINE.c
    for where in keys_in(conn, line.id, ids):
        query = select(line.id, line.fingerprint).where(where)
        out.update((lid, fingerprint) for lid, fingerprint in conn.execute(query))
    return out
