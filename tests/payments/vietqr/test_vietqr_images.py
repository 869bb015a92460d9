"""Rendered VietQR images scan back, with a real decoder, to exactly the payload."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from defusedxml import ElementTree
from PIL import Image, ImageDraw

from payments.vietqr import VietQRError, encode
from payments.vietqr.images import QUIET_ZONE, render_both, render_png, render_svg

PAYLOADS = [
    encode(bank_bin="970415", account="113366668888", amount=115000, purpose="TP26ABC123 Le phi"),
    encode(
        bank_bin="970436",
        account="0071000123456789012",
        amount=499_999_999,
        purpose="TP26ABC123 Lệ phí hộ tịch",
        merchant_name="Sở Tư pháp tỉnh Hà Tĩnh",
        merchant_city="Hà Tĩnh",
        bill_number="HD-2026-000123",
        reference_label="TP26ABC123",
        terminal_label="QUAY-01",
    ),
]
SVG = "{http://www.w3.org/2000/svg}"
SQUARE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z")


def scan(image: Image.Image) -> list[zxingcpp.Result]:
    return list(
        zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_png_scans_back_to_the_payload_at_error_correction_m(payload: str) -> None:
    png = render_png(payload)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    (result,) = scan(image)
    assert result.text == payload
    assert result.ec_level == "M"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendering_is_deterministic(payload: str) -> None:
    assert render_png(payload) == render_png(payload)
    assert render_svg(payload) == render_svg(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendering_both_from_one_symbol_gives_the_same_bytes_as_each_alone(payload: str) -> None:
    # the checkout caches both formats on the first view from one symbol (half the CPU)
    assert render_both(payload) == (render_png(payload), render_svg(payload))


def rasterise(svg: bytes, scale: int = 8) -> tuple[int, Image.Image]:
    """Draw the SVG's path (one ``M x,y H V H z`` square per dark module) onto a bitmap."""
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    _, _, width, height = (int(v) for v in root.attrib["viewBox"].split())
    assert width == height
    (path,) = root.iter(f"{SVG}path")
    d = path.attrib["d"]
    squares = SQUARE.findall(d)
    assert "".join(f"M{x},{y}H{x2}V{y2}H{x}z" for x, y, x2, y2 in squares) == d
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, x2, y2 in squares:
        draw.rectangle(
            (int(x) * scale, int(y) * scale, int(x2) * scale - 1, int(y2) * scale - 1), fill=0
        )
    return width, image


@pytest.mark.parametrize("payload", PAYLOADS)
def test_svg_is_well_formed_with_the_module_count_of_the_png(payload: str) -> None:
    width, image = rasterise(render_svg(payload))
    modules = width - 2 * QUIET_ZONE
    assert (modules - 17) % 4 == 0  # QR versions are 21, 25, 29... modules wide
    png = Image.open(io.BytesIO(render_png(payload, box_size=1)))
    assert png.size == (width, width)
    (result,) = scan(image)
    assert result.text == payload


def test_a_longer_payload_needs_more_modules() -> None:
    short, _ = rasterise(render_svg(PAYLOADS[0]))
    long, _ = rasterise(render_svg(PAYLOADS[1]))
    assert long > short


@pytest.mark.parametrize("render", [render_png, render_svg])
def test_an_invalid_payload_is_not_rendered(render: object) -> None:
    assert callable(render)
    with pytest.raises(VietQRError, match="bad CRC"):
        render(PAYLOADS[0][:-4] + "0000")
