"""The printed receipt: the PDF (read back with pypdf and a QR decoder) and the HTML page."""

from __future__ import annotations

import unicodedata
from datetime import date
from io import BytesIO
from typing import Any, cast

import pytest
import zxingcpp
from factories import make_receipt_document, make_receipt_line
from lxml import etree
from lxml import html as lxml_html
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from receipts.document import ReceiptDocument, ReceiptKind, ReceiptLine, ReplacedReceipt
from receipts.html import render_html, verification_qr_svg
from receipts.pdf import qr_png, render_pdf

VERIFY_URL = "https://thuphi.example.vn/receipts/verify/7f3a9c"


def make_line(**overrides: Any) -> ReceiptLine:
    """A lệ phí line (the shared factory's is a phí)."""
    fields: dict[str, Any] = {
        "fee_code": "LPCT",
        "name": "Lệ phí cấp bản sao trích lục hộ tịch",
        "legal_basis": "Thông tư 281/2016/TT-BTC",
    }
    return make_receipt_line(**(fields | overrides))


def make_receipt(**overrides: Any) -> ReceiptDocument:
    """A lệ phí receipt for a civil-status extract, verified at ``VERIFY_URL``."""
    fields: dict[str, Any] = {
        "kind": ReceiptKind.LE_PHI,
        "procedure_name": "Cấp bản sao trích lục hộ tịch",
        "verification_url": VERIFY_URL,
        "lines": (make_line(),),
    }
    return make_receipt_document(**(fields | overrides))


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def text_of(element: etree._Element) -> str:
    return str(element.xpath("string()"))


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(make_receipt(), VERIFY_URL)


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_text_keeps_the_vietnamese_diacritics(pdf: bytes) -> None:
    text = pdf_text(pdf)
    assert "Sở Tư pháp tỉnh Hà Tĩnh" in text
    assert "Một trăm mười lăm nghìn đồng" in text
    assert "lệ phí" in text
    assert "BIÊN LAI THU LỆ PHÍ" in text
    assert "Nguyễn Thị Hồng Nhung" in text


def test_pdf_shows_identity_amounts_and_the_reduction_basis(pdf: bytes) -> None:
    text = pdf_text(pdf)
    for expected in (
        "Mẫu số: EBL01",
        "Ký hiệu: 26TAB",
        "Số: 00000001",
        "Mã số thuế: 3000123456",
        "Ngày 23 tháng 11 năm 2026",
        "200.000",
        "85.000",
        "115.000",
        "Căn cứ miễn, giảm: Thông tư 63/2023/TT-BTC",
        "Căn cứ thu: Thông tư 281/2016/TT-BTC",
        "000.00.12.H40-261123-0001",
        "Người nộp tiền",
        "Người thu tiền",
        "ký số",
    ):
        assert expected in text


