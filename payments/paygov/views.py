"""``POST /pay/<token>/paygov``: the checkout page's "pay through the national portal" button."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from payments.http import settings, uow
from payments.paygov.services import start_paygov_payment

bp = Blueprint("paygov_checkout", __name__)


@bp.post("/pay/<token>/paygov")
def start(token: str) -> Response:
    url = start_paygov_payment(token, request.remote_addr or "", uow=uow(), settings=settings())
    return redirect(url, 303)
