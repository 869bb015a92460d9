"""The balance check every format with balances gets: do the file's own lines add up?

Two checks, each a warning on the statement, never a refusal (the bank's file is what it is; an
officer must see that the difference is in the file, not in thuphi's payments):

* Σ lines = closing − opening, when the file states both balances;
* each line's running balance = the previous one + its amount, in file order or (exports that
  list the newest first) in reverse order.

A format without opening/closing rows but with a running balance (the generic CSV) gets them from
that column: opening = the first line's balance − its amount, closing = the last line's balance.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from .base import ParsedLine, ParsedStatement


def _running_order(lines: list[ParsedLine]) -> str | None:
    """``"forward"`` or ``"reverse"`` when the running balances chain, else None."""
    pairs = list(pairwise(lines))
    if all(b.balance == a.balance + b.amount for a, b in pairs):  # type: ignore[operator]
        return "forward"
    if all(a.balance == b.balance + a.amount for a, b in pairs):  # type: ignore[operator]
        return "reverse"
    return None


def _first_break(lines: list[ParsedLine]) -> ParsedLine:
    for a, b in pairwise(lines):
        if b.balance != a.balance + b.amount:  # type: ignore[operator]
            return b
    return lines[-1]


def with_balance_check(statement: ParsedStatement) -> ParsedStatement:
    lines = statement.lines
    warnings = list(statement.warnings)
    opening, closing = statement.opening_balance, statement.closing_balance
    if lines and all(line.balance is not None for line in lines):
        order = _running_order(lines)
        if order is None:
            bad = _first_break(lines)
            warnings.append(
                f"line {bad.line_no}: the running balance {bad.balance:,} is not the previous "
                f"balance plus the line's amount {bad.amount:,}: the file does not add up"
            )
        elif opening is None and closing is None:
            first, last = (lines[0], lines[-1]) if order == "forward" else (lines[-1], lines[0])
            opening = first.balance - first.amount  # type: ignore[operator]
            closing = last.balance
    if opening is not None and closing is not None:
        net = sum(line.amount for line in lines)
        if net != closing - opening:
            warnings.append(
                f"the file's lines add up to {net:,} but its balances move by "
                f"{closing - opening:,} (opening {opening:,}, closing {closing:,}): "
                "the file does not add up"
            )
    return replace(
        statement, opening_balance=opening, closing_balance=closing, warnings=tuple(warnings)
    )
