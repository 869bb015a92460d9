"""Daily runs: load a day in bulk, match it, apply credits, store the run; officers' resolutions.

A run is unique per (account, business day): running a day again updates the same run, replaces
its matches and keeps every exception an officer resolved (exceptions carry a stable key).
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any, cast

import structlog
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.clock import VN_TZ, business_day, day_bounds, utcnow
from payments.db import BigInt, UTCDateTime, json_object
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest, RequestStatus
from payments.payment_requests.state import status_for_amount
from payments.transactions.bulk import apply_credits_from
from payments.transactions.models import Flag, PaymentTransaction, PosSettlement, TxnState
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.errors import (
    ExceptionNotFound,
    ResolutionRefused,
    RunNotFound,
)
from reconciliation.importing import load_account
from reconciliation.matching import (
    BalanceCheck,
    Batch,
    CreditOut,
    DayInput,
    DayResult,
    Line,
    Req,
    Txn,
    reconcile,
    typo_variants,
)
from reconciliation.models import (
    Action,
    ExceptionResolution,
    ExceptionStatus,
    MatchStatus,
    Reason,
    ReconciliationException,
    ReconciliationMatch,
    ReconciliationRun,
    Rule,
    Statement,
    StatementLine,
)

log = structlog.get_logger(__name__)
PROVIDER = "statement"  # statement credits enter the payment state machine as this provider
IN_CHUNK = 5_000
APPLY_CHUNK = 50_000  # credits per transaction: bounded lock time and memory
STREAMS = 2
MONEY_PROVIDERS = ("bank", "paygov")  # their transactions are single credits on the statement
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ReconcileDay:
    """Command: reconcile ``account_id`` for the business day ``day``."""

    account_id: str
    day: date
    actor: str = "system"


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------- loading (bulk, per day)

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
    paid, status = row[4], row[5]
    if rid in own and status not in (RequestStatus.EXPIRED, RequestStatus.CANCELLED):
        paid -= own[rid]
        if status != RequestStatus.REFUNDED:
            status = status_for_amount(paid, row[3])
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


# ---------------------------------------------------------------- running a day


def reconcile_day(
    cmd: ReconcileDay,
    *,
    uow: UnitOfWork,
    principal: Principal | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Reconcile one account's business day: match, apply settling credits through the payment
    state machine (receipts follow), store matches and exceptions. Idempotent."""
    report = progress or (lambda _stage, _done, _total: None)
    with uow:
        load_account(uow.session, cmd.account_id, principal)
        day = load_day(uow.session, cmd.account_id, cmd.day)
        report("loaded", len(day.lines), len(day.lines))
        result = reconcile(day)
        del day
    report("matched", len(result.matches), len(result.matches) + len(result.exceptions))
    apply_statement_credits(result.credits, uow=uow, progress=report)
    report("applied", len(result.credits), len(result.credits))
    for attempt in range(2):
        try:
            with uow:
                run = _store(uow.session, cmd, result)
                view = run_view(uow.session, run, details=False)
                audit.append(
                    uow.session, cmd.actor, "reconciliation_run", f"run:{run.id}", view["summary"]
                )
                uow.commit()
            break
        except IntegrityError:  # another caller created the day's run first: update it
            if attempt:
                raise
    report("stored", len(result.matches), len(result.matches))
    log.info(
        "reconciled", account=cmd.account_id, day=str(cmd.day), **view["summary"]["exceptions"]
    )
    return view


CREDITS_IN = Table(
    "recon_credits_in",
    MetaData(),
    Column("seq", BigInt),
    Column("line_id", BigInt),
    Column("request_id", Uuid),
    Column("occurred_at", UTCDateTime()),
    prefixes=["TEMPORARY"],
)


