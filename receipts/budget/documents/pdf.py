"""A declaration or settlement as a printable PDF (A4 landscape: the form's ten columns need
the width), with the DejaVu fonts the receipts embed so Vietnamese prints anywhere."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fpdf import FPDF, Align

from receipts.budget.documents import forms
from receipts.budget.documents.forms import Cell, Table

# the receipt's own text helpers: the same fonts, NFC and line height on every document
from receipts.pdf import FAMILY, a4_pdf, nfc, write


def declaration_pdf(doc: dict[str, Any]) -> bytes:
    # the day prepared, not "now": the same declaration renders to the same metadata
    created = datetime.combine(doc["prepared_on"], time(), UTC)
    title = f"{forms.title(doc)} {doc['period']} {doc['agency_code']}"
    pdf = a4_pdf(title, doc["agency_name"], created, landscape=True, margin=12)
    for line in forms.COUNTRY:
        write(pdf, line, bold=True, align=Align.C)
    pdf.ln(2)
    write(pdf, forms.title(doc), bold=True, size=14, align=Align.C)
    write(pdf, f"Mẫu số: {doc['form']}", align=Align.C)
    write(pdf, forms.BASIS, align=Align.C, size=8)
    pdf.ln(2)
    for line in forms.heading(doc):
        write(pdf, line)
    write(pdf, forms.UNIT, align=Align.R, size=8)
    _table(pdf, forms.form_table(doc))
    if forms.is_settlement(doc):
        pdf.ln(3)
        write(pdf, "Tình hình nộp ngân sách nhà nước của năm", bold=True)
        _table(pdf, forms.remitted_table(doc))
        unallocated = doc["totals"]["unallocated"]
        write(pdf, f"Nộp không khớp khoản nào trong năm: {forms.dong(unallocated)} đồng", size=8)
    pdf.ln(4)
    pdf.set_x(180)
    write(pdf, f"Ngày {doc['prepared_on']:%d/%m/%Y}", width=100, align=Align.C)
    pdf.set_x(180)
    write(pdf, "NGƯỜI NỘP THUẾ hoặc ĐẠI DIỆN HỢP PHÁP", width=100, bold=True, align=Align.C)
    pdf.set_x(180)
    write(pdf, "(Chữ ký, ghi rõ họ tên; chức vụ và đóng dấu)", width=100, align=Align.C, size=8)
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FAMILY, size=8)
    with pdf.table(col_widths=table.widths, text_align="CENTER", line_height=4, padding=1) as grid:
        grid.row([nfc(name) for name, _ in table.columns])
        grid.row([number for _, number in table.columns])
        for row in table.rows:
            _row(grid.row(), row, table)
        _row(grid.row(), table.total, table)
    pdf.set_font(FAMILY, size=10)


def _row(out: Any, cells: list[Cell], table: Table) -> None:
    for i, value in enumerate(cells):
        if i in table.money and isinstance(value, int):
            out.cell(forms.dong(value), align="RIGHT")
        elif i == 1:
            out.cell(nfc(str(value or "")), align="LEFT")
        else:
            out.cell(nfc("" if value is None else str(value)))
