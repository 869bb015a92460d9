"""Bulk resolutions for the common cases of a day: book every bank fee, confirm every proposal
above a name similarity, or apply one action to the exceptions an officer ticked. Each
exception goes through reconciliation's own ``resolve_exception`` (one decision path), in its
own transaction: one refusal never blocks the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from payments.auth.services import Principal
from payments.errors import DomainError
from payments.uow import UnitOfWork
from reconciliation import runs
from reconciliation.console.services import Scope
from reconciliation.console.services.days import bulk_candidates
from reconciliation.models import Action

ACTION_OF = {"bank_fees": Action.BOOK_AS_BANK_FEE, "proposals": Action.CONFIRM_PROPOSAL}


@dataclass(frozen=True)
class BulkResolve:
    """Command: resolve many exceptions of one day; ``kind`` is ``bank_fees``, ``proposals`` or
    ``selected`` (then ``action`` applies to ``exception_ids``)."""

    account_id: str
    day: date
    kind: str
    note: str
    actor: str
    action: str = ""
    exception_ids: Sequence[int] = ()
    min_similarity: int = 90


@dataclass
class BulkResult:
    resolved: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


def bulk_resolve(
    cmd: BulkResolve, *, uow: UnitOfWork, scope: Scope, principal: Principal | None
) -> BulkResult:
    """Resolve every chosen exception with its action; the result names each outcome."""
    if cmd.kind == "selected":
        action, ids = cmd.action, list(cmd.exception_ids)
    else:
        action = ACTION_OF.get(cmd.kind, "")
        ids = bulk_candidates(
            cmd.account_id,
            cmd.day,
            scope,
            cmd.kind,
            uow=uow,
            min_similarity=cmd.min_similarity,
        )
    result = BulkResult()
    for exception_id in ids:
        resolve = runs.ResolveException(exception_id, action, cmd.note, actor=cmd.actor)
        try:
            runs.resolve_exception(resolve, uow=uow, principal=principal)
        except DomainError:
            result.refused.append(exception_id)
        else:
            result.resolved.append(exception_id)
    return result
