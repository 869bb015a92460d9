"""The payment order (``orders``) as files: a printable PDF laid out after Mẫu C1-02/NS, an XML
whose elements are the form's fields, and a CSV of its lines (docs/budget.md maps each field)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time
from typing import Any

from fpdf import Align, XPos, YPos
from lxml import etree

from payments.money import Money
from payments.spreadsheet import neutralise
from receipts.html import amount
from receipts.pdf import FAMILY, a4_pdf, nfc, write

COLUMNS = (  # the form's table: (heading, relative width)
    ("STT", 6),
    ("Kỳ thuế", 25),
    ("Nội dung các khoản nộp NSNN", 45),
    ("Số tiền VND", 20),
    ("Mã chương", 11),
    ("Mã tiểu mục", 12),
)
CSV_HEADER = (
    "STT",
    "Số tham chiếu",
    "Ngày",
    "Người nộp thuế",
    "Mã số thuế",
    "Trích TK số",
    "Kỳ thuế",
    "Từ ngày",
    "Đến ngày",
    "Mã khoản thu",
    "Nội dung các khoản nộp NSNN",
    "Mã chương",
    "Mã tiểu mục",
    "Số tiền VND",
)


def file_name(order: dict[str, Any], ext: str) -> str:
    reference = order["order_reference"] or "du-thao"
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in reference)
    return f"giay-nop-tien-{order['payer']['agency_code']}-{order['date']:%Y%m%d}-{safe}.{ext}"


def render_pdf(order: dict[str, Any]) -> bytes:
    """The order on one A4 page (more when it has many lines), to print, sign and take to the
    Treasury or to type into its e-payment service."""
    created = datetime.combine(order["date"], time(0), UTC)
    pdf = a4_pdf(
        f"{order['title']} {order['order_reference'] or ''}", order["payer"]["name"], created
    )
    for text, bold in (
        (f"Mẫu số {order['form']}", True),
        ("Số tham chiếu:", False),
        (order["order_reference"] or "…", True),
    ):
        pdf.set_x(135)
        write(pdf, text, bold=bold, width=60)
    pdf.ln(2)
    write(pdf, order["title"].upper(), align=Align.C, bold=True, size=14)
    write(pdf, "Chuyển khoản    Loại tiền: VND", align=Align.C)
    if order["remittance_id"] is None:
        write(pdf, "(Dự thảo lập trước khi nộp)", align=Align.C)
    pdf.ln(2)
    for text in _parties(order):
        write(pdf, text)
    _table(pdf, order)
    write(pdf, f"Tổng số tiền ghi bằng chữ: {order['amount_in_words']}", bold=True)
    pdf.ln(4)
    _signatures(pdf, order)
    return bytes(pdf.output())


def _parties(order: dict[str, Any]) -> list[str]:
    payer, account = order["payer"], order["debit_account"] or {}
    # no treasury account in the catalog: the officer writes it in by hand
    debit = account.get("account_number", "…")
    if account.get("account_name"):
        debit += f" ({account['account_name']})"
    return [
        f"Người nộp thuế: {payer['name']}",
        f"Mã số thuế: {payer['tax_code']}    Mã đơn vị: {payer['agency_code']}",
        f"Đề nghị NH/KBNN: {account.get('bank_name') or '…'}    trích TK số: {debit}",
        f"để nộp vào NSNN, vào tài khoản của {order['treasury']['name']}: "
        f"TK thu NSNN {order['treasury']['revenue_account']}",
        f"Tên cơ quan quản lý thu: {order['collecting_body']}",
    ]


def _table(pdf: Any, order: dict[str, Any]) -> None:
    pdf.ln(2)
    pdf.set_font(FAMILY, size=9)
    widths = tuple(width for _, width in COLUMNS)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5, padding=1) as table:
        table.row([nfc(heading) for heading, _ in COLUMNS])
        for line in order["lines"]:
            row = table.row()
            row.cell(str(line["number"]), align="RIGHT")
            row.cell(nfc(line["period_text"]))
            row.cell(nfc(line["content"]))
            row.cell(amount(Money(line["amount"])), align="RIGHT")
            row.cell(line["chapter"] or "")
            row.cell(line["sub_item"] or "")
        total = table.row()
        total.cell(nfc("Tổng cộng"), colspan=3)
        total.cell(amount(Money(order["total"])), align="RIGHT")
        total.cell("", colspan=2)
    pdf.set_font(FAMILY, size=10)
    pdf.ln(2)


def _signatures(pdf: Any, order: dict[str, Any]) -> None:
    top = pdf.get_y()
    pdf.set_xy(15, top)
    write(pdf, "ĐƠN VỊ NỘP TIỀN", bold=True, width=85, align=Align.C)
    pdf.set_x(15)
    write(
        pdf,
        f"Ngày {order['date']:%d} tháng {order['date']:%m} năm {order['date']:%Y}",
        width=85,
        align=Align.C,
    )
    pdf.set_x(15)
    write(pdf, "Kế toán trưởng        Thủ trưởng đơn vị", width=85, align=Align.C)
    pdf.set_xy(105, top)
    write(pdf, "KHO BẠC NHÀ NƯỚC / NGÂN HÀNG", bold=True, width=90, align=Align.C)
    pdf.set_x(105)
    pdf.multi_cell(
        90, 5, nfc("Ngày … tháng … năm …"), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def render_xml(order: dict[str, Any]) -> bytes:
    """The order's data as XML: one element per field of the form (names without diacritics,
    as the Treasury's and tax authority's e-services name them), amounts in whole đồng."""
    root = etree.Element("GiayNopTien", MauSo=order["form"])
    _sub(root, "SoThamChieu", order["order_reference"] or "")
    _sub(root, "NgayLap", order["date"].isoformat())
    _sub(root, "TrangThai", "DaNop" if order["remittance_id"] else "DuThao")
    payer = etree.SubElement(root, "NguoiNopThue")
    _sub(payer, "Ten", order["payer"]["name"])
    _sub(payer, "MaSoThue", order["payer"]["tax_code"])
    _sub(payer, "MaDonVi", order["payer"]["agency_code"])
    account = order["debit_account"] or {}
    debit = etree.SubElement(root, "TrichTaiKhoan")
    _sub(debit, "SoTaiKhoan", account.get("account_number", ""))
    _sub(debit, "TenTaiKhoan", account.get("account_name", ""))
    _sub(debit, "MaNganHang", account.get("bank_bin", ""))
    _sub(debit, "TenNganHang", account.get("bank_name", ""))
    treasury = etree.SubElement(root, "NopVaoNSNN")
    _sub(treasury, "KhoBac", order["treasury"]["name"])
    _sub(treasury, "TaiKhoanThuNSNN", order["treasury"]["revenue_account"])
    _sub(root, "CoQuanQuanLyThu", order["collecting_body"])
    details = etree.SubElement(root, "ChiTiet")
    for line in order["lines"]:
        item = etree.SubElement(details, "KhoanNop", STT=str(line["number"]))
        _sub(item, "KyThue", line["period_text"])
        _sub(item, "TuNgay", _iso(line["period_start"]))
        _sub(item, "DenNgay", _iso(line["period_end"]))
        _sub(item, "MaKhoanThu", line["fee_code"] or "")
        _sub(item, "NoiDung", line["content"])
        _sub(item, "SoTien", str(line["amount"]))
        _sub(item, "MaChuong", line["chapter"] or "")
        _sub(item, "MaTieuMuc", line["sub_item"] or "")
    _sub(root, "TongTien", str(order["total"]))
    _sub(root, "TongTienBangChu", order["amount_in_words"])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _sub(parent: Any, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = nfc(text)


def _iso(day: Any) -> str:
    return "" if day is None else str(day.isoformat())


def render_csv(order: dict[str, Any]) -> bytes:
    """One row per line of the order, the order's own fields repeated on each (a spreadsheet
    or an accounting import reads it row by row); UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    account = order["debit_account"] or {}
    for line in order["lines"]:
        cells = (
            line["number"],
            order["order_reference"] or "",
            order["date"].isoformat(),
            order["payer"]["name"],
            order["payer"]["tax_code"],
            account.get("account_number", ""),
            line["period_text"],
            _iso(line["period_start"]),
            _iso(line["period_end"]),
            line["fee_code"] or "",
            line["content"],
            line["chapter"] or "",
            line["sub_item"] or "",
            line["amount"],
        )
        writer.writerow([neutralise(cell) for cell in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# what each file extension renders, and its media type
FORMATS = {
    "pdf": (render_pdf, "application/pdf"),
    "xml": (render_xml, "application/xml"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
}


def render(order: dict[str, Any], fmt: str) -> tuple[bytes, str, str]:
    """``(body, media type, file name)`` of the order as ``pdf``, ``xml`` or ``csv``."""
    renderer, media_type = FORMATS[fmt]
    return renderer(order), media_type, file_name(order, fmt)
