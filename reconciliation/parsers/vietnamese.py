"""Statement exports of Vietnamese banks (Vietcombank, VietinBank, BIDV), as CSV or .xlsx.

A bank is recognised by its column headers, wherever the header row sits: exports usually open
with a block of title rows (account number, account name, period, opening balance), which is
read for the account number and the opening/closing balance. Header labels are matched exactly
after Unicode normalisation and case folding, accents included ("Nợ" is not "Nộ"); a label
written without any diacritics ("Ngay giao dich", as some exports do) matches too. Bilingual
labels ("Ngày giao dịch / Transaction Date", "Nợ\\nDebit", "Có (Credit)") match on either part.

Rows below the header: dd/mm/yyyy dates (optionally with a time), or real dates in .xlsx; an
empty date cell repeats the date above; debit becomes a negative amount, credit a positive one;
thousand separators are read by pattern ("1.500.000", "1,500,000", "1.500.000,00"), and a
fractional đồng amount is rejected. Rows without a date that carry a total marker ("Tổng cộng",
"Cộng phát sinh", "Total") or no amount at all (signatures, notes, wrapped description text) are
skipped; a row with amounts that cannot be read rejects the file, naming the row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .base import (
    Fingerprinter,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    decode_text,
    period_of,
)

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class BankLayout:
    """A bank's export: its format name and the header label of each column we read."""

    format: str
    labels: dict[str, str]  # role → Vietnamese label, lower case


VIETCOMBANK = BankLayout(
    "vietcombank",
    {
        "date": "ngày giao dịch",
        "reference": "số tham chiếu",
        "debit": "số tiền ghi nợ",
        "credit": "số tiền ghi có",
        "description": "mô tả",
    },
)
VIETINBANK = BankLayout(
    "vietinbank",
    {
        "date": "ngày hạch toán",
        "value_date": "ngày phát sinh",
        "description": "mô tả giao dịch",
        "debit": "nợ",
        "credit": "có",
        "balance": "số dư",
        "reference": "số giao dịch",
    },
)
BIDV = BankLayout(
    "bidv",
    {
        "date": "ngày hiệu lực",
        "debit": "ghi nợ",
        "credit": "ghi có",
        "balance": "số dư",
        "description": "mô tả",
    },
)
# Most columns first, so a header that satisfies two layouts picks the more specific one.
LAYOUTS = tuple(sorted((VIETINBANK, VIETCOMBANK, BIDV), key=lambda b: -len(b.labels)))
BY_FORMAT = {layout.format: layout for layout in LAYOUTS}

# Title/footer block labels, accent-stripped; the value follows ":" or sits in a later cell.
_BLOCK_KEYS = {
    "account": ("so tai khoan", "account number", "account no", "so tk"),
    "opening": ("so du dau ky", "so du dau", "opening balance", "beginning balance"),
    "closing": ("so du cuoi ky", "so du cuoi", "closing balance", "ending balance"),
}
_TOTAL_MARKERS = ("tong cong", "cong phat sinh", "total", "tong phat sinh", "cong:")
_TOTAL_WORDS = {"tong cong", "cong phat sinh", "total", "tong phat sinh", "cong", "tong"}
_LABEL_SPLIT = re.compile(r"[/\n\r()]")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?")
_YMD = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?")
_AMOUNT = re.compile(
    r"(?P<sign>[-+]?)(?P<int>\d{1,3}(?P<sep>[.,])\d{3}(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d+))?",
    re.ASCII,
)
_CURRENCY_SUFFIX = re.compile(r"\s*(?:vnd|vnđ|đ|₫|d)$", re.IGNORECASE)

Cell = object
Row = tuple[int, Sequence[Cell]]  # (1-based line or spreadsheet row, cells)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell).strip()


def _label_parts(cell: Cell) -> list[str]:
    """The normalised parts of a (possibly bilingual) header cell."""
    text = unicodedata.normalize("NFC", _text(cell)).casefold()
    parts = (" ".join(part.strip(" :*.\t").split()) for part in _LABEL_SPLIT.split(text))
    return [part for part in parts if part]


def _label_matches(parts: list[str], label: str) -> bool:
    return any(part == label or (part.isascii() and part == strip_accents(label)) for part in parts)


