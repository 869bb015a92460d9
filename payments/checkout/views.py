"""Citizen checkout: the page, its QR images and status JSON. Parse, call one service, answer."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from payments.checkout import services
from payments.errors import NotFound
from payments.http import problem, settings, uow, view_extensions
from payments.money import vnd
from payments.payment_requests.models import RequestStatus

bp = Blueprint("checkout", __name__, template_folder="templates")
STATIC = Path(__file__).parent / "static"
# the QR may change when part is paid: browsers keep it briefly and revalidate by ETag after
QR_CACHE = "private, max-age=300"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
# no form-action: the portal button's 303 leads on to the platform's own payment host
DEMO_MESSAGES = {
    "failed": "Giả lập thanh toán không thành công: nhà cung cấp giả lập đã từ chối giao dịch. "
    "Vui lòng thử lại.",
}
PAGE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@bp.get("/pay/<token>")
def page(token: str) -> Response:
    config = settings()
    view = services.checkout_page(token, uow=uow(), settings=config, extensions=view_extensions())
    message = DEMO_MESSAGES.get(request.args.get("demo", "")) if config.demo else None
    return _html(
        render_template("checkout/page.html", page=view, demo_message=message, **_helpers())
    )


@bp.get("/pay/<token>/status")
def status(token: str) -> Response:
    response = jsonify(services.checkout_status(token, uow=uow()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/pay/<token>/qr.<any(png, svg):fmt>")
def qr(token: str, fmt: services.ImageFormat) -> Response:
    return _image(services.qr_image(token, fmt, uow=uow()))


@bp.get("/pay/account/<account_id>/qr.<any(png, svg):fmt>")
def account_qr(account_id: str, fmt: services.ImageFormat) -> Response:
    return _image(services.account_qr(account_id, fmt, uow=uow()))


@bp.get("/pay/static/<path:filename>")
def assets(filename: str) -> Response:
    # URLs carry the content hash (asset()), so a year of caching is safe
    return send_from_directory(STATIC, filename, max_age=365 * 86400)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> Response | tuple[Response, int]:
    if request.endpoint != "checkout.page":
        return problem(exc.to_problem(), exc.status)
    return _html(render_template("checkout/not_found.html", **_helpers()), 404)


@bp.after_request
def _harden(response: Response) -> Response:
    # the token in the URL is the capability: never send it on as a Referer
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _image(image: services.QrImageView) -> Response:
    response = Response(image.content, mimetype=image.mimetype)
    response.set_etag(image.etag)
    response.headers["Cache-Control"] = QR_CACHE
    if image.mimetype == "image/svg+xml":
        response.headers["Content-Security-Policy"] = SVG_CSP
    response.make_conditional(request)  # 304 when the browser holds this ETag
    return response


def _helpers() -> dict[str, Any]:
    # the template names states by the enum, never by a literal of its own
    return {"asset": asset, "vnd": vnd, "S": RequestStatus}


@cache
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset(filename: str) -> str:
    return url_for("checkout.assets", filename=filename, v=_digest(filename))
