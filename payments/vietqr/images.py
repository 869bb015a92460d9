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

__all__ = ["render_both", "render_png", "render_svg"]

QUIET_ZONE = 4  # modules of white border the QR specification asks for
PNG, SVG = qrcode.image.pil.PilImage, qrcode.image.svg.SvgPathImage
SVG_BOX = 10  # the box size the SVG has always been rendered with (same bytes as before)


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


def _image(qr: qrcode.QRCode, box_size: int, factory: type) -> bytes:
    qr.box_size = box_size
    buffer = io.BytesIO()
    qr.make_image(image_factory=factory).save(buffer)
    return buffer.getvalue()


def render_png(payload: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG, ``box_size`` pixels per module."""
    return _image(_qr(payload, box_size, PNG), box_size, PNG)


def render_svg(payload: str) -> bytes:
    """A standalone SVG document (one path), one user unit per module, quiet zone included."""
    return _image(_qr(payload, SVG_BOX, SVG), SVG_BOX, SVG)


def render_both(payload: str) -> tuple[bytes, bytes]:
    """``(render_png(payload), render_svg(payload))``, byte for byte, from one symbol: choosing
    the mask pattern is most of a render's cost, so it is done once."""
    qr = _qr(payload, 8, PNG)
    return _image(qr, 8, PNG), _image(qr, SVG_BOX, SVG)