def apply_statement_credits(
    credits: Sequence[CreditOut],
    *,
    uow: UnitOfWork,
    progress: Progress | None = None,
    chunk_size: int = APPLY_CHUNK,
) -> dict[str, int]:
    """Apply statement credits to their requests through the payment state machine, set-based
    (``payments.transactions.bulk``): one transaction per chunk, a replay is a no-op. Returns a
    count per outcome (``applied``, ``recorded``).

    On PostgreSQL a large day goes through ``STREAMS`` connections at once, the requests split
    between them (each request's credits stay in one stream, in order), so the database's
    index and constraint work — nearly all of the cost — runs on more than one core.
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
            rows = [(i, credits[i]) for i in indices[start : start + chunk_size]]
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


def _apply_rows(uow: UnitOfWork, rows: Sequence[tuple[int, CreditOut]]) -> dict[str, int]:
    for attempt in range(2):
        try:
            with uow:
                done = _apply_chunk(uow.session.connection(), rows)
                uow.commit()
            return done
        except IntegrityError:  # a concurrent run recorded some first: the retry skips them
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _apply_chunk(conn: Connection, chunk: Sequence[tuple[int, CreditOut]]) -> dict[str, int]:
    CREDITS_IN.create(conn)
    noon: dict[date, datetime] = {}  # statement credits are booked at noon of their day
    rows = (
        (
            seq,
            c.line.id,
            uuid.UUID(c.request_id),
            noon.get(c.line.booking_date)
            or noon.setdefault(
                c.line.booking_date, datetime.combine(c.line.booking_date, time(12), tzinfo=VN_TZ)
            ),
        )
        for seq, c in chunk
    )
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy("COPY recon_credits_in FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(text("ANALYZE recon_credits_in"))
    else:
        keys = list(CREDITS_IN.c.keys())
        conn.execute(insert(CREDITS_IN), [dict(zip(keys, row, strict=True)) for row in rows])
    done = apply_credits_from(conn, _credit_source())
    CREDITS_IN.drop(conn)
    return done


def _credit_source() -> Select[Any]:
    """The credits as ``apply_credits_from`` reads them: what ``record_event`` would have been
    told by a provider ``statement`` reporting the line."""
    c, line = CREDITS_IN.c, cast(Table, StatementLine.__table__).c
    return select(
        c.seq.label("seq"),
        c.request_id.label("request_id"),
        literal(PROVIDER).label("provider"),
        line.fingerprint.label("provider_txn_id"),
        line.amount.label("amount"),
        c.occurred_at.label("occurred_at"),
        func.nullif(line.description, "").label("memo"),
        json_object(
            description=line.description, statement_line_id=sql_cast(line.id, String)
        ).label("details"),
        json_object(
            statement_line_id=line.id,
            booking_date=sql_cast(line.booking_date, String),
            amount=line.amount,
            description=line.description,
            bank_reference=line.bank_reference,
        ).label("raw"),
    ).join_from(CREDITS_IN, StatementLine.__table__, line.id == c.line_id)


def _store(session: Session, cmd: ReconcileDay, result: DayResult) -> ReconciliationRun:
    run = session.scalar(
        select(ReconciliationRun)
        .where(
            ReconciliationRun.account_id == cmd.account_id,
            ReconciliationRun.business_date == cmd.day,
        )
        .with_for_update()
    )
    if run is None:
        run = ReconciliationRun(
            account_id=cmd.account_id, business_date=cmd.day, runs=0, status="running"
        )
        session.add(run)
        session.flush()
    run.runs += 1
    run.updated_at = utcnow()
    run.updated_by = cmd.actor
    session.execute(delete(ReconciliationMatch).where(ReconciliationMatch.run_id == run.id))
    rows = (
        {
            "run_id": run.id,
            "rule": m.rule,
            "status": m.status,
            "statement_line_id": m.line_id,
            "payment_request_ids": list(m.request_ids),
            "amount": m.amount,
            "transaction_id": m.transaction_id,
            "settlement_key": m.settlement_key,
        }
        for m in result.matches
    )
    if session.get_bind().dialect.name == "postgresql":
        _copy_matches(session, rows)
    else:
        while chunk := list(islice(rows, 20_000)):
            session.execute(insert(ReconciliationMatch), chunk)
    _merge_exceptions(session, run, cmd, result)
    session.flush()
    run.summary = _summary(session, run, result)
    run.status = "reconciled" if run.summary["open_items"] == 0 else "open_items"
    return run


def _copy_matches(session: Session, rows: Iterator[dict[str, Any]]) -> None:
    """COPY: a million matches in seconds, where row-by-row inserts take minutes."""
    cols = list(MATCH_COLUMNS)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY recon_matches ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(row[c]) if c == "payment_request_ids" else row[c] for c in cols]
            )


MATCH_COLUMNS = (
    "run_id",
    "rule",
    "status",
    "statement_line_id",
    "payment_request_ids",
    "amount",
    "transaction_id",
    "settlement_key",
)


def _merge_exceptions(
    session: Session, run: ReconciliationRun, cmd: ReconcileDay, result: DayResult
) -> None:
    stored = {
        e.key: e
        for e in session.scalars(
            select(ReconciliationException).where(
                ReconciliationException.account_id == cmd.account_id,
                ReconciliationException.business_date == cmd.day,
            )
        )
    }
    for found in result.exceptions:
        row = stored.pop(found.key, None)
        if row is None:
            row = ReconciliationException(
                account_id=cmd.account_id, business_date=cmd.day, key=found.key
            )
            session.add(row)
        row.run_id = run.id
        row.reason = found.reason
        row.amount = found.amount
        row.statement_line_id = found.line_id
        if row.status == ExceptionStatus.OPEN or row.payment_request_id is None:
            row.payment_request_id = uuid.UUID(found.request_id) if found.request_id else None
        row.detail = found.detail
    for gone in stored.values():
        if gone.status == ExceptionStatus.OPEN:
            session.delete(gone)  # the difference no longer exists
        else:
            gone.run_id = run.id  # resolved: the officer's work stays with the run


def _summary(session: Session, run: ReconciliationRun, result: DayResult) -> dict[str, Any]:
    positive = StatementLine.amount > 0
    counts = session.execute(
        select(
            func.count().filter(positive),
            func.coalesce(func.sum(StatementLine.amount).filter(positive), 0),
            func.count().filter(~positive & (StatementLine.amount != 0)),
            func.coalesce(func.sum(StatementLine.amount).filter(~positive), 0),
        ).where(
            StatementLine.account_id == run.account_id,
            StatementLine.booking_date == run.business_date,
        )
    ).one()
    settled = [m for m in result.matches if m.status != MatchStatus.PROPOSED]
    reasons = session.execute(
        select(ReconciliationException.reason, ReconciliationException.status).where(
            ReconciliationException.run_id == run.id
        )
    ).all()
    by_reason = Counter(reason for reason, _ in reasons)
    open_count = sum(1 for _, status in reasons if status == ExceptionStatus.OPEN)
    return {
        "statement_credits": int(counts[0]),
        "credits_amount": int(counts[1]),
        "statement_debits": int(counts[2]),
        "debits_amount": -int(counts[3]),
        "matched": len(settled),
        "matched_amount": sum(m.amount for m in settled),
        "proposed": len(result.matches) - len(settled),
        "exceptions": {reason.value: by_reason.get(reason.value, 0) for reason in Reason},
        "open_items": open_count,
        "balance_check": result.balance,
    }


def reconcile_all(
    day: date, *, uow: UnitOfWork, actor: str = "scheduler", progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Reconcile ``day`` for every beneficiary account (the nightly job, and ``--account`` left
    out on the command line)."""
    with uow:
        accounts = list(
            uow.session.scalars(select(BeneficiaryAccount.id).order_by(BeneficiaryAccount.id))
        )
    out = []
    failed: list[Exception] = []
    for i, account_id in enumerate(accounts, 1):
        try:
            out.append(reconcile_day(ReconcileDay(account_id, day, actor), uow=uow))
        except Exception as exc:  # one account's failure must not leave the others unreconciled
            log.exception("reconciliation_failed", account=account_id, day=str(day))
            failed.append(exc)
        if progress:
            progress("accounts", i, len(accounts))
    if failed:
        raise failed[0]
    return out


