"""The audit trail of a day and the redirects that name a run or an exception by id."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.console.services.common import Scope, visible_account
from reconciliation.models import (
    AuditEntry,
    ExceptionResolution,
    ReconciliationException,
    ReconciliationRun,
)


def audit_trail(entities: list[str], *, uow: UnitOfWork) -> dict[str, Any]:
    """The audit entries about ``entities``, and whether the whole hash chain still holds."""
    with uow:
        return audit_entries(uow.session, entities)


def audit_entries(s: Session, entities: Any, *, limit: int | None = None) -> dict[str, Any]:
    """The (newest ``limit``) audit entries about ``entities`` (a list or a subquery of entity
    names) and the broken links among them."""
    if isinstance(entities, list) and not entities:
        return {"entries": [], "broken": []}
    stmt = select(AuditEntry).where(AuditEntry.entity.in_(entities)).order_by(AuditEntry.id.desc())
    rows = list(s.scalars(stmt.limit(limit) if limit else stmt))
    entries = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "data": e.data,
            "hash": e.hash,
        }
        for e in reversed(rows)
    ]
    return {"entries": entries, "broken": _broken_links(s, entries)}


def _broken_links(s: Session, entries: list[dict[str, Any]]) -> list[int]:
    """The shown entries whose own hash fails, or whose predecessor is not the entry just
    before them. ``audit.verify_chain`` re-hashes the whole log; a page doing that on every
    view would slow down with every day of the year."""
    if not entries:
        return []
    ids = [e["id"] for e in entries]
    stored = {e.id: e for e in s.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids)))}
    broken = []
    for e in stored.values():
        before = s.scalar(
            select(AuditEntry.hash)
            .where(AuditEntry.id < e.id)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        expected = audit.entry_hash(e.prev_hash, e.at, e.actor, e.action, e.entity, e.data)
        if e.hash != expected or e.prev_hash != (before or audit.GENESIS):
            broken.append(e.id)
    return sorted(broken)


def resolutions(exception_ids: list[int], *, uow: UnitOfWork) -> dict[int, list[dict[str, Any]]]:
    """Who resolved which exception, how and why."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not exception_ids:
        return out
    with uow:
        for r in uow.session.scalars(
            select(ExceptionResolution)
            .where(ExceptionResolution.exception_id.in_(exception_ids))
            .order_by(ExceptionResolution.id)
        ):
            out.setdefault(r.exception_id, []).append(
                {"action": r.action, "note": r.note, "actor": r.actor, "at": r.at}
            )
    return out


def exception_account(
    exception_id: int, scope: Scope, *, uow: UnitOfWork
) -> tuple[str, date] | None:
    """(account, day) of a visible exception, for redirects; None otherwise."""
    with uow:
        s = uow.session
        exc = s.get(ReconciliationException, exception_id)
        if exc is None or visible_account(s, exc.account_id, scope) is None:
            return None
        return exc.account_id, exc.business_date


def run_account(run_id: str, scope: Scope, *, uow: UnitOfWork) -> tuple[str, date] | None:
    """(account, day) of a visible run, for links that name a run by id; None otherwise."""
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        return None
    with uow:
        s = uow.session
        run = s.get(ReconciliationRun, key)
        if run is None or visible_account(s, run.account_id, scope) is None:
            return None
        return run.account_id, run.business_date
