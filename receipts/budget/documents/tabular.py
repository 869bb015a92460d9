"""Spreadsheet files: a declaration or settlement as an XLSX workbook in its form's layout, and
the accounting journal as CSV (for an accounting package's import) and XLSX.

Cells a spreadsheet would read as a formula (= + - @ tab CR first) are prefixed with an
apostrophe: a fee named ``=HYPERLINK(…)`` stays text (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from payments.spreadsheet import neutralise
from receipts.budget.documents import forms
from receipts.budget.documents.forms import Cell, Table

MONEY = "#,##0"
JOURNAL_COLUMNS = (
    ("Ngày chứng từ", "date", 13),
    ("Số chứng từ", "document", 22),
    ("Mẫu số", "template", 9),
    ("Ký hiệu", "series", 9),
    ("Số biên lai", "number", 11),
    ("Mã khoản thu", "fee_code", 12),
    ("Tên khoản thu", "fee_name", 36),
    ("Diễn giải", "description", 40),
    ("TK Nợ", "debit", 8),
    ("TK Có", "credit", 8),
    ("Số tiền (đồng)", "amount", 16),
    ("Tham chiếu", "reference", 18),
    ("Loại bút toán", "entry", 12),
)


def declaration_xlsx(doc: dict[str, Any]) -> bytes:
    """One sheet in the form's layout (heading, numbered columns, lines, total); a settlement
    has a second sheet with what was remitted for the year."""
    book = Workbook()
    sheet = book.active
    sheet.title = doc["form"].replace("/", "-")
    for line in forms.COUNTRY:
        _heading_line(sheet, line, bold=True)
    _heading_line(sheet, forms.title(doc), bold=True, size=14)
    _heading_line(sheet, f"Mẫu số: {doc['form']}  {forms.BASIS}")
    for line in forms.heading(doc):
        sheet.append([neutralise(line)])
    sheet.append([forms.UNIT])
    _table(sheet, forms.form_table(doc))
    sheet.append([])
    sheet.append([f"Ngày lập: {doc['prepared_on']:%d/%m/%Y}"])
    if forms.is_settlement(doc):
        paid = book.create_sheet("Tình hình nộp NSNN")
        paid.append([f"Năm {doc['period']} – {neutralise(doc['agency_name'])}"])
        _table(paid, forms.remitted_table(doc))
        paid.append(["Nộp không khớp khoản nào trong năm (đồng)", doc["totals"]["unallocated"]])
    return _save(book)


def journal_csv(journal: dict[str, Any]) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese correctly), dates dd/mm/yyyy, amounts as
    plain integers: one row per posting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in JOURNAL_COLUMNS])
    for row in journal["rows"]:
        writer.writerow([_journal_cell(row, key, csv_dates=True) for _, key, _ in JOURNAL_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def journal_xlsx(journal: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"Nhật ký {journal['period']}"
    sheet.append([name for name, _, _ in JOURNAL_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in journal["rows"]:
        sheet.append([_journal_cell(row, key) for _, key, _ in JOURNAL_COLUMNS])
    for i, (_, key, width) in enumerate(JOURNAL_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
        fmt = {"date": "dd/mm/yyyy", "amount": MONEY}.get(key)
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            cell.number_format = fmt or cell.number_format
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions
    accounts = book.create_sheet("Tài khoản")
    accounts.append(["Số hiệu tài khoản", "Tên tài khoản"])
    for account in journal["accounts"]:
        accounts.append([account["code"], account["name"]])
    return _save(book)


def _journal_cell(row: dict[str, Any], key: str, *, csv_dates: bool = False) -> Any:
    value = row[key]
    if key == "date" and csv_dates:
        return f"{value:%d/%m/%Y}"
    return neutralise(value)


def _table(sheet: Worksheet, table: Table) -> None:
    first = sheet.max_row + 1
    sheet.append([name for name, _ in table.columns])
    sheet.append([number for _, number in table.columns])
    for row in sheet.iter_rows(min_row=first, max_row=first + 1):
        for cell in row:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in table.rows:
        sheet.append(_cells(row))
    sheet.append(_cells(table.total))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for i, width in enumerate(table.widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for i in table.money:
        for (cell,) in sheet.iter_rows(min_row=first + 2, min_col=i + 1, max_col=i + 1):
            cell.number_format = MONEY


def _cells(row: Sequence[Cell]) -> list[Cell]:
    return [neutralise(value) for value in row]


def _heading_line(sheet: Worksheet, line: str, *, bold: bool = False, size: int = 11) -> None:
    sheet.append([neutralise(line)])
    cell = sheet.cell(row=sheet.max_row, column=1)
    cell.font = Font(bold=bold, size=size)


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
