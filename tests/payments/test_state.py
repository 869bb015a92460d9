"""The payment request state table (``payment_requests.state``) on its own."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from payments.errors import IllegalTransition
from payments.payment_requests import state
from payments.payment_requests.models import RequestStatus as S
from payments.payment_requests.state import (
    ALLOWED,
    COUNTED,
    LATE,
    OPEN,
    REVERSALS,
    SETTLED,
    TERMINAL,
    as_of,
    sql_list,
    status_for_amount,
    transition,
)


@dataclass
class Row:
    status: str
    version: int = 1
    flags: list[str] = field(default_factory=list)


def test_the_status_sets_partition_the_statuses() -> None:
    assert set(S) == OPEN | SETTLED | LATE
    assert not (OPEN & SETTLED or OPEN & LATE or SETTLED & LATE)
    assert TERMINAL == SETTLED | LATE
    assert {S.PAID, S.OVERPAID} == COUNTED


def test_no_move_leaves_a_late_status_and_none_enters_pending_forwards() -> None:
    assert not any(a in LATE for a, _ in ALLOWED)
    assert not any(b == S.PENDING for _, b in ALLOWED)
    assert all(b in OPEN | SETTLED for _, b in REVERSALS)
    assert {(S.OVERPAID, S.PAID)} == ALLOWED & REVERSALS  # the excess was refunded


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_transition_follows_the_table(current: S, target: S) -> None:
    row = Row(current)
    if current == target:
        assert transition(row, target) is False
        assert (row.status, row.version) == (current, 1)
    elif (current, target) in ALLOWED:
        assert transition(row, target) is True
        assert (row.status, row.version) == (target, 2)
    else:
        with pytest.raises(IllegalTransition):
            transition(row, target)
        assert (row.status, row.version) == (current, 1)


@pytest.mark.parametrize(("current", "target"), sorted(REVERSALS - ALLOWED))
def test_reversals_only_as_reversals(current: S, target: S) -> None:
    with pytest.raises(IllegalTransition):
        transition(Row(current), target)
    row = Row(current)
    assert transition(row, target, reversal=True) is True
    assert row.status == target


@pytest.mark.parametrize(
    ("paid", "expected"),
    [(-5, S.PENDING), (0, S.PENDING), (1, S.PARTIALLY_PAID), (99, S.PARTIALLY_PAID),
     (100, S.PAID), (101, S.OVERPAID)],
)  # fmt: skip
def test_status_for_amount(paid: int, expected: S) -> None:
    assert status_for_amount(paid, 100) == expected


def test_sql_list_is_sorted_and_quoted() -> None:
    assert sql_list(COUNTED) == "('overpaid', 'paid')"
    assert sql_list(OPEN) == "('partially_paid', 'pending')"


NOON = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("expires_in", [timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)])
def test_as_of_expires_only_a_request_nothing_was_paid_on(status: S, expires_in: timedelta) -> None:
    shown = as_of(status, NOON + expires_in, NOON)
    due = status == S.PENDING and expires_in <= timedelta(0)
    assert shown == (S.EXPIRED if due else status)


def test_the_lifecycle_moves_are_allowed_by_the_table() -> None:
    assert (state.CREATED, state.EXEMPT) in ALLOWED  # nothing due: paid at once
    assert (state.CREATED, state.CANCELLED) in ALLOWED
    assert (state.PART_PAID, state.CANCELLED) in ALLOWED
    assert (state.EXPIRES, state.EXPIRED) in ALLOWED
    assert state.CREATED in OPEN and state.PART_PAID in OPEN
    assert state.RECEIPTED == SETTLED and SETTLED | {S.REFUNDED} == state.PAID_SHOWN


def test_every_status_has_its_words_for_citizen_and_officer() -> None:
    assert set(state.CITIZEN_WORDS) == set(state.OFFICER_WORDS) == set(S)
    assert all(vi and en for vi, en in state.OFFICER_WORDS.values())
