"""Reading runs and exceptions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.uow import UnitOfWork
from reconciliation.errors import (
    RunNotFound,
)
from reconciliation.models import (
    ReconciliationException,
    ReconciliationMatch,
    ReconciliationRun,
)


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
        if not visible(uow.session, run.account_id, principal):
            raise RunNotFound("no such reconciliation run")
        return run_view(uow.session, run)


def visible(session: Session, account_id: str, principal: Principal | None) -> bool:
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