def test_pdf_embeds_the_dejavu_fonts_and_fits_one_page(pdf: bytes) -> None:
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 1
    resources = cast(DictionaryObject, reader.pages[0]["/Resources"].get_object())
    fonts = cast(DictionaryObject, resources["/Font"].get_object())
    names = {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    # subset fonts carry a tag prefix: /MPDFAA+DejaVuSansBook
    assert {name.split("+")[-1] for name in names} == {"DejaVuSansBook", "DejaVuSansBold"}
    for font in fonts.values():
        descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor  # embedded, not merely named


def test_pdf_qr_code_decodes_to_the_verification_url(pdf: bytes) -> None:
    images = PdfReader(BytesIO(pdf)).pages[0].images
    assert len(images) == 1
    decoded = zxingcpp.read_barcodes(images[0].image)
    assert [result.text for result in decoded] == [VERIFY_URL]


def test_the_qr_code_defaults_to_the_receipts_own_verification_url() -> None:
    images = PdfReader(BytesIO(render_pdf(make_receipt()))).pages[0].images
    assert zxingcpp.read_barcodes(images[0].image)[0].text == VERIFY_URL


def test_qr_png_is_a_png_of_the_url() -> None:
    png = qr_png(VERIFY_URL)
    assert png.startswith(b"\x89PNG")
    assert zxingcpp.read_barcodes(Image.open(BytesIO(png)))[0].text == VERIFY_URL


def test_decomposed_vietnamese_input_prints_as_composed_text() -> None:
    decomposed = unicodedata.normalize("NFD", "Trần Thị Ánh Tuyết")
    text = pdf_text(render_pdf(make_receipt(payer_name=decomposed), VERIFY_URL))
    assert "Trần Thị Ánh Tuyết" in text


def test_rendering_the_same_receipt_twice_gives_the_same_bytes() -> None:
    assert render_pdf(make_receipt(), VERIFY_URL) == render_pdf(make_receipt(), VERIFY_URL)


def test_a_long_receipt_with_a_replacement_still_renders_every_line() -> None:
    lines = tuple(make_line(fee_code=f"F{i}", name=f"Khoản thu số {i}") for i in range(1, 13))
    original = ReplacedReceipt(series="26TAB", number=7, issued_on=date(2026, 11, 20))
    text = pdf_text(render_pdf(make_receipt(lines=lines, replaces=original), VERIFY_URL))
    assert "Khoản thu số 12" in text
    assert "Thay thế cho biên lai mẫu số EBL01, ký hiệu 26TAB, số 00000007" in text
    assert "Một triệu ba trăm tám mươi nghìn đồng" in text  # 12 × 115.000


# --- HTML -----------------------------------------------------------------------------------


def test_html_page_shows_the_receipt_in_vietnamese() -> None:
    doc = make_receipt()
    page = lxml_html.fromstring(render_html(doc, verification_qr_svg(VERIFY_URL)))
    text = text_of(page)
    assert page.findtext(".//h1") == "BIÊN LAI THU LỆ PHÍ"
    for expected in (
        "Mẫu số: EBL01",
        "Ký hiệu: 26TAB",
        "Số: 00000001",
        "Sở Tư pháp tỉnh Hà Tĩnh",
        "Một trăm mười lăm nghìn đồng",
        "Căn cứ miễn, giảm: Thông tư 63/2023/TT-BTC",
        "Người nộp tiền",
        "Người thu tiền",
        "đã được ký số",
    ):
        assert expected in text
    rows = page.findall(".//table/tbody/tr")
    assert len(rows) == len(doc.lines) + 1  # the lines and the total
    assert [text_of(cell) for cell in rows[-1]][-3:] == ["200.000", "85.000", "115.000"]


@pytest.mark.parametrize(
    ("kind", "title"),
    [(ReceiptKind.PHI, "BIÊN LAI THU PHÍ"), (ReceiptKind.LE_PHI, "BIÊN LAI THU LỆ PHÍ")],
)
def test_title_names_the_kind_of_receipt(kind: ReceiptKind, title: str) -> None:
    page = lxml_html.fromstring(render_html(make_receipt(kind=kind), None))
    assert page.findtext(".//h1") == title


def test_html_embeds_the_verification_qr_and_links_the_url() -> None:
    page = lxml_html.fromstring(render_html(make_receipt(), verification_qr_svg(VERIFY_URL)))
    assert page.find(".//div[@class='qr']/svg") is not None
    assert page.find(f".//a[@href='{VERIFY_URL}']") is not None


def test_html_without_qr_has_no_qr_block() -> None:
    page = lxml_html.fromstring(render_html(make_receipt(), None))
    assert page.find(".//div[@class='qr']") is None


def test_html_escapes_what_the_payer_typed() -> None:
    page = render_html(make_receipt(payer_name='<script>alert("x")</script>'), None)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_html_marks_a_replacement_receipt() -> None:
    original = ReplacedReceipt(series="26TAB", number=7, issued_on=date(2026, 11, 20))
    page = render_html(make_receipt(number=8, replaces=original), None)
    assert "Thay thế cho biên lai mẫu số EBL01, ký hiệu 26TAB, số 00000007 ngày 20/11/2026" in page
