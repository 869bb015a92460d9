"""Beneficiary accounts, their imported statements and the reconciliation calendar."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.catalog.models import BeneficiaryAccount
from payments.clock import as_utc
from payments.uow import UnitOfWork
from reconciliation.console.services.common import (
    Scope,
    account_row,
    line_row,
    scoped,
    visible_account,
)
from reconciliation.models import (
    ExceptionStatus,
    ReconciliationException,
    ReconciliationRun,
    Statement,
    StatementLine,
)


def account_visible(account_id: str, scope: Scope, *, uow: UnitOfWork) -> bool:
    with uow:
        return visible_account(uow.session, account_id, scope) is not None


def list_accounts(scope: Scope, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """The beneficiary accounts the user may see, with their statement count and last import."""
    stats = (
        select(
            Statement.account_id,
            func.count().label("statements"),
            func.max(Statement.imported_at).label("last_import"),
        )
        .group_by(Statement.account_id)
        .subquery()
    )
    stmt = scoped(
        select(BeneficiaryAccount, stats.c.statements, stats.c.last_import)
        .outerjoin(stats, stats.c.account_id == BeneficiaryAccount.id)
        .order_by(BeneficiaryAccount.agency_code, BeneficiaryAccount.id),
        BeneficiaryAccount.agency_code,
        scope,
    )
    with uow:
        return [
            account_row(a) | {"statements": int(n or 0), "last_import": last}
            for a, n, last in uow.session.execute(stmt)
        ]


def account_page(account_id: str, scope: Scope, *, uow: UnitOfWork) -> dict[str, Any] | None:
    """One account and its import history (newest first); None if not visible."""
    with uow:
        s = uow.session
        account = visible_account(s, account_id, scope)
        if account is None:
            return None
        imported = (
            select(StatementLine.statement_id, func.count().label("n"))
            .where(StatementLine.account_id == account_id)
            .group_by(StatementLine.statement_id)
            .subquery()
        )
        rows = s.execute(
            select(Statement, imported.c.n)
            .outerjoin(imported, imported.c.statement_id == Statement.id)
            .where(Statement.account_id == account_id)
            .order_by(Statement.imported_at.desc(), Statement.id.desc())
            .limit(200)
        )
        history = [_statement_row(st, int(n or 0)) for st, n in rows]
        return {"account": account_row(account), "statements": history}


def _statement_row(st: Statement, imported: int) -> dict[str, Any]:
    return {
        "id": st.id,
        "format": st.format,
        "filename": st.filename,
        "imported_at": st.imported_at,
        "imported_by": st.imported_by,
        "lines_total": st.lines_total,
        "lines_imported": imported,
        "lines_skipped": st.lines_total - imported,
        "period_start": st.period_start,
        "period_end": st.period_end,
        "opening_balance": st.opening_balance,
        "closing_balance": st.closing_balance,
    }


def statement_page(
    account_id: str, statement_id: int, scope: Scope, *, uow: UnitOfWork, limit: int = 500
) -> dict[str, Any] | None:
    """A statement of a visible account with the lines it brought in; None otherwise."""
    with uow:
        s = uow.session
        account = visible_account(s, account_id, scope)
        st = s.get(Statement, statement_id)
        if account is None or st is None or st.account_id != account.id:
            return None
        lines = list(
            s.scalars(
                select(StatementLine)
                .where(StatementLine.statement_id == st.id)
                .order_by(StatementLine.line_no)
                .limit(limit)
            )
        )
        imported = s.scalar(select(func.count()).where(StatementLine.statement_id == st.id))
        return {
            "account": account_row(account),
            "statement": _statement_row(st, int(imported or 0)),
            "lines": [line_row(ln) for ln in lines],
            "truncated": int(imported or 0) > limit,
        }


class DayState(StrEnum):
    NO_STATEMENT = "no_statement"
    NOT_RUN = "not_run"  # lines but no run, or lines imported after the last run
    OK = "ok"
    OPEN = "open"  # open exceptions


def calendar(
    account_id: str, scope: Scope, end: date, *, uow: UnitOfWork, days: int = 60
) -> dict[str, Any] | None:
    """The state of each of the last ``days`` business days of an account (newest first)."""
    start = end - timedelta(days=days - 1)
    with uow:
        s = uow.session
        account = visible_account(s, account_id, scope)
        if account is None:
            return None
        states = day_states(s, [account_id], start, end)[account_id]
        row = account_row(account)  # inside the session: the instance expires on leaving it
    cells = [
        {"date": d, **states.get(d, {"state": DayState.NO_STATEMENT, "lines": 0, "open": 0})}
        for d in (end - timedelta(days=i) for i in range(days))
    ]
    return {"account": row, "days": cells}


def day_states(
    s: Session, account_ids: list[str], start: date, end: date
) -> dict[str, dict[date, dict[str, Any]]]:
    """Per account and day: statement lines, last import, run and open exceptions (4 queries)."""
    out: dict[str, dict[date, dict[str, Any]]] = {a: {} for a in account_ids}
    lines = s.execute(
        select(
            StatementLine.account_id,
            StatementLine.booking_date,
            func.count(),
            func.max(Statement.imported_at),
        )
        .join(Statement, Statement.id == StatementLine.statement_id)
        .where(
            StatementLine.account_id.in_(account_ids),
            StatementLine.booking_date >= start,
            StatementLine.booking_date <= end,
        )
        .group_by(StatementLine.account_id, StatementLine.booking_date)
    )
    for acc, day, n, last in lines:
        out[acc][day] = {"state": DayState.NOT_RUN, "lines": int(n), "open": 0, "imported": last}
    run_rows = s.execute(
        select(
            ReconciliationRun.account_id,
            ReconciliationRun.business_date,
            ReconciliationRun.id,
            ReconciliationRun.updated_at,
        ).where(
            ReconciliationRun.account_id.in_(account_ids),
            ReconciliationRun.business_date >= start,
            ReconciliationRun.business_date <= end,
        )
    )
    for acc, day, run_id, updated in run_rows:
        cell = out[acc].setdefault(day, {"lines": 0, "open": 0, "imported": None})
        stale = cell["imported"] is not None and as_utc(cell["imported"]) > as_utc(updated)
        cell["state"] = DayState.NOT_RUN if stale else DayState.OK
        cell["run_id"] = str(run_id)
    open_rows = s.execute(
        select(
            ReconciliationException.account_id,
            ReconciliationException.business_date,
            func.count(),
        )
        .where(
            ReconciliationException.account_id.in_(account_ids),
            ReconciliationException.business_date >= start,
            ReconciliationException.business_date <= end,
            ReconciliationException.status == ExceptionStatus.OPEN,
        )
        .group_by(ReconciliationException.account_id, ReconciliationException.business_date)
    )
    for acc, day, n in open_rows:
        cell = out[acc].setdefault(day, {"lines": 0, "imported": None, "state": DayState.OPEN})
        cell["open"] = int(n)
        if cell["state"] == DayState.OK:
            cell["state"] = DayState.OPEN
    return out