def previous_business_day(now: datetime | None = None) -> date:
    return business_day(now or utcnow()) - timedelta(days=1)


# ---------------------------------------------------------------- reading and resolving


def run_view(session: Session, run: ReconciliationRun, *, details: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(run.id),
        "account_id": run.account_id,
        "date": run.business_date,
        "status": run.status,
        "summary": run.summary,
    }
    if not details:
        return view
    matches = session.scalars(
        select(ReconciliationMatch)
        .where(ReconciliationMatch.run_id == run.id)
        .order_by(ReconciliationMatch.id)
    )
    view["matches"] = [
        {
            "rule": m.rule,
            "status": m.status,
            "statement_line_id": m.statement_line_id,
            "payment_request_ids": m.payment_request_ids,
            "amount": m.amount,
        }
        for m in matches
    ]
    exceptions = session.scalars(
        select(ReconciliationException)
        .where(ReconciliationException.run_id == run.id)
        .order_by(ReconciliationException.id)
    )
    view["exceptions"] = [exception_view(e) for e in exceptions]
    return view


def exception_view(e: ReconciliationException) -> dict[str, Any]:
    return {
        "id": e.id,
        "reason": e.reason,
        "amount": e.amount,
        "statement_line_id": e.statement_line_id,
        "payment_request_id": str(e.payment_request_id) if e.payment_request_id else None,
        "detail": e.detail,
        "status": e.status,
    }


