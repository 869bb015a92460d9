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

import operator
from dataclasses import replace
from itertools import accumulate
from typing import cast

from .base import ParsedStatement


def _chains(amounts: list[int], balances: list[int]) -> bool:
    """Each balance is the one before plus its line's amount (C-level loops: a million lines)."""
    expected = accumulate(amounts[1:], initial=balances[0])
    return all(map(operator.eq, expected, balances))


def _running_order(amounts: list[int], balances: list[int]) -> str | None:
    """``"forward"`` or ``"reverse"`` (newest first) when the running balances chain."""
    if _chains(amounts, balances):
        return "forward"
    if _chains(amounts[::-1], balances[::-1]):
        return "reverse"
    return None


def _first_break(amounts: list[int], balances: list[int]) -> int:
    for i in range(1, len(balances)):
        if balances[i] != balances[i - 1] + amounts[i]:
            return i
    return len(balances) - 1


def with_balance_check(statement: ParsedStatement) -> ParsedStatement:
    lines = statement.lines
    warnings = list(statement.warnings)
    opening, closing = statement.opening_balance, statement.closing_balance
    running = [line.balance for line in lines]
    if lines and None not in running:
        amounts = [line.amount for line in lines]
        balances = cast(list[int], running)
        order = _running_order(amounts, balances)
        if order is None:
            bad = lines[_first_break(amounts, balances)]
            warnings.append(
                f"line {bad.line_no}: the running balance {bad.balance:,} is not the previous "
                f"balance plus the line's amount {bad.amount:,}: the file does not add up"
            )
        elif opening is None and closing is None:
            first, last = (0, -1) if order == "forward" else (-1, 0)
            opening = balances[first] - amounts[first]
            closing = balances[last]
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
