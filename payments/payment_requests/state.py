"""The payment request state machine, as data: the one place its statuses are grouped."""

from __future__ import annotations

from collections.abc import Iterable

from payments.errors import IllegalTransition
from payments.payment_requests.models import OPEN_STATUSES, AnyRequest
from payments.payment_requests.models import RequestStatus as S

ALLOWED: frozenset[tuple[S, S]] = frozenset(
    {
        (S.PENDING, S.PAID),
        (S.PENDING, S.PARTIALLY_PAID),
        (S.PENDING, S.OVERPAID),
        (S.PARTIALLY_PAID, S.PAID),
        (S.PARTIALLY_PAID, S.OVERPAID),
        (S.PENDING, S.EXPIRED),
        (S.PENDING, S.CANCELLED),
        (S.PARTIALLY_PAID, S.CANCELLED),
        (S.PAID, S.REFUNDED),
        (S.OVERPAID, S.REFUNDED),
        (S.OVERPAID, S.PAID),  # the excess was refunded
        (S.PAID, S.OVERPAID),  # the same fee paid twice
    }
)
# a POS void before settlement takes money back: only reversal moves may go "down"
REVERSALS: frozenset[tuple[S, S]] = frozenset(
    {
        (S.PAID, S.PENDING),
        (S.PAID, S.PARTIALLY_PAID),
        (S.PARTIALLY_PAID, S.PENDING),
        (S.OVERPAID, S.PAID),
        (S.OVERPAID, S.PARTIALLY_PAID),
        (S.OVERPAID, S.PENDING),
    }
)
TERMINAL = frozenset({S.PAID, S.OVERPAID, S.EXPIRED, S.CANCELLED, S.REFUNDED})
OPEN = frozenset(OPEN_STATUSES)  # money is still due
# money arriving for these is kept beside the request, flagged, and never applied
LATE = frozenset({S.EXPIRED, S.CANCELLED, S.REFUNDED})
SETTLED = frozenset({S.PAID, S.OVERPAID})  # fully paid: more money is a duplicate payment
# the statuses whose fee reductions the reports count (the console rollup's triggers, 0011)
COUNTED = SETTLED


def check(current: S, target: S, *, reversal: bool = False) -> bool:
    """Whether ``current`` → ``target`` moves (False for a replay of the same state); raises
    IllegalTransition for a move the table does not allow."""
    if current == target:
        return False
    if (current, target) not in (REVERSALS if reversal else ALLOWED):
        raise IllegalTransition(f"a {current} request cannot become {target}")
    return True


def transition(request: AnyRequest, target: S, *, reversal: bool = False) -> bool:
    """Move ``request`` to ``target``. Returns False for a replay of the same state (a no-op);
    raises IllegalTransition for a move the table does not allow."""
    if not check(S(request.status), target, reversal=reversal):
        return False
    request.status = target
    request.version += 1
    return True


def status_for_amount(paid: int, due: int) -> S:
    """What an open request becomes once ``paid`` of ``due`` đồng has arrived."""
    if paid <= 0:
        return S.PENDING
    if paid < due:
        return S.PARTIALLY_PAID
    return S.PAID if paid == due else S.OVERPAID


def sql_list(statuses: Iterable[S]) -> str:
    """``('a', 'b')``: a set of statuses as SQL text, for what must be SQL (an index predicate,
    a trigger), generated from the sets above and never typed again."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(statuses)) + ")"
