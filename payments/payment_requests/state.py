"""The payment request state machine, as data."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, literal, or_

from payments.errors import IllegalTransition
from payments.payment_requests.models import AnyRequest
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


def transition(request: AnyRequest, target: S, *, reversal: bool = False) -> bool:
    """Move ``request`` to ``target``. Returns False for a replay of the same state (a no-op);
    raises IllegalTransition for a move the table does not allow."""
    current = S(request.status)
    if current == target:
        return False
    if (current, target) not in (REVERSALS if reversal else ALLOWED):
        raise IllegalTransition(f"a {current} request cannot become {target}")
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


# The same table and rule in SQL, for set-based work (statement credits by the hundred thousand).


def status_for_amount_sql(paid: ColumnElement[int], due: ColumnElement[int]) -> ColumnElement[str]:
    """``status_for_amount`` as a SQL expression."""
    return case(
        (paid <= 0, literal(S.PENDING.value)),
        (paid < due, literal(S.PARTIALLY_PAID.value)),
        (paid == due, literal(S.PAID.value)),
        else_=literal(S.OVERPAID.value),
    )


def allowed_sql(current: ColumnElement[str], target: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether ``ALLOWED`` holds (current, target), as a SQL expression built from the table."""
    return or_(*(and_(current == a.value, target == b.value) for a, b in sorted(ALLOWED)))
