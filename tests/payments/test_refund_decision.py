"""What a refund does to a request, decided by ``ledger.decide`` (one decision path): a table
written out by hand from the rules (all paid back → refunded; the excess of an overpaid request →
paid; less than the total → still paid; refund-due cleared once no more than the total is kept)."""

from __future__ import annotations

import pytest

from payments.errors import IllegalTransition, RefundExceedsPaid
from payments.payment_requests.models import RequestStatus as S
from payments.transactions.ledger import Move, Standing, decide
from payments.transactions.models import Flag
from payments.transactions.models import TxnState as T

DUE = 200_000
REFUND_DUE = Flag.REFUND_DUE

# (status, paid, flags, amount) → (status, paid, flags)
# fmt: off
REFUNDS = [
    (S.PAID, DUE, (), DUE, S.REFUNDED, 0, ()),
    (S.PAID, DUE, (), 100_000, S.PAID, 100_000, ()),
    (S.PAID, DUE, (), 1, S.PAID, DUE - 1, ()),
    (S.OVERPAID, 400_000, (REFUND_DUE,), 200_000, S.PAID, DUE, ()),
    (S.OVERPAID, 400_000, (REFUND_DUE,), 100_000, S.OVERPAID, 300_000, (REFUND_DUE,)),
    (S.OVERPAID, 400_000, (REFUND_DUE, "x"), 400_000, S.REFUNDED, 0, ("x",)),
    (S.OVERPAID, 400_000, (REFUND_DUE,), 300_000, S.PAID, 100_000, ()),
]
# fmt: on


@pytest.mark.parametrize(("status", "paid", "flags", "amount", "to", "left", "after"), REFUNDS)
def test_a_refund(
    status: S,
    paid: int,
    flags: tuple[str, ...],
    amount: int,
    to: S,
    left: int,
    after: tuple[str, ...],
) -> None:
    d = decide(Move.REFUND, Standing(status, DUE, paid, flags, 3), amount)
    assert (d.after.status, d.after.paid, d.after.flags) == (to, left, after)
    assert (d.after.version, d.txn_state, d.txn_flags) == (4, T.RECORDED, ())
    assert d.topic == "payment_request.refunded"


@pytest.mark.parametrize(
    "status", [S.PENDING, S.PARTIALLY_PAID, S.EXPIRED, S.CANCELLED, S.REFUNDED]
)
def test_only_a_settled_request_is_refunded(status: S) -> None:
    with pytest.raises(IllegalTransition):
        decide(Move.REFUND, Standing(status, DUE, 50_000), 10_000)


@pytest.mark.parametrize("amount", [0, -1, DUE + 1])
def test_a_refund_is_more_than_nothing_and_at_most_what_was_paid(amount: int) -> None:
    with pytest.raises(RefundExceedsPaid):
        decide(Move.REFUND, Standing(S.PAID, DUE, DUE), amount)
