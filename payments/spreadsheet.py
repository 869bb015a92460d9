"""Cells of exported CSV and workbooks: text a spreadsheet would run as a formula stays text."""

from __future__ import annotations

from typing import Any

# OWASP CSV injection: a cell starting with one of these is read as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell a spreadsheet shows as typed: text that looks like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
