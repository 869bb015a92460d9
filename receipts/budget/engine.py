"""The pure rules of remitting (DESIGN §2 "Remitting to the state budget"): from receipt lines and
each fee's ``budget`` rule, what is retained, transferred and owed per agency, fee and period, when
it falls due, and which obligations a remittance settles (oldest first).

Plain values in, plain values out: no database, no clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from payments.money import round_half_up

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Rule:
    """A fee's ``budget`` block (DESIGN §4.3) as exact fractions."""

    retained_percent: Fraction = Fraction(0)
    transfers: tuple[tuple[str, Fraction], ...] = ()
    every: str = "month"  # "week" | "month"
    by: str | None = None  # weekly: the weekday named
    by_day: int | None = 5  # monthly: the day of the next month
    chapter: str | None = None
    sub_item: str | None = None

    @classmethod
    def from_budget(cls, budget: Mapping[str, Any] | None) -> Rule:
        """The stored ``budget`` JSON; a fee without one sends everything to the budget,
        monthly by the 5th (the most common deadline of the circulars, LAW.md)."""
        if not budget:
            return cls()
        remit = budget.get("remit") or {"every": "month", "by_day": 5}
        return cls(
            retained_percent=Fraction(str(budget.get("retained_percent", 0))),
            transfers=tuple(
                (t["to"], Fraction(str(t["percent"]))) for t in budget.get("transfers") or ()
            ),
            every=remit["every"],
            by=remit.get("by"),
            by_day=remit.get("by_day"),
            chapter=budget.get("chapter"),
            sub_item=budget.get("sub_item"),
        )

    def period(self, day: date) -> tuple[date, date, str]:
        """The period a collection on ``day`` belongs to, clipped to its calendar month (a
        monthly declaration carries exactly its month): ``(start, end, label)``."""
        month_start = day.replace(day=1)
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        if self.every == "week":
            monday = day - timedelta(days=day.weekday())
            year, week, _ = day.isocalendar()
            return (
                max(monday, month_start),
                min(monday + timedelta(days=6), month_end),
                f"{year}-W{week:02d}",
            )
        return month_start, month_end, f"{day.year}-{day.month:02d}"

    def due_on(self, day: date) -> date:
        """The last day to remit what was collected on ``day``: the weekday named of the week
        after its Monday–Sunday week, or the day named of the next month (the month's last day
        when it is shorter)."""
        if self.every == "week":
            next_monday = day - timedelta(days=day.weekday()) + timedelta(days=7)
            return next_monday + timedelta(days=WEEKDAYS.index(self.by or "thursday"))
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        last = calendar.monthrange(year, month)[1]
        return date(year, month, min(self.by_day or 5, last))


@dataclass(frozen=True, slots=True)
class Source:
    """Where a collection is written, for the accounting journal: the receipt (for a refund, the
    receipt of the line paid back) and, for a refund, the bank's reference of the transfer."""

    template: str
    series: str
    number: int
    fee_name: str
    channel: str
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Collection:
    """One receipt line: money an agency collected for a fee on a Vietnamese calendar day (a
    refund is a negative amount on the day it is paid back)."""

    agency_code: str
    fee_code: str
    kind: str
    amount: int
    day: date
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Key:
    """One obligation: an agency's fee in one period."""

    agency_code: str
    fee_code: str
    period_start: date
    period_end: date


@dataclass(slots=True)
class Obligation:
    key: Key
    kind: str
    period: str
    due_on: date
    collected: int = 0
    retained: int = 0
    transfers: dict[str, int] = field(default_factory=dict)

    @property
    def owed(self) -> int:
        return self.collected - self.retained - sum(self.transfers.values())


def shares(amount: int, rule: Rule) -> tuple[int, dict[str, int]]:
    """Retained and each transfer of one receipt line: percentages of the collected amount,
    side by side, each rounded half-up to whole đồng."""
    retained = round_half_up(Fraction(amount) * rule.retained_percent / 100)
    transfers = {to: round_half_up(Fraction(amount) * pct / 100) for to, pct in rule.transfers}
    return retained, transfers


def obligations(
    collections: Iterable[Collection], rules: Mapping[tuple[str, str], Rule]
) -> list[Obligation]:
    """Obligations per agency, fee and period, oldest due first. ``rules`` maps ``(agency_code,
    fee_code)`` to the fee's rule (missing: everything to the budget, monthly by the 5th)."""
    found: dict[Key, Obligation] = {}
    for c in collections:
        rule = rules.get((c.agency_code, c.fee_code)) or Rule()
        start, end, label = rule.period(c.day)
        key = Key(c.agency_code, c.fee_code, start, end)
        ob = found.get(key)
        if ob is None:
            ob = found[key] = Obligation(key, c.kind, label, rule.due_on(c.day))
        retained, transfers = shares(c.amount, rule)
        ob.collected += c.amount
        ob.retained += retained
        for to, amount in transfers.items():
            ob.transfers[to] = ob.transfers.get(to, 0) + amount
    return sorted(found.values(), key=oldest_first)


def oldest_first(ob: Obligation) -> tuple[date, date, str]:
    return ob.due_on, ob.key.period_start, ob.key.fee_code


def allocate(
    amount: int,
    owed: Iterable[Obligation],
    remitted: Mapping[Key, int],
    fee_codes: Iterable[str] | None = None,
) -> tuple[list[tuple[Key, int]], int]:
    """Which obligations a remittance of ``amount`` settles, oldest due first (only ``fee_codes``
    when given), given what earlier remittances settled: ``([(key, amount)], unallocated)``."""
    wanted = set(fee_codes) if fee_codes else None
    left = amount
    settled: list[tuple[Key, int]] = []
    for ob in sorted(owed, key=oldest_first):
        if left <= 0:
            break
        if wanted is not None and ob.key.fee_code not in wanted:
            continue
        outstanding = ob.owed - remitted.get(ob.key, 0)
        if outstanding <= 0:
            continue
        take = min(left, outstanding)
        settled.append((ob.key, take))
        left -= take
    return settled, left
