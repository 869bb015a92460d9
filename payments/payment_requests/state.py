"""The payment request state machine, as data: the one place its statuses are named, grouped
and moved. Application code asks these sets and functions; it never spells a status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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
RECEIPTED = SETTLED  # a request's receipts are issued once it is settled
PAID_SHOWN = SETTLED | {S.REFUNDED}  # the checkout page says "paid" (the money came, in full)
PART_PAID = S.PARTIALLY_PAID  # some paid: the QR code asks for what is left

# where the lifecycle's own actions lead (money's moves are ``status_for_amount``'s)
CREATED = S.PENDING  # every request starts here
EXEMPT = S.PAID  # created with nothing due: paid at once, the dossier may proceed
CANCELLED = S.CANCELLED  # by its dossier system or an officer
EXPIRES = S.PENDING  # only a request nothing was paid on expires
EXPIRED = S.EXPIRED

# how the statuses read: to the citizen on the checkout page, to the officer (vi, en)
CITIZEN_WORDS: dict[str, str] = {
    S.PENDING: "Chờ thanh toán",
    S.PARTIALLY_PAID: "Đã thanh toán một phần",
    S.PAID: "Đã thanh toán",
    S.OVERPAID: "Đã thanh toán (nộp thừa)",
    S.EXPIRED: "Đã hết hạn",
    S.CANCELLED: "Đã hủy",
    S.REFUNDED: "Đã hoàn tiền",
}
OFFICER_WORDS: dict[str, tuple[str, str]] = {
    S.PENDING: ("Chờ thanh toán", "Pending"),
    S.PARTIALLY_PAID: ("Thanh toán một phần", "Partially paid"),
    S.PAID: ("Đã thanh toán", "Paid"),
    S.OVERPAID: ("Nộp thừa", "Overpaid"),
    S.EXPIRED: ("Hết hạn", "Expired"),
    S.CANCELLED: ("Đã hủy", "Cancelled"),
    S.REFUNDED: ("Đã hoàn tiền", "Refunded"),
}


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


def as_of(status: str, expires_at: datetime, now: datetime) -> str:
    """The status a request has at ``now``: an ``EXPIRES`` one past its ``expires_at`` is
    ``EXPIRED`` already, before the periodic job (``expire_overdue``) has written it."""
    return EXPIRED if status == EXPIRES and expires_at <= now else status


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
