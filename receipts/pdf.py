"""The receipt as a PDF (A4), with embedded DejaVu fonts so Vietnamese prints anywhere."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from io import BytesIO
from pathlib import Path

import qrcode
from fpdf import FPDF, Align, XPos, YPos
from fpdf.table import Row

from receipts.document import ReceiptDocument, ReceiptLine
from receipts.html import amount, receipt_wording

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
LINE = 6  # mm per text line at 10 pt
HEADINGS = ("STT", "Tên khoản thu", "SL", "Mức thu (đồng)", "Miễn, giảm (đồng)", "Số tiền (đồng)")
COLUMNS = (8, 62, 8, 22, 22, 22)  # relative widths; the name column takes the rest


ONLINE_CHANNELS = frozenset({"bank_transfer", "paygov"})  # the payer is not there to sign


def render_pdf(
    doc: ReceiptDocument, verification_url: str | None = None, tax_authority_code: str | None = None
) -> bytes:
    """The printable receipt: the HTML page's content, plus a QR code of ``verification_url``
    (default: ``doc.verification_url``) and the code the tax authority gave it, once it has."""
    verification_url = verification_url or doc.verification_url
    wording = receipt_wording(doc)
    pdf = _new_pdf(doc, wording["title"])
    _header(pdf, doc, wording, tax_authority_code)
    _payer(pdf, doc, wording)
    _lines_table(pdf, doc)
    write(pdf, f"Số tiền bằng chữ: {doc.amount_in_words}", bold=True)
    _verification(pdf, verification_url)
    _footer(pdf, wording, doc)
    return bytes(pdf.output())


def qr_png(url: str) -> bytes:
    """``url`` as a QR code PNG (error correction M: survives a crease in a printed receipt)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(url)
    buffer = BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


def _new_pdf(doc: ReceiptDocument, title: str) -> FPDF:
    # the issue instant, not "now": rendering the same receipt twice gives the same metadata
    return a4_pdf(f"{title} {doc.series} {doc.printed_number}", doc.agency_name, doc.issued_at)


def a4_pdf(
    title: str, author: str, created: datetime, *, landscape: bool = False, margin: float = 15
) -> FPDF:
    """An A4 page with the embedded DejaVu fonts (Vietnamese prints anywhere), 10 pt, dated
    ``created`` rather than now, so the same document renders to the same bytes."""
    pdf = FPDF(orientation="landscape" if landscape else "portrait", format="A4")
    pdf.set_margins(margin, margin, margin)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(created)
    pdf.set_title(nfc(title))
    pdf.set_author(nfc(author))
    pdf.set_lang("vi")
    pdf.add_page()
    pdf.set_font(FAMILY, size=10)
    return pdf


def _header(pdf: FPDF, doc: ReceiptDocument, wording: dict[str, str], tax_code: str | None) -> None:
    top = pdf.get_y()
    write(pdf, doc.agency_name, bold=True, width=120)
    write(pdf, f"Mã số thuế: {doc.agency_tax_code}", width=120)
    write(pdf, f"Mã đơn vị: {doc.agency_code}", width=120)
    if tax_code:
        write(pdf, f"Mã của cơ quan thuế: {tax_code}", width=120)
    agency_bottom = pdf.get_y()
    pdf.set_y(top)
    for label in (f"Mẫu số: {doc.template}", f"Ký hiệu: {doc.series}", f"Số: {wording['number']}"):
        pdf.set_x(140)
        write(pdf, label, bold=True, width=55)
    # a long agency name wraps: continue below whichever column is taller
    pdf.set_y(max(agency_bottom, pdf.get_y()) + 4)
    write(pdf, wording["title"], align=Align.C, bold=True, size=16)
    write(pdf, "(Bản thể hiện của biên lai điện tử)", align=Align.C)
    write(pdf, wording["date_line"], align=Align.C)
    if wording["replaces_line"]:
        write(pdf, wording["replaces_line"], align=Align.C, bold=True)
    pdf.ln(3)


