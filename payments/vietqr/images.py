"""VietQR images: the same payload always gives the same bytes, so callers may cache them.

Error correction M (15 % of the symbol recoverable): what NAPAS member banks print. The payload is
decoded first so a broken code never reaches a citizen's screen.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.pil
import qrcode.image.svg

from payments.vietqr.codec import decode

__all__ = ["render_png", "render_svg"]

QUIET_ZONE = 4  # modules of white border the QR specification asks for


def _qr(payload: str, box_size: int, factory: type) -> qrcode.QRCode:
    decode(payload)
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=QUIET_ZONE,
        image_factory=factory,
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def render_png(payload: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG, ``box_size`` pixels per module."""
    image = _qr(payload, box_size, qrcode.image.pil.PilImage).make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def render_svg(payload: str) -> bytes:
    """A standalone SVG document (one path), one user unit per module, quiet zone included."""
    image = _qr(payload, 10, qrcode.image.svg.SvgPathImage).make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
