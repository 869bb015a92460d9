"""Money as whole Vietnamese đồng.

VND has no minor unit, so an amount is an ``int``; never a float, never a Decimal.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Self

CURRENCY = "VND"
ISO_NUMERIC = "704"


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of đồng. ``Money(150_000) + Money(5_000) == Money(155_000)``."""

    amount: int

    def __post_init__(self) -> None:
        # bool is an int subclass; True đồng is always a bug
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"Money needs an int of đồng, got {type(self.amount).__name__}")

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - other.amount)

    def __mul__(self, quantity: int) -> Money:
        return Money(self.amount * quantity)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def __bool__(self) -> bool:
        return self.amount != 0

    def __int__(self) -> int:
        return self.amount

    @classmethod
    def zero(cls) -> Self:
        return cls(0)

    @classmethod
    def sum(cls, amounts: list[Money] | tuple[Money, ...]) -> Money:
        return Money(sum(m.amount for m in amounts))

    def percent(self, rate_percent: int | float | str) -> Money:
        """``rate_percent`` % of this amount, rounded half-up to whole đồng (exact arithmetic)."""
        from fractions import Fraction

        exact = Fraction(self.amount) * Fraction(str(rate_percent)) / 100
        return Money(round_half_up(exact))

    def format(self) -> str:
        """``115000`` → ``115.000 đ`` (see ``vnd``)."""
        return vnd(self.amount)

    def __str__(self) -> str:
        return self.format()


def vnd(amount: int) -> str:
    """The one money format of every page, export label and command: ``1234567`` →
    ``1.234.567 đ`` (dots group thousands in Vietnamese; "đ" as on receipts and price tags)."""
    return f"{amount:,}".replace(",", ".") + " đ"


def round_half_up(value: object) -> int:
    """Half-up rounding (away from zero at .5) of a Fraction, int or numeric string."""
    from fractions import Fraction

    exact = Fraction(str(value)) if not isinstance(value, Fraction) else value
    sign = -1 if exact < 0 else 1
    magnitude = abs(exact)
    whole = magnitude.numerator // magnitude.denominator
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return sign * whole


# The columns holding amounts are BIGINT; nothing larger may reach them.
BIGINT_MAX = 2**63 - 1
# THUPHI_MAX_AMOUNT's default: the largest amount accepted anywhere money enters (DESIGN §4.5).
# At this ceiling a sum overflows BIGINT only after 9.2 million such payments, so no rollup of a
# day (or of a request) can reach it.
DEFAULT_MAX_AMOUNT = 10**12


# the configured ceiling where a schema cannot be handed it (set per request by the app factory)
CEILING: ContextVar[int] = ContextVar("thuphi_max_amount", default=DEFAULT_MAX_AMOUNT)


def amount_error(value: object, ceiling: int | None = None, *, zero: bool = False) -> str:
    """Why ``value`` is not an acceptable amount of đồng ('' when it is): an int (never a bool),
    positive (or zero when ``zero``), at most ``ceiling`` (default: the configured one) and never
    past BIGINT. The one check for every place money enters."""
    if ceiling is None:
        ceiling = CEILING.get()
    if not isinstance(value, int) or isinstance(value, bool):
        return "not an integer of đồng"
    if value < 0 or (value == 0 and not zero):
        return "not positive" if not zero else "negative"
    limit = min(ceiling, BIGINT_MAX)
    if value > limit:
        return f"above the ceiling of {limit} đồng"
    return ""