def match_header(
    cells: Sequence[Cell], layouts: Iterable[BankLayout] = LAYOUTS
) -> tuple[BankLayout, dict[str, int]] | None:
    """The layout whose labels all appear in ``cells``, with each role's column index."""
    parts = [_label_parts(cell) for cell in cells]
    for layout in layouts:
        columns: dict[str, int] = {}
        for role, label in layout.labels.items():
            index = next((i for i, p in enumerate(parts) if _label_matches(p, label)), None)
            if index is None:
                break
            columns[role] = index
        else:
            return layout, columns
    return None


def find_header(
    rows: Sequence[Row], layouts: Iterable[BankLayout] = LAYOUTS
) -> tuple[int, BankLayout, dict[str, int]] | None:
    """Position in ``rows`` of the header row, its layout and column indexes."""
    layouts = tuple(layouts)
    for position, (_, cells) in enumerate(rows):
        if sum(1 for cell in cells if _text(cell)) < 3:
            continue  # title rows hold one or two cells
        found = match_header(cells, layouts)
        if found:
            return position, *found
    return None


def parse_date(cell: Cell) -> date | None:
    """A cell as a date, or None when it does not hold one."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if not isinstance(cell, str):
        return None
    text = cell.strip()
    if match := _DMY.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _YMD.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_amount(cell: Cell, line_no: int) -> int | None:
    """A cell as whole đồng; None when empty. Thousand separators are told apart by pattern."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise StatementFormatError(f"amount {cell!r} is not a number", line_no)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float | Decimal):
        if cell != int(cell):
            raise StatementFormatError(f"amount {cell} is not a whole number of đồng", line_no)
        return int(cell)
    text = _CURRENCY_SUFFIX.sub("", str(cell).replace("\xa0", "").replace(" ", ""))
    if not text:
        return None
    match = _AMOUNT.fullmatch(text)
    if not match or (match["dec"] and match["dec"] == match["sep"]):
        raise StatementFormatError(f"amount {text!r} is not a number", line_no)
    if match["frac"] and int(match["frac"]):
        raise StatementFormatError(f"amount {text!r} is not a whole number of đồng", line_no)
    value = int(match["int"].replace(".", "").replace(",", ""))
    return -value if match["sign"] == "-" else value


def _block_value(cells: Sequence[Cell], skip: int | None = None) -> tuple[str, Cell] | None:
    """``(key, value)`` when the row is a labelled title/footer row (keys: ``_BLOCK_KEYS``)."""
    for index, cell in enumerate(cells):
        if index == skip or not isinstance(cell, str) or not cell.strip():
            continue
        label, _, rest = cell.partition(":")
        plain = [strip_accents(part) for part in _label_parts(label)]
        for key, prefixes in _BLOCK_KEYS.items():
            if any(part.startswith(prefixes) for part in plain):
                if rest.strip():
                    return key, rest.strip()
                value = next((c for c in cells[index + 1 :] if _text(c)), None)
                return (key, value) if value is not None else None
    return None


def _is_total(cells: Sequence[Cell], description: int | None = None) -> bool:
    """A total row: a marker opens a cell, or is the whole description cell.

    A description merely starting with "Total" ("TOTAL FEE TP26...") is a transfer memo.
    """
    for index, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip():
            plain = strip_accents(" ".join(cell.split())).casefold().rstrip(" :")
            parts = [part.strip() for part in _LABEL_SPLIT.split(plain)]
            if index == description:
                if any(part in _TOTAL_WORDS for part in parts):
                    return True
            elif plain.startswith(_TOTAL_MARKERS) or plain == "cong":
                return True
    return False


class _Block:
    """What the title and footer rows say about the statement."""

    def __init__(self) -> None:
        self.account: str | None = None
        self.opening: int | None = None
        self.closing: int | None = None

    def read(self, cells: Sequence[Cell], line_no: int, skip: int | None = None) -> bool:
        found = _block_value(cells, skip)
        if found is None:
            return False
        key, value = found
        if key == "account":
            number = str(int(value)) if isinstance(value, int | float) else _text(value)
            self.account = number.split()[0] if number else None
        elif key == "opening":
            self.opening = parse_amount(value, line_no)
        else:
            self.closing = parse_amount(value, line_no)
        return True


def parse_rows(rows: Sequence[Row], fmt: str | None = None) -> ParsedStatement:
    """Parse a bank export already split into rows (from CSV or a worksheet)."""
    layouts = (BY_FORMAT[fmt],) if fmt else LAYOUTS
    found = find_header(rows, layouts)
    if found is None:
        expected = f"the {fmt} column headers" if fmt else "a known bank's column headers"
        raise StatementFormatError(f"unrecognised statement format: no row has {expected}")
    position, layout, columns = found
    block = _Block()
    for line_no, cells in rows[:position]:
        block.read(cells, line_no)
    lines = _parse_body(rows[position + 1 :], columns, block)
    start, end = period_of(lines)
    return ParsedStatement(
        layout.format, block.account, "VND", block.opening, block.closing, start, end, lines
    )


