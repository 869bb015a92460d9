"""Running a day: load, match, apply the settling credits, store the run.

A run is unique per (account, business day): running a day again updates the same run, replaces
its matches and keeps every exception an officer resolved (exceptions carry a stable key).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import structlog
from sqlalchemy import (
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.clock import business_day, utcnow
from payments.transactions.bulk import paused_gc
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.importing import load_account
from reconciliation.matching import (
    DayResult,
    reconcile,
)
from reconciliation.models import (
    ExceptionStatus,
    MatchStatus,
    Reason,
    ReconciliationException,
    ReconciliationMatch,
    ReconciliationRun,
    StatementLine,
)
from reconciliation.runs.applying import Progress, apply_statement_credits
from reconciliation.runs.loading import load_day
from reconciliation.runs.reading import run_view

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReconcileDay:
    """Command: reconcile ``account_id`` for the business day ``day``."""

    account_id: str
    day: date
    actor: str = "system"


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
    with uow, paused_gc():  # a day's lines and requests: objects by the million, no cycles
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
            with uow, paused_gc():
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
    new: list[dict[str, Any]] = []  # a first run's thousands: one executemany, no ORM objects
    for found in result.exceptions:
        row = stored.pop(found.key, None)
        if row is None:
            new.append(
                {
                    "account_id": cmd.account_id,
                    "business_date": cmd.day,
                    "key": found.key,
                    "run_id": run.id,
                    "reason": found.reason,
                    "amount": found.amount,
                    "statement_line_id": found.line_id,
                    "payment_request_id": _request_id(found.request_id),
                    "detail": found.detail,
                }
            )
            continue
        row.run_id = run.id
        row.reason = found.reason
        row.amount = found.amount
        row.statement_line_id = found.line_id
        if row.status == ExceptionStatus.OPEN or row.payment_request_id is None:
            row.payment_request_id = _request_id(found.request_id)
        row.detail = found.detail
    if new:
        session.execute(insert(ReconciliationException), new)
    for gone in stored.values():
        if gone.status == ExceptionStatus.OPEN:
            session.delete(gone)  # the difference no longer exists
        else:
            gone.run_id = run.id  # resolved: the officer's work stays with the run


def _request_id(text: str | None) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


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
