"""``ledger.decide`` over every (status, paid, due, late, kind) case, without a database.

The expectations are written out by hand, row by row, from the rules in DESIGN (a credit for an
expired, cancelled or refunded request is kept and flagged; money beyond the total is an
overpayment; money for a paid request a duplicate; a void takes a credit back), not computed
with the code under test.
"""

from __future__ import annotations

import itertools

import pytest

from payments.errors import IllegalTransition
from payments.payment_requests.models import RequestStatus as S
from payments.payment_requests.state import LATE as LATE_STATUSES
from payments.payment_requests.state import status_for_amount
from payments.transactions.ledger import Move, Standing, decide, event_payload, unapplied
from payments.transactions.models import Flag
from payments.transactions.models import TxnState as T

DUE = 100_000
LATE, REFUND, DUP = Flag.LATE_PAYMENT, Flag.REFUND_DUE, Flag.DUPLICATE_PAYMENT
OVER, FIX = Flag.OVERPAYMENT, Flag.REFERENCE_CORRECTED
PENDING, PART, PAID, OVERPAID = S.PENDING, S.PARTIALLY_PAID, S.PAID, S.OVERPAID
A, R = T.APPLIED, T.RECORDED
TOO_LATE = (LATE, REFUND)
OVER_DUE, DUP_OVER = (OVER, REFUND), (DUP, OVER, REFUND)

# (status, paid before, amount) → (status after, paid after, moved, txn state, txn flags,
#  request flags added, topic)
CREDITS = [
    (PENDING, 0, 0, PENDING, 0, False, A, (), (), None),
    (PENDING, 0, 40_000, PART, 40_000, True, A, (), (), "partially_paid"),
    (PENDING, 0, DUE, PAID, DUE, True, A, (), (), "paid"),
    (PENDING, 0, 150_000, OVERPAID, 150_000, True, A, OVER_DUE, (REFUND,), "overpaid"),
    (PART, 40_000, 10_000, PART, 50_000, False, A, (), (), None),
    (PART, 40_000, 60_000, PAID, DUE, True, A, (), (), "paid"),
    (PART, 40_000, 70_000, OVERPAID, 110_000, True, A, OVER_DUE, (REFUND,), "overpaid"),
    (PAID, DUE, 1, OVERPAID, DUE + 1, True, A, DUP_OVER, (REFUND,), "overpaid"),
    (PAID, DUE, 0, PAID, DUE, False, A, (DUP,), (), None),
    (OVERPAID, 120_000, 5_000, OVERPAID, 125_000, False, A, DUP_OVER, (REFUND,), "overpaid"),
    (S.EXPIRED, 0, 70_000, S.EXPIRED, 0, False, R, TOO_LATE, TOO_LATE, None),
    (S.CANCELLED, 30_000, 1, S.CANCELLED, 30_000, False, R, TOO_LATE, TOO_LATE, None),
    (S.REFUNDED, DUE, 1_000, S.REFUNDED, DUE, False, R, TOO_LATE, TOO_LATE, None),
]


@pytest.mark.parametrize(
    (
        "status",
        "paid",
        "amount",
        "after",
        "paid_after",
        "moved",
        "state",
        "txn_flags",
        "added",
        "topic",
    ),
    CREDITS,
)
@pytest.mark.parametrize("corrected", [False, True])
def test_a_credit(
    status: S,
    paid: int,
    amount: int,
    after: S,
    paid_after: int,
    moved: bool,
    state: T,
    txn_flags: tuple[str, ...],
    added: tuple[str, ...],
    topic: str | None,
    corrected: bool,
) -> None:
    before = Standing(status, DUE, paid, ("earlier",), version=3)

    d = decide(Move.CREDIT, before, amount, reference_corrected=corrected)

    fix = (FIX,) if corrected else ()
    assert d.after == Standing(
        after, DUE, paid_after, tuple(sorted({"earlier", *added, *fix})), 3 + moved
    )
    assert d.txn_state == state
    assert d.txn_flags == tuple(sorted({*txn_flags, *fix}))
    assert d.topic == (f"payment_request.{topic}" if topic else None)
    assert d.applied == (state == T.APPLIED)