def _payer(pdf: FPDF, doc: ReceiptDocument, wording: dict[str, str]) -> None:
    rows = [
        ("Họ tên người nộp", doc.payer_name),
        ("Số định danh cá nhân", doc.payer_id_number),
        ("Địa chỉ", doc.payer_address),
        ("Mã hồ sơ", doc.dossier_code),
        ("Thủ tục hành chính", f"{doc.procedure_code} – {doc.procedure_name}"),
        ("Hình thức thanh toán", wording["channel"]),
        ("Mã tham chiếu thanh toán", doc.payment_reference),
        ("Loại khoản thu", wording["kind_name"]),
    ]
    for label, value in rows:
        if value:
            write(pdf, f"{label}: {value}")


def _lines_table(pdf: FPDF, doc: ReceiptDocument) -> None:
    pdf.ln(2)
    pdf.set_font(FAMILY, size=9)
    with pdf.table(col_widths=COLUMNS, text_align="LEFT", line_height=5, padding=1) as table:
        table.row([nfc(heading) for heading in HEADINGS])
        for index, line in enumerate(doc.lines, start=1):
            _line_row(table.row(), index, line)
        _totals_row(table.row(), doc)
    pdf.set_font(FAMILY, size=10)
    pdf.ln(2)


def _line_row(row: Row, index: int, line: ReceiptLine) -> None:
    basis = f"Căn cứ thu: {line.legal_basis}"
    if line.reduction_legal_basis:
        basis += f"\nCăn cứ miễn, giảm: {line.reduction_legal_basis}"
    row.cell(str(index), align="RIGHT")
    row.cell(nfc(f"{line.name}\n{basis}"))
    row.cell(str(line.quantity), align="RIGHT")
    for money in (line.normal_amount, line.reduction, line.amount):
        row.cell(amount(money), align="RIGHT")


def _totals_row(row: Row, doc: ReceiptDocument) -> None:
    row.cell("Tổng cộng", colspan=3)
    for total in (doc.total_normal_amount, doc.total_reduction, doc.total_amount):
        row.cell(amount(total), align="RIGHT")


def _verification(pdf: FPDF, url: str) -> None:
    top = pdf.get_y() + 2
    pdf.image(BytesIO(qr_png(url)), x=15, y=top, w=30, h=30)
    pdf.set_xy(50, top + 8)
    write(pdf, "Quét mã hoặc truy cập địa chỉ dưới đây để tra cứu biên lai:", width=145)
    pdf.set_x(50)
    write(pdf, url, width=145)
    pdf.set_y(top + 32)


def _footer(pdf: FPDF, wording: dict[str, str], doc: ReceiptDocument) -> None:
    top = pdf.get_y() + 4
    if doc.payment_channel not in ONLINE_CHANNELS:  # paid at the counter: the payer signs
        pdf.set_xy(15, top)
        write(pdf, "Người nộp tiền", bold=True, width=80, align=Align.C)
        write(pdf, "(Ký, ghi rõ họ tên)", width=80, align=Align.C)
    pdf.set_xy(105, top)
    write(pdf, "Người thu tiền", bold=True, width=90, align=Align.C)
    pdf.set_x(105)
    note = f"{wording['signed_note']}\nKý ngày: {doc.issued_on:%d/%m/%Y}"
    pdf.set_draw_color(26, 127, 55)
    pdf.multi_cell(90, LINE - 1, nfc(note), border=1, align=Align.C)


def write(
    pdf: FPDF,
    text: str,
    *,
    bold: bool = False,
    width: float = 0,
    align: Align = Align.L,
    size: int = 10,
) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.multi_cell(width, LINE, nfc(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10)


def nfc(text: str) -> str:
    # fpdf2 draws one glyph per code point: decomposed input would print marks beside letters
    return unicodedata.normalize("NFC", text)
