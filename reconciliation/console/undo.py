"""Undo an officer's resolution: the exception opens again, and the undo is itself recorded
(a resolution row ``undo`` and an audit entry), so the chain tells who did what and who took it
back.

Only resolutions that moved no money can be undone here: a linked credit or a confirmed
proposal applied a payment to a request, and taking that back is a refund decided by the payment
state machine, not a console edit. The run's proposal for the line comes back on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from payments.auth.services import Principal
from payments.catalog.models import BeneficiaryAccount
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import Flag
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.errors import ExceptionNotFound, ResolutionRefused
from reconciliation.models import (
    Action,
    ExceptionResolution,
    ExceptionStatus,
    ReconciliationException,
)

UNDO = "undo"
UNDOABLE = frozenset({Action.DISMISS, Action.BOOK_AS_BANK_FEE, Action.MARK_FOR_REFUND})


@dataclass(frozen=True)
class UndoResolution:
    """Command: take back the last resolution of an exception; ``note`` says why."""

    exception_id: int
    note: str
    actor: str


def undo_resolution(
    cmd: UndoResolution, *, uow: UnitOfWork, principal: Principal | None = None
) -> dict[str, Any]:
    """Reopen a resolved exception whose last resolution moved no money; audited."""
    if not cmd.note.strip():
        raise ResolutionRefused("an undo needs a note")
    with uow:
        s = uow.session
        exc = s.get(ReconciliationException, cmd.exception_id, with_for_update=True)
        account = s.get(BeneficiaryAccount, exc.account_id) if exc is not None else None
        if exc is None or account is None:
            raise ExceptionNotFound("no such reconciliation exception")
        if principal is not None and not principal.may_see(account.agency_code):
            raise ExceptionNotFound("no such reconciliation exception")
        last = s.scalar(
            select(ExceptionResolution)
            .where(ExceptionResolution.exception_id == exc.id)
            .order_by(ExceptionResolution.id.desc())
            .limit(1)
        )
        if exc.status != ExceptionStatus.RESOLVED or last is None or last.action == UNDO:
            raise ResolutionRefused("the exception is not resolved")
        if last.action not in UNDOABLE:
            raise ResolutionRefused(f"{last.action} applied money: it cannot be undone here")
        if last.action == Action.MARK_FOR_REFUND and last.payment_request_id is not None:
            _unflag_refund(s, last.payment_request_id, exc.id)
        exc.status = ExceptionStatus.OPEN
        exc.resolved_at = None
        s.add(ExceptionResolution(exception_id=exc.id, action=UNDO, note=cmd.note, actor=cmd.actor))
        audit.append(
            s,
            cmd.actor,
            "resolution_undone",
            f"exception:{exc.id}",
            {"action": UNDO, "undone": last.action, "resolution_id": last.id, "note": cmd.note},
        )
        uow.commit()
        return {"id": exc.id, "status": exc.status, "undone": last.action}


def _unflag_refund(s: Any, request_id: Any, exception_id: int) -> None:
    """Drop the request's refund flag unless another exception still marks it for a refund."""
    others = s.scalars(
        select(ExceptionResolution.exception_id)
        .join(
            ReconciliationException, ReconciliationException.id == ExceptionResolution.exception_id
        )
        .where(
            ExceptionResolution.payment_request_id == request_id,
            ExceptionResolution.action == Action.MARK_FOR_REFUND,
            ReconciliationException.status == ExceptionStatus.RESOLVED,
            ReconciliationException.id != exception_id,
        )
        .limit(1)
    ).first()
    request = s.get(PaymentRequest, request_id, with_for_update=True)
    if others is None and request is not None and request.flags:
        request.flags = sorted(set(request.flags) - {Flag.REFUND_DUE})
