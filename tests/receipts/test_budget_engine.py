"""The pure rules of remitting to the state budget (DESIGN §2): shares half-up per receipt line,
periods and deadlines of weekly and monthly rules, and oldest-first settlement."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from receipts.budget.engine import Collection, Key, Rule, allocate, obligations, shares

STP, CA = "000.00.12.H40", "000.00.30.H40"
CENTRE = "Trung tâm Lý lịch tư pháp quốc gia"
# TT 244/2016 Điều 7: 81 % kept by the Sở Tư pháp, 4 % to the national centre, 15 % to the budget
LLTP = Rule.from_budget(
    {
        "retained_percent": "81",
        "transfers": [{"to": CENTRE, "percent": "4"}],
        "remit": {"every": "month", "by_day": 5},
    }
)
WEEKLY = Rule.from_budget({"retained_percent": "0", "remit": {"every": "week", "by": "thursday"}})


@pytest.mark.parametrize(
    ("amount", "retained", "transferred", "owed"),
    [
        (200_000, 162_000, 8_000, 30_000),
        (100_000, 81_000, 4_000, 15_000),
        (12_345, 9_999, 494, 1_852),  # 9 999.45 → 9 999; 493.8 → 494
        (50, 41, 2, 7),  # 40.5 → 41 (half up), 2 exactly
        (1, 1, 0, 0),  # 0.81 → 1, 0.04 → 0: owed is what is left, never negative here
        (0, 0, 0, 0),
        (-200_000, -162_000, -8_000, -30_000),  # a refund mirrors a collection
        (-50, -41, -2, -7),  # half away from zero, as the collection it undoes
    ],
)
def test_shares_are_percentages_of_the_line_rounded_half_up(
    amount: int, retained: int, transferred: int, owed: int
) -> None:
    kept, transfers = shares(amount, LLTP)
    assert (kept, transfers[CENTRE], amount - kept - transfers[CENTRE]) == (
        retained,
        transferred,
        owed,
    )


def test_a_rule_without_a_budget_block_sends_everything_to_the_budget_by_the_fifth() -> None:
    rule = Rule.from_budget(None)
    assert shares(123_457, rule) == (0, {})
    assert rule.due_on(date(2026, 11, 30)) == date(2026, 12, 5)


@pytest.mark.parametrize(
    ("collected", "period", "label", "due_on"),
    [
        # Mon 30 Nov – Sun 6 Dec 2026: due Thursday 10 Dec; the week is cut at the month's end
        (
            date(2026, 11, 30),
            (date(2026, 11, 30), date(2026, 11, 30)),
            "2026-W49",
            date(2026, 12, 10),
        ),
        (date(2026, 12, 1), (date(2026, 12, 1), date(2026, 12, 6)), "2026-W49", date(2026, 12, 10)),
        (date(2026, 12, 6), (date(2026, 12, 1), date(2026, 12, 6)), "2026-W49", date(2026, 12, 10)),
        (
            date(2026, 12, 7),
            (date(2026, 12, 7), date(2026, 12, 13)),
            "2026-W50",
            date(2026, 12, 17),
        ),
        (
            date(2026, 12, 10),
            (date(2026, 12, 7), date(2026, 12, 13)),
            "2026-W50",
            date(2026, 12, 17),
        ),
        # a week across New Year: ISO week 53 of 2026, due in 2027
        (
            date(2026, 12, 31),
            (date(2026, 12, 28), date(2026, 12, 31)),
            "2026-W53",
            date(2027, 1, 7),
        ),
        (date(2027, 1, 2), (date(2027, 1, 1), date(2027, 1, 3)), "2026-W53", date(2027, 1, 7)),
    ],
)
def test_a_weekly_rule_falls_due_on_thursday_of_the_next_week(
    collected: date, period: tuple[date, date], label: str, due_on: date
) -> None:
    start, end, name = WEEKLY.period(collected)
    assert ((start, end), name, WEEKLY.due_on(collected)) == (period, label, due_on)


@pytest.mark.parametrize(
    ("by_day", "collected", "due_on"),
    [
        (5, date(2026, 11, 1), date(2026, 12, 5)),
        (5, date(2026, 11, 30), date(2026, 12, 5)),
        (5, date(2026, 12, 31), date(2027, 1, 5)),
        (31, date(2027, 1, 15), date(2027, 2, 28)),  # a day the next month lacks: its last day
        (31, date(2028, 1, 15), date(2028, 2, 29)),
    ],
)
def test_a_monthly_rule_falls_due_on_the_day_named_of_the_next_month(
    by_day: int, collected: date, due_on: date
) -> None:
    rule = Rule.from_budget({"retained_percent": 0, "remit": {"every": "month", "by_day": by_day}})
    start, end, label = rule.period(collected)
    assert start == collected.replace(day=1) and end.month == collected.month
    assert label == f"{collected.year}-{collected.month:02d}"
    assert rule.due_on(collected) == due_on


def year_of_lines(seed: int) -> list[Collection]:
    rng = random.Random(seed)
    day, lines = date(2026, 1, 1), []
    while day.year == 2026:
        for _ in range(rng.randrange(0, 12)):
            amount = rng.choice([200_000, 100_000, 205_000, 215_000, rng.randrange(1, 400_000)])
            lines.append(Collection(STP, "LLTP", "phi", amount, day))
            lines.append(Collection(CA, "GPLX", "le_phi", rng.randrange(1, 200_000), day))
        day += timedelta(days=1)
    return lines


def half_up(amount: int, percent: str) -> int:
    exact = Decimal(amount) * Decimal(percent) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_year_of_lines_adds_up_to_the_dong_without_drift() -> None:
    lines = year_of_lines(2026)
    found = obligations(lines, {(STP, "LLTP"): LLTP, (CA, "GPLX"): WEEKLY})
    lltp = [ob for ob in found if ob.key.fee_code == "LLTP"]
    assert len(lltp) == 12 and len([ob for ob in found if ob.key.fee_code == "GPLX"]) >= 52
    # every obligation: owed + retained + transfers is what was collected, exactly
    for ob in found:
        assert ob.owed + ob.retained + sum(ob.transfers.values()) == ob.collected
    # the year's retained and transferred are the sum of the lines' half-up shares (an
    # independent computation with Decimal), not a share of the year's total
    stp = [c for c in lines if c.agency_code == STP]
    assert sum(ob.retained for ob in lltp) == sum(half_up(c.amount, "81") for c in stp)
    assert sum(ob.transfers[CENTRE] for ob in lltp) == sum(half_up(c.amount, "4") for c in stp)
    assert sum(ob.collected for ob in found) == sum(c.amount for c in lines)
    gplx_total = sum(c.amount for c in lines if c.agency_code == CA)
    assert sum(ob.owed for ob in found if ob.key.fee_code == "GPLX") == gplx_total


def test_shares_take_fractional_percentages_exactly() -> None:
    rule = Rule.from_budget(
        {"retained_percent": "12.5", "transfers": [], "remit": {"every": "month", "by_day": 5}}
    )
    assert rule.retained_percent == Fraction(25, 2)
    assert shares(4, rule) == (1, {})  # 0.5 → 1
    assert shares(3, rule) == (0, {})  # 0.375 → 0


def test_a_remittance_settles_the_oldest_due_first_and_keeps_what_is_left() -> None:
    lines = [
        Collection(STP, "LLTP", "phi", 200_000, date(2026, 10, 20)),  # owed 30 000, due 5 Nov
        Collection(STP, "HT", "le_phi", 50_000, date(2026, 10, 21)),  # owed 50 000, due 5 Nov
        Collection(STP, "LLTP", "phi", 200_000, date(2026, 11, 3)),  # owed 30 000, due 5 Dec
    ]
    found = obligations(lines, {(STP, "LLTP"): LLTP})
    october_lltp = Key(STP, "LLTP", date(2026, 10, 1), date(2026, 10, 31))
    october_ht = Key(STP, "HT", date(2026, 10, 1), date(2026, 10, 31))
    november = Key(STP, "LLTP", date(2026, 11, 1), date(2026, 11, 30))

    settled, left = allocate(100_000, found, {})
    assert settled == [(october_ht, 50_000), (october_lltp, 30_000), (november, 20_000)]
    assert left == 0
    # what was settled before counts: only the rest of November is open, the rest is left over
    settled, left = allocate(25_000, found, {october_ht: 50_000, october_lltp: 30_000})
    assert (settled, left) == ([(november, 25_000)], 0)
    settled, left = allocate(50_000, found, dict([(october_ht, 50_000), (october_lltp, 30_000)]))
    assert (settled, left) == ([(november, 30_000)], 20_000)
    # a remittance for named fees settles only those
    settled, _ = allocate(40_000, found, {}, ["LLTP"])
    assert settled == [(october_lltp, 30_000), (november, 10_000)]
