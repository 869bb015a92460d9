"""The generic statement CSV of DESIGN §4.4.

Header ``booking_date,value_date,amount,description,bank_reference,counterparty_name,
counterparty_account,balance`` (columns in any order, extra columns ignored); ISO dates; ``amount``
and ``balance`` signed integers of đồng.

A million lines must parse in seconds, so a well-formed file takes a column-wise fast path: each
column is converted with ``map`` and checked by reading it back, which keeps the per-line work
in C. Anything the fast path does not accept (padded cells, a bad
value) sends the file through the row-by-row parser, which is the reference behaviour and words
the error with its line number.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from hashlib import sha256
from itertools import compress
from operator import methodcaller, not_

from .base import (
    Fingerprinter,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    make_lines,
    normalise_description,
    period_of,
)

FORMAT = "csv"
COLUMNS = (
    "booking_date",
    "value_date",
    "amount",
    "description",
    "bank_reference",
    "counterparty_name",
    "counterparty_account",
    "balance",
)

Row = list[str]
_HEXDIGEST = methodcaller("hexdigest")


class _NotFast(Exception):
    """The file needs the row-by-row parser."""


def looks_like_generic_csv(text: str) -> bool:
    first_line = text.removeprefix("\ufeff").split("\n", 1)[0]
    names = {name.strip().strip('"').casefold() for name in first_line.split(",")}
    return names.issuperset(COLUMNS)


def parse_generic_csv(text: str) -> ParsedStatement:
    """Parse the generic CSV; raises :class:`StatementFormatError` naming the failing line."""
    body = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(body, newline=""))
    header = next(reader, None)
    if header is None:
        raise StatementFormatError("the file is empty", 1)
    names = [name.strip().casefold() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise StatementFormatError(f"missing column(s): {', '.join(missing)}", 1)
    order = [names.index(column) for column in COLUMNS]
    with _gc_paused():
        rows, line_nos = _rows(reader, body)
        try:
            lines = _parse_columns(rows, line_nos, order, len(names))
        except _NotFast:
            lines = _parse_rows(rows, line_nos, order, len(names))
        del rows  # freed here, not looked at by the collector when it resumes
    start, end = period_of(lines)
    return ParsedStatement(FORMAT, None, "VND", None, None, start, end, lines)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # A million new objects trigger hundreds of cyclic-GC passes over a heap that only grows;
    # none of it can be garbage until the parse ends. (Process-wide, so it is kept this short.)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rows(reader: Iterator[Row], body: str) -> tuple[list[Row], Sequence[int]]:
    """The data rows and the physical line each ends on."""
    rows = list(reader)
    lines_in_body = body.count("\n") + (not body.endswith("\n"))
    if lines_in_body == len(rows) + 1 and "\r" not in body.replace("\r\n", ""):
        return rows, range(2, len(rows) + 2)  # one row per line: no quoted line breaks
    reader = csv.reader(io.StringIO(body, newline=""))
    next(reader)
    rows, line_nos = [], []
    for row in reader:
        rows.append(row)
        line_nos.append(reader.line_num)
    return rows, line_nos


def _parse_columns(
    rows: list[Row], line_nos: Sequence[int], order: list[int], width: int
) -> list[ParsedLine]:
    if not rows:
        return []
    if not all(map(width.__eq__, map(len, rows))):
        raise _NotFast
    columns = list(zip(*rows, strict=True))
    booking_t, value_t, amount_t, desc_t, ref_t, name_t, acct_t, balance_t = (
        columns[i] for i in order
    )
    try:
        # a day's file holds a handful of distinct dates: each read once, shared by its lines
        booking_of, value_of = _dates(booking_t), _dates(value_t)
        amounts = list(map(int, amount_t))
        balances = [int(b) if b else None for b in balance_t]
    except ValueError:
        raise _NotFast from None
    # int() is lenient (" 5", "1_000", "+5", non-ASCII digits); a value is on the fast path
    # only if it reads back as written.
    if (
        None in booking_of.values()
        or tuple(map(str, amounts)) != amount_t
        or tuple("" if b is None else str(b) for b in balances) != balance_t
    ):
        raise _NotFast
    bookings = list(map(booking_of.__getitem__, booking_t))
    values = list(map(value_of.__getitem__, value_t))
    descriptions = list(map(str.strip, desc_t))
    refs = [r or None for r in map(str.strip, ref_t)]
    names = [n or None for n in map(str.strip, name_t)]
    accounts = [a or None for a in map(str.strip, acct_t)]
    fingerprints = _fingerprints(booking_t, amounts, refs, descriptions, balances)
    return make_lines(
        line_nos,
        bookings,
        values,
        amounts,
        descriptions,
        refs,
        names,
        accounts,
        balances,
        fingerprints,
    )


def _dates(texts: Sequence[str]) -> dict[str, date | None]:
    """Each distinct ISO date of a column, read once (``""`` is no date); raises ValueError.

    date.fromisoformat is lenient ("20261102", "2026-W45-1"): a date is on the fast path only
    if it reads back as written."""
    out: dict[str, date | None] = {}
    for text in set(texts):
        day = date.fromisoformat(text) if text else None
        if day is not None and day.isoformat() != text:
            raise ValueError(text)
        out[text] = day
    return out


def _fingerprints(
    isodates: tuple[str, ...],
    amounts: list[int],
    refs: list[str | None],
    descriptions: list[str],
    balances: list[int | None],
) -> list[str]:
    """The :class:`~.base.Fingerprinter` result, computed column-wise."""
    keys = list(map("ref|{}|{}|{}|0".format, isodates, amounts, refs))
    for i in compress(range(len(refs)), map(not_, refs)):
        desc = normalise_description(descriptions[i])
        keys[i] = f"txt|{isodates[i]}|{amounts[i]}|{desc}|{balances[i]}|0"
    if len(set(keys)) != len(keys):  # repeated keys: number each repeat (see .base)
        seen: dict[str, int] = {}
        for i, key in enumerate(keys):
            base = key[:-2]
            n = seen.get(base, 0)
            seen[base] = n + 1
            keys[i] = f"{base}|{n}"
    return list(map(_HEXDIGEST, map(sha256, map(str.encode, keys))))


def _date(text: str, column: str, line_no: int) -> date:
    text = text.strip()
    # date.fromisoformat also takes "20240101" and week dates: insist on YYYY-MM-DD.
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise StatementFormatError(f"{column} {text!r} is not a date (YYYY-MM-DD)", line_no)


def _int(text: str, column: str, line_no: int) -> int:
    text = text.strip()
    # int() also accepts "1_000" and non-ASCII digits; an amount in a bank file has neither.
    if text.isascii() and "_" not in text:
        try:
            return int(text)
        except ValueError:
            pass
    raise StatementFormatError(f"{column} {text!r} is not a whole number of đồng", line_no)


def _parse_rows(
    rows: list[Row], line_nos: Sequence[int], order: list[int], width: int
) -> list[ParsedLine]:
    ib, iv, ia, idesc, iref, iname, iacct, ibal = order
    fingerprint = Fingerprinter()
    lines: list[ParsedLine] = []
    for row, line_no in zip(rows, line_nos, strict=True):
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            raise StatementFormatError(f"expected {width} fields, found {len(row)}", line_no)
        booking = _date(row[ib], "booking_date", line_no)
        value = _date(row[iv], "value_date", line_no) if row[iv].strip() else None
        amount = _int(row[ia], "amount", line_no)
        balance = _int(row[ibal], "balance", line_no) if row[ibal].strip() else None
        description = row[idesc].strip()
        reference = row[iref].strip() or None
        lines.append(
            ParsedLine(
                line_no,
                booking,
                value,
                amount,
                description,
                reference,
                row[iname].strip() or None,
                row[iacct].strip() or None,
                balance,
                fingerprint(booking, amount, reference, description, balance),
            )
        )
    return lines
