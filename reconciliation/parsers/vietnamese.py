"""Statement exports of Vietnamese banks, as CSV, .xlsx or legacy .xls (containers: ``sheets``).

A bank is recognised by its column headers, wherever the header row sits: exports usually open
with a block of title rows (account number, account name, period, opening balance), which is
read for the account number and the opening/closing balance. Header labels are matched with
their diacritics after Unicode normalisation and case folding ("Nợ" is not "Nộ", nor the "No" of
a bilingual "STT / No" row-number column); only a header row written entirely without
diacritics ("NGAY HIEU LUC", as some exports do) is matched without them. Bilingual labels
("Ngày giao dịch / Transaction Date", "Nợ\\nDebit", "Có (Credit)") match on either part. The
layouts (``LAYOUTS``) and where each comes from: ``tests/reconciliation/fixtures/README.md``.

Rows below the header: dd/mm/yyyy dates (optionally with a time), or real dates in a workbook;
an empty date cell repeats the date above; debit becomes a negative amount, credit a positive
one; thousand separators are read by pattern ("1.500.000", "1,500,000", "1.500.000,00"), and a
fractional đồng amount is rejected. A total or subtotal row ("Tổng", "Tổng cộng", "Cộng",
"Cộng phát sinh", "Total", …) is recognised with the word in any column (in the description
column only as the whole cell) and an opening/closing balance row likewise: they are never
lines; the last total is compared with the lines (a difference is a warning). Rows without an
amount (signatures, notes, wrapped description text) are skipped; a row with amounts that cannot
be read rejects the file, naming the row.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .base import Fingerprinter, ParsedLine, ParsedStatement, StatementFormatError, period_of

Cell = object
Row = tuple[int, Sequence[Cell]]  # (1-based line or spreadsheet row, cells)


@dataclass(frozen=True)
class BankLayout:
    """A bank's export: its format name, the accepted header labels of each column we read
    (lower case, with diacritics), and the BIN of the bank that produces it."""

    format: str
    labels: dict[str, tuple[str, ...]]
    bank_bin: str


def _layout(fmt: str, bank_bin: str, **labels: str | tuple[str, ...]) -> BankLayout:
    return BankLayout(
        fmt, {k: (v,) if isinstance(v, str) else v for k, v in labels.items()}, bank_bin
    )


VIETCOMBANK = _layout(
    "vietcombank",
    "970436",
    date="ngày giao dịch",
    reference="số tham chiếu",
    debit="số tiền ghi nợ",
    credit="số tiền ghi có",
    description="mô tả",
)
VIETINBANK = _layout(
    "vietinbank",
    "970415",
    date="ngày hạch toán",
    value_date="ngày phát sinh",
    description="mô tả giao dịch",
    debit="nợ",
    credit="có",
    balance=("số dư", "số dư tk"),  # eFAST: "Số dư TK / Account balance"
    reference="số giao dịch",
)
BIDV = _layout(
    "bidv",
    "970418",
    date="ngày hiệu lực",
    debit="ghi nợ",
    credit="ghi có",
    balance="số dư",
    description="mô tả",
)
TECHCOMBANK = _layout(
    "techcombank",
    "970407",
    date="ngày giao dịch",
    counterparty="đối tác",
    description="diễn giải",
    reference="số bút toán",
    debit="nợ",
    credit="có",
    balance="số dư",
)
MB = _layout(
    "mb",
    "970422",
    date="ngày giao dịch",
    reference="mã giao dịch",
    debit="phát sinh nợ",
    credit="phát sinh có",
    balance="số dư",
    description="nội dung",
)
ACB = _layout(
    "acb",
    "970416",
    date="ngày giao dịch",
    reference="số gd",
    description="nội dung giao dịch",
    credit="tiền gửi vào",
    debit="tiền rút ra",
    balance="số dư",
)
AGRIBANK = _layout(
    "agribank",
    "970405",
    date="ngày gd",
    reference="số chứng từ",
    debit="ghi nợ",
    credit="ghi có",
    balance="số dư",
    description="diễn giải",
)
# Most columns first, so a header that satisfies two layouts picks the more specific one.
LAYOUTS = tuple(
    sorted(
        (VIETINBANK, VIETCOMBANK, BIDV, TECHCOMBANK, MB, ACB, AGRIBANK),
        key=lambda b: -len(b.labels),
    )
)
BY_FORMAT = {layout.format: layout for layout in LAYOUTS}
BANK_BINS = {layout.format: layout.bank_bin for layout in LAYOUTS}

# Title/footer block labels, accent-stripped; the value follows ":", sits in a later cell, or
# (ACB) in the cell below the label.
_BLOCK_KEYS = {
    "account": ("so tai khoan", "account number", "account no", "so tk"),
    "opening": ("so du dau", "opening balance", "open balance", "beginning balance"),
    "closing": ("so du cuoi", "closing balance", "ending balance"),
}
_OLD_ACCOUNT = re.compile(r"\b(cu|old|previous)\b")  # BIDV: "Số tài khoản cũ" after the number
_ROW_NUMBER = {"stt", "no.", "so tt", "seq"}  # never a data column, whatever else it says
# Total and subtotal labels. With diacritics a prefix is enough ("Tổng cộng phát sinh", "Cộng
# ngày 02/11"); "Công ty" is not "Cộng". Without them only unmistakable phrases count, since
# "CONG TY …" and "TONG CUC …" are names; "Tong"/"Cong" alone must be the whole cell.
_TOTAL_WORDS = {
    *("tổng", "tổng cộng", "tổng phát sinh", "cộng", "cộng phát sinh", "cộng doanh số"),
    *("tong", "tong cong", "tong phat sinh", "cong", "cong phat sinh", "cong doanh so"),
    *("total", "subtotal", "sub total", "grand total", "total volume"),
}
_TOTAL_START = re.compile(
    r"^(?:tổng|cộng|tong cong|tong phat sinh|tong so|cong phat sinh|cong doanh so|cong ngay"
    r"|total|sub ?total|grand total)(?:$|[\s:/(.\-])"
)
_LABEL_SPLIT = re.compile(r"[/\n\r()]")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?")
_YMD = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?")
_AMOUNT = re.compile(
    r"(?P<sign>[-+]?)(?P<int>\d{1,3}(?P<sep>[.,])\d{3}(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d+))?",
    re.ASCII,
)
_CURRENCY_SUFFIX = re.compile(r"\s*(?:vnd|vnđ|đ|₫|d)$", re.IGNORECASE)
_MAX_DIGITS = 19  # 2^63 has 19 digits: anything longer is refused here, the rest by the importer


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


def match_header(
    cells: Sequence[Cell], layouts: Iterable[BankLayout] = LAYOUTS
) -> tuple[BankLayout, dict[str, int]] | None:
    """The layout whose labels all appear in ``cells``, with each role's column index."""
    parts = [_label_parts(cell) for cell in cells]
    plain_row = all(_text(cell).isascii() for cell in cells)  # an export without diacritics
    usable = [(i, p) for i, p in enumerate(parts) if p and not _ROW_NUMBER.intersection(p)]
    for layout in layouts:
        columns: dict[str, int] = {}
        for role, labels in layout.labels.items():
            wanted = set(labels) | ({strip_accents(x) for x in labels} if plain_row else set())
            index = next((i for i, p in usable if wanted.intersection(p)), None)
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
        if not math.isfinite(cell):
            raise StatementFormatError(f"amount {cell} is not a number", line_no)
        if cell != int(cell):
            raise StatementFormatError(f"amount {cell} is not a whole number of đồng", line_no)
        return int(cell)
    text = _CURRENCY_SUFFIX.sub("", str(cell).replace("\xa0", "").replace(" ", ""))
    if not text:
        return None
    match = _AMOUNT.fullmatch(text)
    if not match or (match["dec"] and match["dec"] == match["sep"]):
        raise StatementFormatError(f"amount {text[:40]!r} is not a number", line_no)
    if match["frac"] and int(match["frac"]):
        raise StatementFormatError(f"amount {text!r} is not a whole number of đồng", line_no)
    digits = match["int"].replace(".", "").replace(",", "")
    if len(digits.lstrip("0")) > _MAX_DIGITS:
        raise StatementFormatError(f"amount {text[:40]!r} is too large", line_no)
    return -int(digits) if match["sign"] == "-" else int(digits)


