"""Loading a day: everything its matching needs, in a handful of set-based queries."""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from payments.clock import VN_TZ, business_day, day_bounds
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions import ledger
from payments.transactions.models import PaymentTransaction, PosSettlement, TxnState
from reconciliation.matching import (
    BalanceCheck,
    Batch,
    DayInput,
    Line,
    Req,
    Txn,
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
_REQ_COLS = (
    PaymentRequest.id,
    PaymentRequest.reference,
    PaymentRequest.account_id,
    PaymentRequest.total_amount,
    PaymentRequest.paid_amount,
    PaymentRequest.status,
    PaymentRequest.payer_name,
    PaymentRequest.created_at,
)


def _req(row: Any, own: dict[str, int]) -> Req:
    """The request as it stood before this day's statement credits (``own``) were applied."""
    rid = str(row[0])
    status, paid = ledger.unapplied(row[5], row[3], row[4], own.get(rid, 0))
    created = row[7].astimezone(VN_TZ).replace(tzinfo=None)
    # interned: a million requests share a handful of accounts and statuses
    return Req(
        rid, row[1], sys.intern(row[2]), row[3], paid, sys.intern(str(status)), row[6], created
    )


def load_day(session: Session, account_id: str, day: date) -> DayInput:
    """Everything one day's matching needs, in a handful of set-based queries."""
    prev = day - timedelta(days=1)
    rows = session.execute(
        select(*_LINE_COLS)
        .where(StatementLine.account_id == account_id, StatementLine.booking_date.in_([prev, day]))
        .order_by(StatementLine.id)
    )
    lines: list[Line] = []
    earlier: list[Line] = []
    for row in rows:  # a million lines: their dates shared, not one object each
        booked = day if row[1] == day else prev
        (lines if booked is day else earlier).append(Line(row[0], booked, *row[2:]))
    own = _own_credits(session, account_id, day)
    # the memo references: joined in SQL (one query, however many lines the day has)
    memo_refs = (
        select(StatementLine.reference)
        .where(
            StatementLine.account_id == account_id,
            StatementLine.booking_date == day,
            StatementLine.reference.is_not(None),
        )
        .scalar_subquery()
    )
    requests = [
        _req(r, own)
        for r in session.execute(select(*_REQ_COLS).where(PaymentRequest.reference.in_(memo_refs)))
    ]
    variants = {
        v for ln in lines if ln.reference_candidate for v in typo_variants(ln.reference_candidate)
    }
    requests += _requests(session, PaymentRequest.reference, sorted(variants), own)
    by_id = {r.id: r for r in requests}
    manual = _manual_links(session, account_id, day)
    missing_ids = sorted(set(manual.values()) - by_id.keys())
    for r in _requests(session, PaymentRequest.id, [uuid.UUID(i) for i in missing_ids], own):
        by_id[r.id] = r
    start, _ = day_bounds(prev)
    _, end = day_bounds(day)

    def window(amounts: set[int]) -> list[Req]:
        since, _ = day_bounds(day - timedelta(days=3))
        found: list[Any] = []
        for chunk in _chunks(sorted(amounts)):
            found += session.execute(
                select(*_REQ_COLS).where(
                    PaymentRequest.account_id == account_id,
                    PaymentRequest.status.in_(OPEN_STATUSES),
                    PaymentRequest.created_at >= since,
                    PaymentRequest.created_at < end,
                    (PaymentRequest.total_amount - PaymentRequest.paid_amount).in_(chunk),
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
    out = []
    for chunk in _chunks(keys):
        out += [_req(r, own) for r in session.execute(select(*_REQ_COLS).where(column.in_(chunk)))]
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
