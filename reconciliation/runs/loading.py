"""Loading a day: everything its matching needs, in a handful of set-based queries."""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    String,
    and_,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from payments.clock import business_day, day_bounds
from payments.db import driver_partitions
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions import ledger
from payments.transactions.bulk import keys_in
from payments.transactions.models import PaymentTransaction, PosSettlement, TxnState
from reconciliation.matching import (
    BalanceCheck,
    Batch,
    DayInput,
    Line,
    Req,
    Txn,
    make_line,
    typo_variants,
)
from reconciliation.models import (
    Action,
    ExceptionResolution,
    ReconciliationException,
    Statement,
    StatementLine,
)
from reconciliation.runs.applying import PROVIDER

IN_CHUNK = 5_000
PARTITION = 20_000  # rows per fetch of a large read


MONEY_PROVIDERS = ("bank", "paygov")  # their transactions are single credits on the statement


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_LINE_COLS = (
    StatementLine.id,
    StatementLine.booking_date,
    StatementLine.amount,
    StatementLine.description,
    StatementLine.bank_reference,
    StatementLine.counterparty_name,
    StatementLine.reference,
    StatementLine.reference_candidate,
)
# the stored instant, not converted per row (UTCDateTime would): only a proposal asks its day
_CREATED = type_coerce(PaymentRequest.created_at, DateTime(timezone=True))
_REQ_TAIL = (
    PaymentRequest.reference,
    PaymentRequest.account_id,
    PaymentRequest.total_amount,
    PaymentRequest.paid_amount,
    PaymentRequest.status,
    PaymentRequest.payer_name,
    _CREATED,
)


def _req_cols(session: Session) -> tuple[Any, ...]:
    """The request's columns as ``Req`` takes them; PostgreSQL spells the id as ``str(uuid)``
    does, so a million rows make no ``uuid.UUID`` on the way."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return (cast(PaymentRequest.id, String) if postgres else PaymentRequest.id, *_REQ_TAIL)


def _req(row: Any, own: dict[str, int]) -> Req:
    """The request as it stood before this day's statement credits (``own``) were applied."""
    rid = str(row[0])
    status, paid = row[5], row[4]
    if rid in own:  # an earlier run of the day applied some: undone for this one
        status, paid = ledger.unapplied(status, row[3], paid, own[rid])
    # interned: a million requests share a handful of accounts and statuses
    return Req(rid, row[1], sys.intern(row[2]), row[3], paid, sys.intern(str(status)), *row[6:])


def day_read(session: Session, account_id: str, day: date) -> Select[Any]:
    """The day's large read: the lines of ``day`` and the day before, in id order, each of
    ``day``'s with the request its memo names (``_LINE_COLS`` then ``_req_cols``, or nulls)."""
    named = and_(
        StatementLine.booking_date == day, PaymentRequest.reference == StatementLine.reference
    )
    return (
        select(*_LINE_COLS, *_req_cols(session))
        .outerjoin(PaymentRequest, named)
        .where(
            StatementLine.account_id == account_id,
            StatementLine.booking_date.in_([day - timedelta(days=1), day]),
        )
        .order_by(StatementLine.id)
    )


def load_day(session: Session, account_id: str, day: date) -> DayInput:
    """Everything one day's matching needs, in a handful of set-based queries.

    The large read (the day's lines, each with the request its memo names) runs on the Core
    connection: plain rows, no ORM identity work per row."""
    prev = day - timedelta(days=1)
    conn = session.connection()
    own = _own_credits(session, account_id, day)
    req_cols = _req_cols(session)
    rows = day_read(session, account_id, day)
    lines: list[Line] = []
    earlier: list[Line] = []
    by_id: dict[str, Req] = {}
    # fetched in C, many rows at a time; a million lines: their dates shared, not one each
    for part in driver_partitions(conn, rows, PARTITION):
        for i, d, amount, desc, bank_ref, name, ref, cand, *req in part:
            if d != day:
                earlier.append(make_line(i, prev, amount, desc, bank_ref, name, ref, cand))
                continue
            lines.append(make_line(i, day, amount, desc, bank_ref, name, ref, cand))
            if req[0] is not None and (rid := str(req[0])) not in by_id:
                by_id[rid] = _req(req, own)
    variants = {
        v for ln in lines if ln.reference_candidate for v in typo_variants(ln.reference_candidate)
    }
    for r in _requests(session, PaymentRequest.reference, sorted(variants), own):
        by_id[r.id] = r
    manual = _manual_links(session, account_id, day)
    missing_ids = sorted(set(manual.values()) - by_id.keys())
    for r in _requests(session, PaymentRequest.id, [uuid.UUID(i) for i in missing_ids], own):
        by_id[r.id] = r
    start, _ = day_bounds(prev)
    _, end = day_bounds(day)

    def window(amounts: set[int]) -> list[Req]:
        since, _ = day_bounds(day - timedelta(days=3))
        found: list[Any] = []
        remaining = PaymentRequest.total_amount - PaymentRequest.paid_amount
        for where in keys_in(conn, remaining, sorted(amounts)):
            found += conn.execute(
                select(*req_cols).where(
                    PaymentRequest.account_id == account_id,
                    PaymentRequest.status.in_(OPEN_STATUSES),
                    PaymentRequest.created_at >= since,
                    PaymentRequest.created_at < end,
                    where,
                )
            ).all()
        return [_req(r, own) for r in found]

    return DayInput(
        account_id=account_id,
        day=day,
        lines=lines,
        earlier_lines=earlier,
        requests={r.reference: r for r in by_id.values()},
        requests_by_id=by_id,
        txns=_txns(session, account_id, start, end),
        batches=_batches(session, account_id, start, end),
        manual=manual,
        balances=_balance_checks(session, account_id, day),
        window=window,
    )