def get_run(run_id: str, *, uow: UnitOfWork, principal: Principal | None = None) -> dict[str, Any]:
    """A run with its matches and exceptions (404 for a run of an account the caller cannot see)."""
    with uow:
        run = _load_run(uow.session, run_id)
        if not _visible(uow.session, run.account_id, principal):
            raise RunNotFound("no such reconciliation run")
        return run_view(uow.session, run)


def _visible(session: Session, account_id: str, principal: Principal | None) -> bool:
    if principal is None or principal.agencies is None:
        return True
    account = session.get(BeneficiaryAccount, account_id)
    return account is not None and principal.may_see(account.agency_code)


def _load_run(session: Session, run_id: str) -> ReconciliationRun:
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        raise RunNotFound("no such reconciliation run") from None
    run = session.get(ReconciliationRun, key)
    if run is None:
        raise RunNotFound("no such reconciliation run")
    return run


@dataclass(frozen=True)
class ResolveException:
    """Command: an officer's typed resolution of one exception; ``note`` is required."""

    exception_id: int
    action: str
    note: str
    payment_request_id: str | None = None
    actor: str = "system"


_ALLOWED: dict[str, frozenset[str]] = {
    Action.LINK_TO_REQUEST: frozenset({Reason.UNKNOWN_CREDIT}),
    Action.CONFIRM_PROPOSAL: frozenset({Reason.UNKNOWN_CREDIT}),
    Action.MARK_FOR_REFUND: frozenset(
        {
            Reason.DUPLICATE_PAYMENT,
            Reason.AMOUNT_MISMATCH,
            Reason.LATE_PAYMENT,
            Reason.UNKNOWN_CREDIT,
        }
    ),
    Action.BOOK_AS_BANK_FEE: frozenset(
        {
            Reason.AMOUNT_MISMATCH,
            Reason.BALANCE_MISMATCH,
            Reason.UNKNOWN_CREDIT,
            Reason.MISSING_CREDIT,
        }
    ),
    Action.DISMISS: frozenset(Reason),
}


