"""What money does to a payment request, decided once, here, from plain values.

Every path that moves money asks ``decide``: a bank, POS or portal callback, a statement credit
applied in bulk, an officer linking a statement line to a request or marking it for refund, a POS
void. It answers with the transaction's state and flags, the request's new status, paid amount,
flags and version, and the outbox topic; ``event_payload`` builds what the event carries. No
database: writers (``services``, ``bulk``) only write what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from payments.errors import IllegalTransition, RefundExceedsPaid
from payments.payment_requests.models import RequestStatus as S
from payments.payment_requests.state import LATE, SETTLED, check, status_for_amount
from payments.transactions.models import Flag, TxnState


class Move(StrEnum):
    CREDIT = "credit"  # money in for the request: a payment, a statement credit, an officer's link
    VOID = "void"  # a POS void before its batch settles takes a credit back
    MARK_REFUND = "mark_refund"  # an officer marks the request's money for refund
    REFUND = "refund"  # money paid back to the payer (recorded by an officer)


@dataclass(frozen=True, slots=True)
class Standing:
    """A request as a move finds it."""

    status: str
    due: int  # the total amount
    paid: int
    flags: tuple[str, ...] = ()
    version: int = 1


@dataclass(frozen=True, slots=True)
class Decision:
    """What a move does: to the request (``after``), to its transaction, and which event."""

    after: Standing
    txn_state: TxnState
    txn_flags: tuple[str, ...]
    topic: str | None  # the outbox topic, None for no event

    @property
    def applied(self) -> bool:
        return self.txn_state == TxnState.APPLIED


def decide(
    move: Move, before: Standing, amount: int = 0, *, reference_corrected: bool = False
) -> Decision:
    """What ``move`` of ``amount`` đồng does to a request standing ``before``.

    A credit for an expired, cancelled or refunded request is recorded beside it, never applied:
    both are flagged late and refund-due. Any other credit adds to the paid amount and moves the
    request through the state table (IllegalTransition for a move it forbids); money for a
    request paid already is a duplicate payment, money beyond the total an overpayment, both
    refund-due. A reference corrected from one wrong digit is flagged on both. A void takes its
    amount back (a reversal move). Marking for refund flags the request refund-due. A refund
    pays back part or all of a settled request's money (``_refund``).
    """
    if move == Move.VOID:
        return _void(before, amount)
    if move == Move.REFUND:
        return _refund(before, amount)
    if move == Move.MARK_REFUND:
        return Decision(_flagged(before, Flag.REFUND_DUE), TxnState.RECORDED, (), None)
    corrected: tuple[str, ...] = (Flag.REFERENCE_CORRECTED,) if reference_corrected else ()
    if before.status in LATE:
        late = (*corrected, Flag.LATE_PAYMENT, Flag.REFUND_DUE)
        return Decision(_flagged(before, *late), TxnState.RECORDED, _sorted(late), None)
    current = S(before.status)
    txn_flags: tuple[str, ...] = corrected
    if current in SETTLED:
        txn_flags += (Flag.DUPLICATE_PAYMENT,)
    paid = before.paid + amount
    target = status_for_amount(paid, before.due)
    request_flags = corrected
    if target == S.OVERPAID:
        txn_flags += (Flag.OVERPAYMENT, Flag.REFUND_DUE)
        request_flags += (Flag.REFUND_DUE,)
    moved = check(current, target)
    flags = _sorted((*before.flags, *request_flags)) if request_flags else before.flags
    after = Standing(target, before.due, paid, flags, before.version + moved)
    # an overpayment is news even when the request was overpaid already
    topic = f"payment_request.{target}" if moved or target == S.OVERPAID else None
    return Decision(after, TxnState.APPLIED, _sorted(txn_flags), topic)


def _void(before: Standing, amount: int) -> Decision:
    paid = before.paid - amount
    target = status_for_amount(paid, before.due)
    moved = check(S(before.status), target, reversal=True)
    after = Standing(target, before.due, paid, before.flags, before.version + moved)
    return Decision(after, TxnState.RECORDED, (), "payment_request.reversed" if moved else None)


def _refund(before: Standing, amount: int) -> Decision:
    """Money paid back: all of it refunds the request; the excess of an overpaid one leaves it
    paid; less than the total (a reduction learnt late) leaves it settled as paid. Nothing is
    left to refund once no more than the total is kept."""
    if before.status not in SETTLED:
        raise IllegalTransition(f"a {before.status} request has no applied money to refund")
    if not 0 < amount <= before.paid:
        raise RefundExceedsPaid(f"{amount} đồng is not within the {before.paid} đồng paid")
    paid = before.paid - amount
    target = S.REFUNDED if paid == 0 else S.OVERPAID if paid > before.due else S.PAID
    check(S(before.status), target)  # IllegalTransition for a move the table forbids
    flags = before.flags
    if target != S.OVERPAID:
        flags = tuple(f for f in before.flags if f != Flag.REFUND_DUE)
    # the version moves even when the status does not: the paid amount did
    after = Standing(target, before.due, paid, flags, before.version + 1)
    return Decision(after, TxnState.RECORDED, (), "payment_request.refunded")


def _flagged(before: Standing, *flags: str) -> Standing:
    return replace(before, flags=_sorted((*before.flags, *flags))) if flags else before


def _sorted(flags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({str(f) for f in flags}))


def unapplied(status: str, due: int, paid: int, amount: int) -> tuple[str, int]:
    """(status, paid) of a request before ``amount`` đồng of its applied credits arrived: what a
    re-run of a reconciliation day sees (an expired or cancelled request keeps both: money
    arriving later was never applied; a refunded one keeps its status)."""
    if not amount or status in (S.EXPIRED, S.CANCELLED):
        return status, paid
    paid -= amount
    return (status if status == S.REFUNDED else status_for_amount(paid, due)), paid


class Identity(Protocol):
    """What an event names a request by."""

    @property
    def id(self) -> Any: ...
    @property
    def dossier_code(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def total_amount(self) -> int: ...
    @property
    def callback_url(self) -> str | None: ...


def event_payload(request: Identity, standing: Standing) -> dict[str, Any]:
    """What the outbox carries about a request standing so: enough for a dossier system to act
    on. The one builder of it (``payment_requests.services.event_payload`` asks it)."""
    return {
        "payment_request_id": str(request.id),
        "dossier_code": request.dossier_code,
        "reference": request.reference,
        "status": str(standing.status),
        "total_amount": request.total_amount,
        "paid_amount": standing.paid,
        "callback_url": request.callback_url,
        "flags": list(standing.flags),
    }


def standing(request: Any) -> Standing:
    """The standing of a request row (``PaymentRequest`` or ``LockedRequest``)."""
    return Standing(
        request.status,
        request.total_amount,
        request.paid_amount,
        tuple(request.flags or ()),
        request.version,
    )


def settle(request: Any, after: Standing) -> None:
    """Copy a decision's standing onto a request row held in memory."""
    request.status = after.status
    request.paid_amount = after.paid
    request.flags = list(after.flags)
    request.version = after.version