@pytest.mark.parametrize(
    ("status", "paid", "amount"),
    [
        (S.PAID, 0, 10_000),  # a paid request whose amount says otherwise cannot go back
        (S.OVERPAID, 0, 10_000),
        (S.PAID, DUE, -DUE),  # only a void may take money back
    ],
)
def test_a_credit_the_state_table_forbids(status: S, paid: int, amount: int) -> None:
    with pytest.raises(IllegalTransition):
        decide(Move.CREDIT, Standing(status, DUE, paid), amount)


# (status, paid, voided) → (status after, paid after, topic)
VOIDS = [
    (S.PAID, DUE, DUE, S.PENDING, 0, "reversed"),
    (S.PAID, DUE, 40_000, S.PARTIALLY_PAID, 60_000, "reversed"),
    (S.PARTIALLY_PAID, 40_000, 40_000, S.PENDING, 0, "reversed"),
    (S.OVERPAID, 150_000, 50_000, S.PAID, DUE, "reversed"),
    (S.OVERPAID, 150_000, 10_000, S.OVERPAID, 140_000, None),
    (S.PARTIALLY_PAID, 60_000, 10_000, S.PARTIALLY_PAID, 50_000, None),
]


@pytest.mark.parametrize(("status", "paid", "amount", "after", "paid_after", "topic"), VOIDS)
def test_a_void(
    status: S, paid: int, amount: int, after: S, paid_after: int, topic: str | None
) -> None:
    d = decide(Move.VOID, Standing(status, DUE, paid, ("x",), 2), amount)

    assert d.after == Standing(after, DUE, paid_after, ("x",), 2 + (topic is not None))
    assert d.topic == (f"payment_request.{topic}" if topic else None)
    assert d.txn_state == T.RECORDED


@pytest.mark.parametrize("status", [S.EXPIRED, S.CANCELLED, S.REFUNDED])
def test_a_void_of_a_closed_request_is_refused(status: S) -> None:
    with pytest.raises(IllegalTransition):
        decide(Move.VOID, Standing(status, DUE, DUE), DUE)


@pytest.mark.parametrize("status", list(S))
def test_marking_for_refund_flags_and_moves_nothing(status: S) -> None:
    before = Standing(status, DUE, 30_000, ("late_payment",), 4)

    d = decide(Move.MARK_REFUND, before)

    assert d.after == Standing(status, DUE, 30_000, ("late_payment", "refund_due"), 4)
    assert d.topic is None


@pytest.mark.parametrize(
    ("status", "paid", "amount", "expected"),
    [
        (S.PAID, DUE, DUE, (S.PENDING, 0)),
        (S.OVERPAID, 130_000, 30_000, (S.PAID, DUE)),
        (S.PARTIALLY_PAID, 50_000, 0, (S.PARTIALLY_PAID, 50_000)),
        (S.REFUNDED, DUE, 40_000, (S.REFUNDED, 60_000)),
        (S.EXPIRED, 20_000, 20_000, (S.EXPIRED, 20_000)),
        (S.CANCELLED, 20_000, 20_000, (S.CANCELLED, 20_000)),
    ],
)
def test_a_request_before_its_days_credits(
    status: S, paid: int, amount: int, expected: tuple[S, int]
) -> None:
    assert unapplied(status, DUE, paid, amount) == expected


def test_every_status_and_amount_is_decided_or_refused() -> None:
    """No (status, paid, amount) combination falls through: each yields a decision whose paid
    amount moved by exactly the credit, or a refusal by the state table, and only a request
    whose paid amount contradicts its status is refused."""
    for status, paid, amount in itertools.product(S, (0, 1, DUE - 1, DUE, DUE + 1), (0, 1, DUE)):
        try:
            d = decide(Move.CREDIT, Standing(status, DUE, paid), amount)
        except IllegalTransition:
            assert status not in LATE_STATUSES
            assert status != status_for_amount(paid, DUE)
            continue
        assert d.after.paid == (paid if d.txn_state == T.RECORDED else paid + amount)


class _Request:
    id = "6b0c…"
    dossier_code = "H40-1"
    reference = "PAY123"
    total_amount = DUE
    callback_url = None


def test_the_event_payload_carries_the_decided_standing() -> None:
    d = decide(Move.CREDIT, Standing(S.PENDING, DUE, 0), 150_000)

    assert event_payload(_Request(), d.after) == {
        "payment_request_id": "6b0c…",
        "dossier_code": "H40-1",
        "reference": "PAY123",
        "status": "overpaid",
        "total_amount": DUE,
        "paid_amount": 150_000,
        "callback_url": None,
        "flags": ["refund_due"],
    }
