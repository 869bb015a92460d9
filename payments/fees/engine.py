"""The fee engine: what a citizen pays for each fee item, pure and deterministic.

A reduction policy applies to some fee codes, channels, optional payer categories and a date
window (both ends inclusive). Policies never stack: the lowest payable amount wins, ties go to the
smallest id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from payments.money import round_half_up


@dataclass(frozen=True, slots=True)
class FeeSpec:
    code: str
    name: str
    kind: str
    amount: int
    legal_basis: str = ""


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

    def applies(self, fee_code: str, channel: str, category: str | None, on: date) -> bool:
        if fee_code not in self.fees or channel not in self.channels:
            return False
        if self.payer_categories and category not in self.payer_categories:
            return False
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_to is None or on <= self.valid_to

    def unit_payable(self, normal: int) -> int:
        if self.kind == "exempt":
            return 0
        if self.kind == "fixed":
            return int(self.value)
        # rate_percent: exact rational arithmetic, then half-up to whole đồng
        return round_half_up(Fraction(normal) * Fraction(self.value) / 100)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    fee_code: str
    name: str
    kind: str
    quantity: int
    unit_normal_amount: int
    unit_amount: int
    policy_id: str | None
    reduction_legal_basis: str | None
    legal_basis: str

    @property
    def normal_amount(self) -> int:
        return self.unit_normal_amount * self.quantity

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def reduction_amount(self) -> int:
        return self.normal_amount - self.amount


def price_line(
    fee: FeeSpec,
    quantity: int,
    channel: str,
    category: str | None,
    on: date,
    policies: Iterable[PolicySpec],
) -> QuoteLine:
    """Price one fee item: the best applicable reduction, if it lowers the amount at all."""
    best: tuple[int, str, PolicySpec] | None = None
    for policy in policies:
        if not policy.applies(fee.code, channel, category, on):
            continue
        candidate = (policy.unit_payable(fee.amount), policy.id, policy)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None or best[0] >= fee.amount:
        return QuoteLine(
            fee.code,
            fee.name,
            fee.kind,
            quantity,
            fee.amount,
            fee.amount,
            None,
            None,
            fee.legal_basis,
        )
    unit, _, policy = best
    return QuoteLine(
        fee.code,
        fee.name,
        fee.kind,
        quantity,
        fee.amount,
        unit,
        policy.id,
        policy.legal_basis,
        fee.legal_basis,
    )


def price_procedure(
    fees: Iterable[FeeSpec],
    quantities: dict[str, int] | None,
    channel: str,
    category: str | None,
    on: date,
    policies: Iterable[PolicySpec],
) -> list[QuoteLine]:
    """Price a procedure's fees: each once, or only those in ``quantities`` (code → count)."""
    pool = list(policies)
    if quantities is None:
        return [price_line(fee, 1, channel, category, on, pool) for fee in fees]
    return [
        price_line(fee, quantities[fee.code], channel, category, on, pool)
        for fee in fees
        if quantities.get(fee.code, 0) > 0
    ]
