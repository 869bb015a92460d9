"""``GET /api/v1/agencies/{code}/indicators/online-payment`` (QĐ 766/QĐ-TTg)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.http import authenticate, load, reply, uow
from payments.openapi import Operation
from reconciliation.indicators.schemas import IndicatorQuery, OnlinePaymentOut
from reconciliation.indicators.services import online_payment

bp = Blueprint("indicators_api", __name__, url_prefix="/api/v1")


@bp.get("/agencies/<code>/indicators/online-payment")
def online(code: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)  # as the agency's other reports
    query = load(IndicatorQuery(), request.args.to_dict())
    view = online_payment(code, query["period"], uow=uow(), principal=principal)
    return reply(OnlinePaymentOut(), view)


OPERATIONS: list[Operation] = [
    Operation(
        "get",
        "/api/v1/agencies/{code}/indicators/online-payment",
        "QĐ 766/QĐ-TTg: the share of an agency's dossiers with a financial obligation paid "
        "online in a month (period YYYY-MM)",
        scope="receipts:read",
        query=IndicatorQuery,
        response=OnlinePaymentOut,
        path_params=("code",),
        errors=(401, 403, 404, 422),
    ),
]