def _own_credits(session: Session, account_id: str, day: date) -> dict[str, int]:
    """Σ applied statement credits per request from this day's lines (previous runs' work)."""
    rows = session.execute(
        select(PaymentTransaction.payment_request_id, func.sum(PaymentTransaction.amount))
        .join(
            StatementLine,
            (StatementLine.fingerprint == PaymentTransaction.provider_txn_id)
            & (StatementLine.account_id == account_id),
        )
        .where(
            PaymentTransaction.provider == PROVIDER,
            PaymentTransaction.state == TxnState.APPLIED,
            StatementLine.booking_date == day,
        )
        .group_by(PaymentTransaction.payment_request_id)
    )
    return {str(rid): int(total) for rid, total in rows if rid is not None}


def _requests(session: Session, column: Any, keys: Sequence[Any], own: dict[str, int]) -> list[Req]:
    conn, cols = session.connection(), _req_cols(session)
    out = []
    for where in keys_in(conn, column, keys):  # one ``= ANY(…)`` on PostgreSQL
        out += [_req(r, own) for r in conn.execute(select(*cols).where(where))]
    return out


def _manual_links(session: Session, account_id: str, day: date) -> dict[int, str]:
    rows = session.execute(
        select(ReconciliationException.statement_line_id, ExceptionResolution.payment_request_id)
        .join(ExceptionResolution, ExceptionResolution.exception_id == ReconciliationException.id)
        .where(
            ReconciliationException.account_id == account_id,
            ReconciliationException.business_date == day,
            ExceptionResolution.action.in_([Action.LINK_TO_REQUEST, Action.CONFIRM_PROPOSAL]),
        )
        .order_by(ExceptionResolution.id)
    )
    return {line: str(rid) for line, rid in rows if line is not None and rid is not None}


def _txns(session: Session, account_id: str, start: datetime, end: datetime) -> list[Txn]:
    rows = session.execute(
        select(
            PaymentTransaction.id,
            PaymentTransaction.provider,
            PaymentTransaction.provider_txn_id,
            PaymentTransaction.payment_request_id,
            PaymentTransaction.reference,
            PaymentTransaction.amount,
            PaymentTransaction.details,
            PaymentTransaction.occurred_at,
        ).where(
            PaymentTransaction.account_id == account_id,
            PaymentTransaction.provider.in_(MONEY_PROVIDERS),
            PaymentTransaction.state == TxnState.APPLIED,
            PaymentTransaction.occurred_at >= start,
            PaymentTransaction.occurred_at < end,
        )
    )
    out = []
    for tid, provider, ptid, rid, ref, amount, details, occurred in rows:
        # SePay: referenceCode is the bank's own reference, the one printed on the statement
        codes = tuple(c for c in ((details or {}).get("referenceCode"), ptid) if c)
        out.append(
            Txn(
                tid, provider, str(rid) if rid else None, ref, amount, codes, business_day(occurred)
            )
        )
    return out


def _batches(session: Session, account_id: str, start: datetime, end: datetime) -> list[Batch]:
    settlements = session.scalars(
        select(PosSettlement).where(
            PosSettlement.account_id == account_id,
            PosSettlement.settled_at >= start,
            PosSettlement.settled_at < end,
        )
    ).all()
    keys = [s.settlement_key for s in settlements]
    gross: dict[str, int] = defaultdict(int)
    members: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(keys):
        for key, rid, amount in session.execute(
            select(
                PaymentTransaction.settlement_key,
                PaymentTransaction.payment_request_id,
                PaymentTransaction.amount,
            ).where(
                PaymentTransaction.provider == "pos",
                PaymentTransaction.state == TxnState.APPLIED,
                PaymentTransaction.settlement_key.in_(chunk),
            )
        ):
            gross[str(key)] += amount
            if rid is not None:
                members[str(key)].append(str(rid))
    return [
        Batch(
            s.settlement_key,
            s.terminal_id,
            s.batch_no,
            # the net credit is what the batch's surviving payments add up to, less the fee
            (gross[s.settlement_key] - s.fee_amount) if s.settlement_key in gross else s.net_amount,
            tuple(sorted(set(members[s.settlement_key]))),
            business_day(s.settled_at),
        )
        for s in settlements
    ]


def _balance_checks(session: Session, account_id: str, day: date) -> list[BalanceCheck]:
    rows = session.execute(
        select(
            Statement.id, Statement.opening_balance, Statement.closing_balance, Statement.lines_net
        ).where(
            Statement.account_id == account_id,
            Statement.period_end == day,
            Statement.opening_balance.is_not(None),
            Statement.closing_balance.is_not(None),
        )
    )
    return [BalanceCheck(sid, o or 0, c or 0, n) for sid, o, c, n in rows]
