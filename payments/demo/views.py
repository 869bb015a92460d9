"""Demo-only endpoints behind the checkout page's "simulate" buttons (``settings.demo`` only)."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from payments.demo import services
from payments.http import settings, uow
from payments.paygov.services import start_paygov_payment

bp = Blueprint("demo_simulate", __name__)


def _back(token: str, status: int) -> Response:
    """Back to the checkout page; a refused simulation says so there instead of staying silent."""
    failed = "" if 200 <= status < 300 else "?demo=failed"
    return redirect(f"/pay/{token}{failed}", 303)


@bp.post("/pay/<token>/simulate/transfer")
def transfer(token: str) -> Response:
    return _back(token, services.simulate_transfer(token, uow=uow(), settings=settings()))


@bp.post("/pay/<token>/simulate/card")
def card(token: str) -> Response:
    return _back(token, services.simulate_card(token, uow=uow(), settings=settings()))


@bp.post("/pay/<token>/simulate/portal")
def portal(token: str) -> Response:
    url = start_paygov_payment(token, request.remote_addr or "", uow=uow(), settings=settings())
    return redirect(url, 303)


@bp.get("/demo/paygov-return/<provider_ref>")
def paygov_return(provider_ref: str) -> Response:
    token = services.checkout_token_for_attempt(provider_ref, uow=uow())
    return redirect(f"/pay/{token}", 303)
