"""The fee engine: what a citizen pays for each fee item, pure and deterministic.

A fee's price schedule is its tiers (or one tier: its amount for each unit) and an optional cap
per line; the schedule prices the line first (DESIGN §4.3: tiers and cap before reductions).

A reduction policy applies to some fee codes, channels, optional payer categories and a date
window (both ends inclusive). It transforms the schedule: ``rate_percent`` scales every tier
amount and the cap (half-up to whole đồng, so a fee without tiers keeps "unit rounded, then
multiplied"), ``fixed`` replaces the first tier's amount (the base charge; extra units keep their
price), ``exempt`` makes the line 0. Policies never stack: the lowest payable line wins, ties go
to the smallest id (NQ 66.22/2026/NQ-CP Điều 5 k2: where several preferential policies apply,
the most favourable one does). A payer may belong to several categories; a policy limited to
some categories applies when any of the payer's is among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from payments.money import round_half_up

PER_UNIT = "unit"  # each unit within the tier pays the amount
PER_TIER = "tier"  # a flat amount once the quantity reaches the tier


@dataclass(frozen=True, slots=True)
class Tier:
    start: int  # the catalog's "from"
    end: int | None  # the catalog's "to"; None = open
    amount: int
    per: str = PER_UNIT

    def units(self, quantity: int) -> int:
        """How many of ``quantity`` units fall in this tier."""
        top = quantity if self.end is None else min(quantity, self.end)
        return max(0, top - self.start + 1)

    def price(self, quantity: int) -> int:
        units = self.units(quantity)
        if self.per == PER_TIER:
            return self.amount if units > 0 else 0
        return self.amount * units


@dataclass(frozen=True, slots=True)
class TierStep:
    """One tier's part of a line, for a quote that explains itself."""

    start: int
    end: int | None
    per: str
    units: int
    unit_amount: int
    amount: int


@dataclass(frozen=True, slots=True)
class Schedule:
    tiers: tuple[Tier, ...]
    cap: int | None = None

    def price(self, quantity: int) -> tuple[int, tuple[TierStep, ...], bool]:
        """The line amount, the tiers that contributed, and whether the cap cut it."""
        steps = tuple(
            TierStep(t.start, t.end, t.per, t.units(quantity), t.amount, t.price(quantity))
            for t in self.tiers
            if t.units(quantity) > 0
        )
        total = sum(s.amount for s in steps)
        if self.cap is not None and total > self.cap:
            return self.cap, steps, True
        return total, steps, False


@dataclass(frozen=True, slots=True)
class FeeSpec:
    code: str
    name: str
    kind: str
    amount: int  # the base: the first tier's amount when there are tiers
    legal_basis: str = ""
    tiers: tuple[Tier, ...] = ()
    cap: int | None = None

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.tiers or (Tier(1, None, self.amount, PER_UNIT),), self.cap)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: str
    fees: frozenset[str]
    channels: frozenset[str]
    payer_categories: frozenset[str] | None
    kind: str
    value: Decimal
    valid_from: date | None
    valid_to: date | None
    legal_basis: str

    def in_force(self, on: date) -> bool:
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_to is None or on <= self.valid_to

    def applies(
        self, fee_code: str, channel: str, categories: str | Iterable[str] | None, on: date
    ) -> bool:
        if fee_code not in self.fees or channel not in self.channels:
            return False
        if self.payer_categories and not self.payer_categories & as_categories(categories):
            return False
        return self.in_force(on)

    def reduce(self, schedule: Schedule) -> Schedule:
        """The schedule this policy makes of the normal one."""
        if self.kind == "exempt":
            return Schedule(tuple(replace(t, amount=0) for t in schedule.tiers), 0)
        if self.kind == "fixed":
            first, *rest = schedule.tiers
            return Schedule((replace(first, amount=int(self.value)), *rest), schedule.cap)
        # rate_percent: exact rational arithmetic, then half-up to whole đồng
        rate = Fraction(self.value) / 100
        tiers = tuple(replace(t, amount=round_half_up(t.amount * rate)) for t in schedule.tiers)
        cap = None if schedule.cap is None else round_half_up(schedule.cap * rate)
        return Schedule(tiers, cap)

    def unit_payable(self, normal: int) -> int:
        """What this policy makes of one unit of a fee without tiers."""
        return self.reduce(Schedule((Tier(1, None, normal),))).tiers[0].amount


