"""Callback endpoints of the payment providers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from payments.callbacks import services
from payments.http import settings, uow

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")


@bp.post("/paygov")
def paygov_result() -> tuple[Response, int]:
    status, body = services.handle_paygov_result(request.get_data(), uow=uow(), settings=settings())
    return jsonify(body), status


@bp.post("/pos")
def pos_callback() -> tuple[Response, int]:
    status, body = services.handle_pos_callback(
        request.get_data(), request.headers, uow=uow(), settings=settings()
    )
    return jsonify(body), status


@bp.post("/bank/<provider>")
def bank_notification(provider: str) -> tuple[Response, int]:
    status, body = services.handle_bank_notification(
        provider, request.get_data(), request.headers, uow=uow(), settings=settings()
    )
    return jsonify(body), status