def _block_key(cell: Cell) -> tuple[str, str] | None:
    """``(key, text after the colon)`` when the cell is a title/footer label (``_BLOCK_KEYS``)."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    label, _, rest = cell.partition(":")
    plain = [strip_accents(part) for part in _label_parts(label)]
    for key, prefixes in _BLOCK_KEYS.items():
        if any(part.startswith(prefixes) for part in plain):
            if key == "account" and any(_OLD_ACCOUNT.search(part) for part in plain):
                return "old_account", rest.strip()
            return key, rest.strip()
    return None


def is_total(cells: Sequence[Cell], free_text: frozenset[int] = frozenset()) -> bool:
    """A total or subtotal row: a total label opens a cell, or is the whole of a free-text
    (description, counterparty) cell. "TOTAL FEE TP26..." in a description is a transfer memo.
    """
    for index, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        text = unicodedata.normalize("NFC", " ".join(cell.split())).casefold().rstrip(" :")
        parts = [p.strip(" :") for p in _LABEL_SPLIT.split(text)]
        if any(part in _TOTAL_WORDS for part in parts):
            return True
        if index not in free_text and _TOTAL_START.match(text):
            return True
    return False


class Block:
    """What the title and footer rows (and total rows) say about the statement."""

    def __init__(self) -> None:
        self.account: str | None = None
        self.opening: int | None = None
        self.closing: int | None = None
        self.totals: list[tuple[int, int, int]] = []  # (line, debits, credits) of total rows
        self._below: dict[int, str] = {}  # column → key whose value is in the next row

    def read(self, cells: Sequence[Cell], line_no: int, skip: int | None = None) -> bool:
        """Take what the row says; True when it was a labelled block row."""
        below, self._below = self._below, {}
        for index, key in below.items():
            under = cells[index] if index < len(cells) else None
            if _text(under):
                self._set(key, under, line_no)
        found = False
        for index, cell in enumerate(cells):
            if index == skip or (labelled := _block_key(cell)) is None:
                continue
            key, rest = labelled
            value: Cell = rest or next((c for c in cells[index + 1 :] if _text(c)), None)
            if _holds_number(value) and _block_key(value) is None:
                self._set(key, value, line_no)
            else:
                self._below[index] = key  # ACB: the labels' row, the values under them
            found = True
        return found or bool(below)

    def _set(self, key: str, value: Cell, line_no: int) -> None:
        if key == "account":
            if self.account is None:  # the first number is the account's; later ones are notes
                number = str(int(value)) if isinstance(value, int | float) else _text(value)
                self.account = number.split()[0] if number else None
        elif key == "opening":
            self.opening = parse_amount(value, line_no)
        elif key == "closing":
            self.closing = parse_amount(value, line_no)


def parse_rows(rows: Sequence[Row], fmt: str | None = None) -> ParsedStatement:
    """Parse a bank export already split into rows (from CSV or a worksheet)."""
    layouts = (BY_FORMAT[fmt],) if fmt else LAYOUTS
    found = find_header(rows, layouts)
    if found is None:
        expected = f"the {fmt} column headers" if fmt else "a known bank's column headers"
        raise StatementFormatError(f"unrecognised statement format: no row has {expected}")
    position, layout, columns = found
    block = Block()
    for line_no, cells in rows[:position]:
        block.read(cells, line_no)
    lines = _parse_body(rows[position + 1 :], columns, block)
    start, end = period_of(lines)
    return ParsedStatement(
        layout.format,
        block.account,
        "VND",
        block.opening,
        block.closing,
        start,
        end,
        lines,
        _total_warnings(block, lines),
    )


def _total_warnings(block: Block, lines: list[ParsedLine]) -> tuple[str, ...]:
    if len(block.totals) != 1:  # subtotals per day or page: the file's own sums are not one
        return ()
    line_no, debits, credits = block.totals[0]
    got_debits = -sum(ln.amount for ln in lines if ln.amount < 0)
    got_credits = sum(ln.amount for ln in lines if ln.amount > 0)
    if (debits, credits) in ((got_debits, got_credits), (0, 0)):
        return ()
    return (
        f"line {line_no}: the file's total row says debits {debits:,} and credits {credits:,}, "
        f"its lines add up to debits {got_debits:,} and credits {got_credits:,}",
    )


def _cell(cells: Sequence[Cell], index: int | None) -> Cell:
    if index is None or index >= len(cells):
        return None
    return cells[index]


def _parse_body(rows: Sequence[Row], columns: dict[str, int], block: Block) -> list[ParsedLine]:
    fingerprint = Fingerprinter()
    lines: list[ParsedLine] = []
    previous_date: date | None = None
    previous_value: date | None = None
    described = columns.get("description")
    free_text = frozenset(columns[k] for k in ("description", "counterparty") if k in columns)
    for line_no, cells in rows:
        if not any(_text(cell) for cell in cells):
            continue
        debit = _cell(cells, columns["debit"])
        credit = _cell(cells, columns["credit"])
        if is_total(cells, free_text):
            debits, credits = parse_amount(debit, line_no), parse_amount(credit, line_no)
            block.totals.append((line_no, abs(debits or 0), credits or 0))
            continue
        date_cell = _cell(cells, columns["date"])
        booking = parse_date(date_cell)
        has_amount = _holds_number(debit) or _holds_number(credit)
        if (booking is None or not has_amount) and block.read(cells, line_no, skip=described):
            continue  # a labelled balance row
        if booking is None:
            if not has_amount:
                continue  # a note, a signature or wrapped description text
            if _text(date_cell):
                raise StatementFormatError(
                    f"{_text(date_cell)[:40]!r} is not a date (dd/mm/yyyy)", line_no
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
            raise StatementFormatError(
                f"{_text(value_cell)[:40]!r} is not a date (dd/mm/yyyy)", line_no
            )
        value = value or (previous_value if "value_date" in columns else None)
        balance = parse_amount(_cell(cells, columns.get("balance")), line_no)
        description = " ".join(_text(_cell(cells, described)).split())
        reference = _reference(_cell(cells, columns.get("reference")))
        counterparty = _text(_cell(cells, columns.get("counterparty"))) or None
        lines.append(
            ParsedLine(
                line_no,
                booking,
                value,
                amount,
                description,
                reference,
                counterparty,
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