def _cell(cells: Sequence[Cell], index: int | None) -> Cell:
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _parse_body(rows: Sequence[Row], columns: dict[str, int], block: _Block) -> list[ParsedLine]:
    fingerprint = Fingerprinter()
    lines: list[ParsedLine] = []
    previous_date: date | None = None
    previous_value: date | None = None
    for line_no, cells in rows:
        if not any(_text(cell) for cell in cells):
            continue
        date_cell = _cell(cells, columns["date"])
        booking = parse_date(date_cell)
        debit = _cell(cells, columns["debit"])
        credit = _cell(cells, columns["credit"])
        has_amount = _holds_number(debit) or _holds_number(credit)
        described = columns.get("description")
        if (booking is None or not has_amount) and (
            block.read(cells, line_no, skip=described) or _is_total(cells, described)
        ):
            continue  # a labelled balance row or a total row
        if booking is None:
            if not has_amount:
                continue  # a note, a signature or wrapped description text
            if _text(date_cell):
                raise StatementFormatError(
                    f"{_text(date_cell)!r} is not a date (dd/mm/yyyy)", line_no
                )
            if previous_date is None:
                raise StatementFormatError("the first transaction has no date", line_no)
            booking = previous_date  # an empty date cell repeats the one above
        elif not has_amount:
            raise StatementFormatError("the row has neither a debit nor a credit amount", line_no)
        amount = _amount(debit, credit, line_no)
        value_cell = _cell(cells, columns.get("value_date"))
        value = parse_date(value_cell)
        if value is None and _text(value_cell):
            raise StatementFormatError(f"{_text(value_cell)!r} is not a date (dd/mm/yyyy)", line_no)
        value = value or (previous_value if "value_date" in columns else None)
        balance = parse_amount(_cell(cells, columns.get("balance")), line_no)
        description = " ".join(_text(_cell(cells, columns.get("description"))).split())
        reference = _reference(_cell(cells, columns.get("reference")))
        lines.append(
            ParsedLine(
                line_no,
                booking,
                value,
                amount,
                description,
                reference,
                None,
                None,
                balance,
                fingerprint(booking, amount, reference, description, balance),
            )
        )
        previous_date, previous_value = booking, value
    return lines


def _holds_number(cell: Cell) -> bool:
    # Signature blocks put names under the amount columns; an amount has digits.
    return isinstance(cell, int | float | Decimal) or any(ch.isdigit() for ch in _text(cell))


def _amount(debit: Cell, credit: Cell, line_no: int) -> int:
    out = parse_amount(debit, line_no) or 0
    into = parse_amount(credit, line_no) or 0
    if out and into:
        raise StatementFormatError("the row has both a debit and a credit amount", line_no)
    if not out and not into:
        raise StatementFormatError("the row has neither a debit nor a credit amount", line_no)
    # Some exports print debits as negative numbers in the debit column.
    return into if into else -abs(out)


def _reference(cell: Cell) -> str | None:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return _text(cell) or None


# --- reading the two containers ---------------------------------------------------------------


def csv_rows(text: str, fmt: str | None = None) -> list[Row]:
    """The CSV's rows with their line numbers, in whichever of , ; or tab finds a header."""
    for delimiter in (",", ";", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows: list[Row] = []
        try:
            for row in reader:
                rows.append((reader.line_num, row))
        except csv.Error as exc:
            raise StatementFormatError(f"unreadable CSV: {exc}", reader.line_num) from None
        if find_header(rows, (BY_FORMAT[fmt],) if fmt else LAYOUTS):
            return rows
    return rows


def xlsx_rows(data: bytes) -> list[Row]:
    """The first worksheet's rows as values, numbered as Excel numbers them."""
    import openpyxl

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
            return [
                (number, row)
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
        finally:
            workbook.close()


def parse_vietnamese(data: bytes, fmt: str | None = None) -> ParsedStatement:
    """A Vietcombank/VietinBank/BIDV export, CSV or .xlsx; ``fmt`` pins the bank."""
    rows = xlsx_rows(data) if data.startswith(XLSX_MAGIC) else csv_rows(decode_text(data), fmt)
    return parse_rows(rows, fmt)
