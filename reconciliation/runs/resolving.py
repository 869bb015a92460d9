"""Officers' typed resolutions of exceptions: one transaction each, the credit included."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    delete,
)
from sqlalchemy.orm import Session

from payments.auth.services import Principal
from payments.clock import utcnow
from payments.payment_requests.models import OPEN_STATUSES, PaymentRequest
from payments.transactions import ledger
from payments.transactions.ledger import Move
from payments.uow import UnitOfWork
from reconciliation import audit
from reconciliation.errors import (
    ExceptionNotFound,
    ResolutionRefused,
)
from reconciliation.matching import (
    CreditOut,
    Line,
)
from reconciliation.models import (
    Action,
    ExceptionResolution,
    ExceptionStatus,
    MatchStatus,
    Reason,
    ReconciliationException,
    ReconciliationMatch,
    Rule,
    StatementLine,
)
from reconciliation.runs.applying import apply_line_credits
from reconciliation.runs.reading import exception_view, visible


@dataclass(frozen=True)
class ResolveException:
    """Command: an officer's typed resolution of one exception; ``note`` is required."""

    exception_id: int
    action: str
    note: str
    payment_request_id: str | None = None
    actor: str = "system"


ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
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
        if not visible(s, exc.account_id, principal):
            raise ExceptionNotFound("no such reconciliation exception")
        if exc.status != ExceptionStatus.OPEN:
            raise ResolutionRefused("the exception is already resolved")
        if exc.reason not in ALLOWED_ACTIONS[cmd.action]:
            raise ResolutionRefused(f"{cmd.action} does not apply to {exc.reason}")
        target = _target(s, exc, cmd)
        if cmd.action in (Action.LINK_TO_REQUEST, Action.CONFIRM_PROPOSAL):
            credit = _credit_for(s, exc, target)
        if cmd.action == Action.MARK_FOR_REFUND and target is not None:
            ledger.settle(target, ledger.decide(Move.MARK_REFUND, ledger.standing(target)).after)
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
        if credit is not None:  # in the resolution's own transaction: both or neither
            s.flush()
            apply_line_credits(s.connection(), [credit])
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
        return exception_view(exc)


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