def resolve_exception(
    cmd: ResolveException, *, uow: UnitOfWork, principal: Principal | None = None
) -> dict[str, Any]:
    """Resolve an exception with a typed action, attributed and audit-logged. Linking or
    confirming applies the statement credit to the request through the payment state machine."""
    credit: CreditOut | None = None
    with uow:
        s = uow.session
        exc = s.get(ReconciliationException, cmd.exception_id, with_for_update=True)
        if exc is None:
            raise ExceptionNotFound("no such reconciliation exception")
        if not _visible(s, exc.account_id, principal):
            raise ExceptionNotFound("no such reconciliation exception")
        if exc.status != ExceptionStatus.OPEN:
            raise ResolutionRefused("the exception is already resolved")
        if exc.reason not in _ALLOWED[cmd.action]:
            raise ResolutionRefused(f"{cmd.action} does not apply to {exc.reason}")
        target = _target(s, exc, cmd)
        if cmd.action in (Action.LINK_TO_REQUEST, Action.CONFIRM_PROPOSAL):
            credit = _credit_for(s, exc, target)
        if cmd.action == Action.MARK_FOR_REFUND and target is not None:
            target.flags = sorted({*(target.flags or []), Flag.REFUND_DUE})
        s.add(
            ExceptionResolution(
                exception_id=exc.id,
                action=cmd.action,
                payment_request_id=target.id if target is not None else None,
                note=cmd.note,
                actor=cmd.actor,
            )
        )
        exc.status = ExceptionStatus.RESOLVED
        exc.resolved_at = utcnow()
        if target is not None:
            exc.payment_request_id = target.id
        _settle_match(s, exc, cmd.action, target)
        audit.append(
            s,
            cmd.actor,
            "exception_resolved",
            f"exception:{exc.id}",
            {
                "action": cmd.action,
                "reason": exc.reason,
                "amount": exc.amount,
                "statement_line_id": exc.statement_line_id,
                "payment_request_id": str(target.id) if target is not None else None,
                "note": cmd.note,
            },
        )
        uow.commit()
        view = exception_view(exc)
    if credit is not None:
        apply_statement_credits([credit], uow=uow)
    return view


def _target(
    s: Session, exc: ReconciliationException, cmd: ResolveException
) -> PaymentRequest | None:
    if cmd.action == Action.CONFIRM_PROPOSAL:
        if exc.payment_request_id is None:
            raise ResolutionRefused("there is no proposal to confirm")
        return s.get(PaymentRequest, exc.payment_request_id)
    if cmd.action == Action.LINK_TO_REQUEST and not cmd.payment_request_id:
        raise ResolutionRefused("link_to_request needs payment_request_id")
    if not cmd.payment_request_id:
        return s.get(PaymentRequest, exc.payment_request_id) if exc.payment_request_id else None
    try:
        req = s.get(PaymentRequest, uuid.UUID(cmd.payment_request_id))
    except ValueError:
        req = None
    if req is None or req.account_id != exc.account_id:
        raise ResolutionRefused("no such payment request for this account")
    return req


def _credit_for(
    s: Session, exc: ReconciliationException, target: PaymentRequest | None
) -> CreditOut:
    line = s.get(StatementLine, exc.statement_line_id) if exc.statement_line_id else None
    if line is None or target is None:
        raise ResolutionRefused("only a statement credit can be linked to a request")
    if target.status not in OPEN_STATUSES:
        raise ResolutionRefused(f"the request is {target.status}; it cannot take this credit")
    view = Line(
        line.id,
        line.booking_date,
        line.amount,
        line.description,
        line.bank_reference,
        line.counterparty_name,
        line.reference,
        line.reference_candidate,
    )
    return CreditOut(view, str(target.id), target.reference)


def _settle_match(
    s: Session, exc: ReconciliationException, action: str, target: PaymentRequest | None
) -> None:
    if exc.statement_line_id is None:
        return
    s.execute(
        delete(ReconciliationMatch).where(
            ReconciliationMatch.run_id == exc.run_id,
            ReconciliationMatch.statement_line_id == exc.statement_line_id,
            ReconciliationMatch.status == MatchStatus.PROPOSED,
        )
    )
    if action in (Action.LINK_TO_REQUEST, Action.CONFIRM_PROPOSAL) and target is not None:
        s.add(
            ReconciliationMatch(
                run_id=exc.run_id,
                rule=Rule.MANUAL,
                status=MatchStatus.CONFIRMED,
                statement_line_id=exc.statement_line_id,
                payment_request_ids=[str(target.id)],
                amount=exc.amount,
            )
        )
