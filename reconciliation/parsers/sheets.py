"""The containers a bank export comes in: CSV text, .xlsx (Office Open XML) and legacy .xls.

Resource limits are checked while reading, never after: a workbook whose entries would
decompress to more than ``MAX_UNCOMPRESSED`` bytes is refused before a single byte is inflated
(the zip directory declares each entry's size, and :mod:`zipfile` never inflates an entry past
its declared size), a sheet with more than ``MAX_ROWS`` rows or a row wider than ``MAX_COLUMNS``
is refused at that row, and a parse that runs past ``PARSE_SECONDS`` of wall-clock time is
refused where it is. All three raise :class:`~.base.StatementTooLarge` (HTTP 413).
"""

from __future__ import annotations

import csv
import io
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime

from .base import StatementFormatError, StatementTooLarge
from .vietnamese import BY_FORMAT, LAYOUTS, Row, find_header

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound document (BIFF .xls)
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # every entry of an .xlsx, inflated
MAX_ROWS = 200_000  # rows of a worksheet (a year of a busy account fits)
MAX_COLUMNS = 256  # cells of one row (exports use a dozen)
PARSE_SECONDS = 30.0  # wall-clock budget of one spreadsheet parse


class Budget:
    """Wall-clock budget of one parse; :meth:`check` raises once it is spent."""

    __slots__ = ("deadline",)

    def __init__(self, seconds: float | None = None) -> None:
        self.deadline = time.monotonic() + (PARSE_SECONDS if seconds is None else seconds)

    def check(self, row: int) -> None:
        if time.monotonic() > self.deadline:
            raise StatementTooLarge(
                f"the workbook took longer than {PARSE_SECONDS:.0f} s to read; "
                "split the statement or export it as CSV",
                row,
            )


def _bounded(rows: Iterator[Sequence[object]], budget: Budget) -> list[Row]:
    out: list[Row] = []
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS:
            raise StatementTooLarge(f"the sheet has more than {MAX_ROWS:,} rows", number)
        if len(row) > MAX_COLUMNS:
            if any(cell not in (None, "") for cell in row[MAX_COLUMNS:]):
                raise StatementTooLarge(f"a row has more than {MAX_COLUMNS} columns", number)
            row = tuple(row[:MAX_COLUMNS])  # formatting far to the right, no values
        if number % 1000 == 0:
            budget.check(number)
        out.append((number, row))
    return out


def csv_rows(text: str, fmt: str | None = None) -> list[Row]:
    """The CSV's rows with their line numbers, in whichever of , ; or tab finds a header."""
    rows: list[Row] = []
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        try:
            for row in reader:
                rows.append((reader.line_num, row))
        except csv.Error as exc:
            raise StatementFormatError(f"unreadable CSV: {exc}", reader.line_num + 1) from None
        if find_header(rows, (BY_FORMAT[fmt],) if fmt else LAYOUTS):
            return rows
    return rows


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise StatementFormatError(f"unreadable .xlsx workbook: {exc}") from None
    if declared > MAX_UNCOMPRESSED:
        raise StatementTooLarge(
            f"the workbook would inflate to {declared / 2**20:,.0f} MiB, more than "
            f"{MAX_UNCOMPRESSED / 2**20:.0f} MiB; export the statement as CSV"
        )


def xlsx_rows(data: bytes, budget: Budget | None = None) -> list[Row]:
    """The first worksheet's rows as values, numbered as Excel numbers them."""
    import openpyxl

    _check_zip(data)
    budget = budget or Budget()
    with warnings.catch_warnings():
        # openpyxl warns about workbook features it drops (styles, data validation); only the
        # cell values matter here, and pytest turns warnings into errors.
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise StatementFormatError(f"unreadable .xlsx workbook: {exc}") from None
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # exporters often write a wrong <dimension>
            return _bounded(sheet.iter_rows(values_only=True), budget)
        except StatementFormatError:
            raise
        except (KeyError, ValueError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
            # SyntaxError: the XML parser's ParseError (a worksheet that is not well-formed)
            raise StatementFormatError(f"unreadable .xlsx worksheet: {exc}") from None
        finally:
            workbook.close()


def xls_rows(data: bytes, budget: Budget | None = None) -> list[Row]:
    """The first worksheet of a legacy .xls (BIFF8) workbook, through xlrd.

    xlrd 2 reads only .xls (which is what is wanted here); dates become datetimes through the
    workbook's date mode, whole numbers stay numbers. An .xls is not compressed, so its size is
    bounded by the upload's; the row and column ceilings still apply.
    """
    import xlrd

    budget = budget or Budget()
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except (xlrd.XLRDError, xlrd.compdoc.CompDocError, ValueError, IndexError, KeyError) as exc:
        raise StatementFormatError(f"unreadable .xls workbook: {exc}") from None
    try:
        sheet = book.sheet_by_index(0)
        if sheet.nrows > MAX_ROWS:
            raise StatementTooLarge(f"the sheet has more than {MAX_ROWS:,} rows", MAX_ROWS + 1)
        if sheet.ncols > MAX_COLUMNS:
            raise StatementTooLarge(f"a row has more than {MAX_COLUMNS} columns")

        def values() -> Iterator[Sequence[object]]:
            for r in range(sheet.nrows):
                yield [_xls_value(cell, book.datemode) for cell in sheet.row(r)]

        return _bounded(values(), budget)
    finally:
        book.release_resources()


def _xls_value(cell: object, datemode: int) -> object:
    import xlrd

    kind = getattr(cell, "ctype", None)
    value = getattr(cell, "value", None)
    if kind == xlrd.XL_CELL_DATE and isinstance(value, float):
        try:
            moment: datetime = xlrd.xldate.xldate_as_datetime(value, datemode)
            return moment
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_NUMBER and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def spreadsheet_rows(data: bytes, fmt: str | None = None) -> list[Row]:
    """The rows of an export, whichever container it came in (.xlsx, .xls or CSV text)."""
    from .base import decode_text

    if data.startswith(XLSX_MAGIC):
        return xlsx_rows(data)
    if data.startswith(XLS_MAGIC):
        return xls_rows(data)
    return csv_rows(decode_text(data), fmt)