def as_categories(categories: str | Iterable[str] | None) -> frozenset[str]:
    if categories is None:
        return frozenset()
    if isinstance(categories, str):
        return frozenset({categories})
    return frozenset(categories)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    fee_code: str
    name: str
    kind: str
    quantity: int
    unit_normal_amount: int  # the base (first tier) amount
    unit_amount: int  # the base amount after the reduction
    policy_id: str | None
    reduction_legal_basis: str | None
    legal_basis: str
    normal_amount: int = -1  # -1: unit × quantity (a line built by hand, without tiers)
    amount: int = -1
    steps: tuple[TierStep, ...] = ()
    cap: int | None = None
    capped: bool = False
    policy: PolicySpec | None = None

    def __post_init__(self) -> None:
        if self.normal_amount < 0:
            object.__setattr__(self, "normal_amount", self.unit_normal_amount * self.quantity)
        if self.amount < 0:
            object.__setattr__(self, "amount", self.unit_amount * self.quantity)

    @property
    def reduction_amount(self) -> int:
        return self.normal_amount - self.amount

    @property
    def arithmetic(self) -> str:
        """The tier arithmetic in words a person checks: ``2 × 2.000 + 8 × 1.000 = 12.000``."""
        parts = [
            f"{s.units} × {dong(s.unit_amount)}" if s.per == PER_UNIT else dong(s.amount)
            for s in self.steps
        ]
        text = f"{' + '.join(parts) or '0'} = {dong(sum(s.amount for s in self.steps))}"
        if self.capped and self.cap is not None:
            text += f", tối đa (cap) {dong(self.cap)}"
        return text


def dong(amount: int) -> str:
    """Vietnamese thousands separators: 12000 → 12.000."""
    return f"{amount:,}".replace(",", ".")


def price_line(
    fee: FeeSpec,
    quantity: int,
    channel: str,
    categories: str | Iterable[str] | None,
    on: date,
    policies: Iterable[PolicySpec],
) -> QuoteLine:
    """Price one fee item: the best applicable reduction, if it lowers the amount at all."""
    normal_schedule = fee.schedule
    normal, steps, capped = normal_schedule.price(quantity)
    best: tuple[int, str, PolicySpec, Schedule] | None = None
    for policy in policies:
        if not policy.applies(fee.code, channel, categories, on):
            continue
        reduced = policy.reduce(normal_schedule)
        candidate = (reduced.price(quantity)[0], policy.id, policy, reduced)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    base = normal_schedule.tiers[0].amount
    line = QuoteLine(
        fee.code, fee.name, fee.kind, quantity, base, base, None, None, fee.legal_basis,
        normal, normal, steps, normal_schedule.cap, capped,
    )  # fmt: skip
    if best is None or best[0] >= normal:
        return line
    amount, _, policy, reduced = best
    return replace(
        line,
        unit_amount=reduced.tiers[0].amount,
        amount=amount,
        policy_id=policy.id,
        reduction_legal_basis=policy.legal_basis,
        policy=policy,
    )


def price_procedure(
    fees: Iterable[FeeSpec],
    quantities: dict[str, int] | None,
    channel: str,
    categories: str | Iterable[str] | None,
    on: date,
    policies: Iterable[PolicySpec],
) -> list[QuoteLine]:
    """Price a procedure's fees: each once, or only those in ``quantities`` (code → count)."""
    pool = list(policies)
    cats = as_categories(categories)
    if quantities is None:
        return [price_line(fee, 1, channel, cats, on, pool) for fee in fees]
    return [
        price_line(fee, quantities[fee.code], channel, cats, on, pool)
        for fee in fees
        if quantities.get(fee.code, 0) > 0
    ]
