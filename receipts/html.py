"""The printable receipt page (bản thể hiện của biên lai điện tử) and the wording it shares
with the PDF."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import qrcode
import qrcode.image.svg
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from payments.money import Money
from receipts.document import ReceiptDocument, ReceiptKind, format_number
from receipts.vocabulary import CHANNEL_WORDS

TITLES = {ReceiptKind.PHI: "BIÊN LAI THU PHÍ", ReceiptKind.LE_PHI: "BIÊN LAI THU LỆ PHÍ"}
KIND_NAMES = {ReceiptKind.PHI: "phí", ReceiptKind.LE_PHI: "lệ phí"}
CHANNEL_NAMES = CHANNEL_WORDS  # the words the XML carries (receipts.vocabulary)
SIGNED_NOTE = "Biên lai điện tử đã được ký số bởi {agency}; bản in này chỉ để thể hiện."


def render_html(doc: ReceiptDocument, verification_qr_svg: str | None) -> str:
    """The receipt as a standalone A4 HTML page in Vietnamese.

    ``verification_qr_svg`` is inserted as markup, so it must come from this service (e.g.
    ``verification_qr_svg(doc.verification_url)``), never from user input.
    """
    qr = Markup(verification_qr_svg) if verification_qr_svg else None  # noqa: S704 - trusted
    return (
        _environment()
        .get_template("receipt.html")
        .render(doc=doc, qr_svg=qr, **receipt_wording(doc))
    )


def verification_qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url`` for ``render_html``."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return str(image.to_string(encoding="unicode"))


def receipt_wording(doc: ReceiptDocument) -> dict[str, str]:
    """The printed phrases both renderers use, so the HTML and the PDF say the same thing."""
    return {
        "title": TITLES[doc.kind],
        "kind_name": KIND_NAMES[doc.kind],
        "number": format_number(doc.number),
        "date_line": date_line(doc),
        "channel": CHANNEL_NAMES.get(doc.payment_channel, doc.payment_channel),
        "replaces_line": replaces_line(doc),
        "signed_note": SIGNED_NOTE.format(agency=doc.agency_name),
    }


def date_line(doc: ReceiptDocument) -> str:
    """``Ngày 23 tháng 11 năm 2026`` in Vietnamese time, as on paper forms."""
    day = doc.issued_on
    return f"Ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def replaces_line(doc: ReceiptDocument) -> str:
    original = doc.replaces
    if original is None:
        return ""
    return (
        f"Thay thế cho biên lai mẫu số {original.template}, ký hiệu {original.series}, "
        f"số {format_number(original.number)} ngày {original.issued_on:%d/%m/%Y}"
    )


def amount(money: Money) -> str:
    """``115000`` → ``115.000`` (the column header says đồng)."""
    return f"{money.amount:,}".replace(",", ".")


@cache
def _environment() -> Environment:
    # a path, not PackageLoader("receipts"): under pytest, tests/receipts/ can shadow the
    # package name with a namespace package that has no templates
    templates = Path(__file__).parent / "templates"
    environment = Environment(loader=FileSystemLoader(templates), autoescape=True, trim_blocks=True)
    environment.filters["amount"] = amount
    return environment
