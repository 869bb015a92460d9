"""Remitting endpoints (DESIGN §4.2): an agency's obligations per month and its remittances."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.errors import NotFound
from payments.http import authenticate, json_body, load, reply, uow
from payments.openapi import Operation
from receipts.budget import services
from receipts.budget.declarations import month_declaration
from receipts.budget.order_files import FORMATS, render
from receipts.budget.orders import outstanding_order, remittance_order
from receipts.budget.schemas import (
    PERIOD,
    DeclarationOut,
    ObligationQuery,
    ObligationsOut,
    OrderQuery,
    RemittanceIn,
    RemittanceOut,
    RemittancesOut,
)

bp = Blueprint("budget_api", __name__, url_prefix="/api/v1")


@bp.get("/agencies/<code>/obligations")
def obligations(code: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    query = load(ObligationQuery(), request.args.to_dict())
    view = services.month_view(
        code, query["period"], uow=uow(), principal=principal, as_of=query["as_of"]
    )
    return reply(ObligationsOut(), view)


@bp.post("/agencies/<code>/remittances")
def remit(code: str) -> tuple[Response, int]:
    principal = authenticate(Scope.BUDGET_WRITE)
    body = load(RemittanceIn(), json_body())
    cmd = services.RecordRemittance(agency_code=code, **body)
    view, created = services.record_remittance(cmd, uow=uow(), principal=principal)
    return reply(RemittanceOut(), view, 201 if created else 200)


@bp.get("/agencies/<code>/remittances")
def remittances(code: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    found = services.list_remittances(code, uow=uow(), principal=principal)
    return reply(RemittancesOut(), {"agency_code": code, "remittances": found})


@bp.get("/agencies/<code>/remittances/<remittance_id>/payment-order.<any(pdf, xml, csv):fmt>")
def remittance_payment_order(code: str, remittance_id: str, fmt: str) -> Response:
    principal = authenticate(Scope.RECEIPTS_READ)
    order = remittance_order(code, remittance_id, uow=uow(), principal=principal)
    return order_file(order, fmt)


@bp.get("/agencies/<code>/payment-order.<any(pdf, xml, csv):fmt>")
def payment_order(code: str, fmt: str) -> Response:
    """The order to prepare before paying: what is outstanding for ended periods on ``as_of``."""
    principal = authenticate(Scope.RECEIPTS_READ)
    query = load(OrderQuery(), request.args.to_dict())
    order = outstanding_order(code, uow=uow(), principal=principal, as_of=query["as_of"])
    return order_file(order, fmt)


def order_file(order: dict[str, Any], fmt: str) -> Response:
    """A payment order as a download (the console's links answer the same files)."""
    body, media_type, name = render(order, fmt)
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/agencies/<code>/declarations/<period>")
def declaration(code: str, period: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    if not PERIOD.match(period):
        # the yearly settlement (YYYY) and the documents (.xml, .pdf, .xlsx) are not built yet
        raise NotFound("a monthly declaration is named YYYY-MM")
    view = month_declaration(code, period, uow=uow(), principal=principal)
    return reply(DeclarationOut(), view)


_CODE = ("code",)
# documented in the app's OpenAPI document by the wiring, beside the blueprint
OPERATIONS: list[Operation] = [
    Operation(
        "get",
        "/api/v1/agencies/{code}/obligations",
        "An agency's obligations to the state budget for a month, and what is overdue",
        scope="receipts:read",
        query=ObligationQuery,
        response=ObligationsOut,
        path_params=_CODE,
        errors=(401, 403, 404, 422),
    ),
    Operation(
        "post",
        "/api/v1/agencies/{code}/remittances",
        "Record a remittance to the State Treasury; it settles obligations oldest first",
        scope="budget:write",
        body=RemittanceIn,
        response=RemittanceOut,
        status=201,
        also_ok=(200,),
        path_params=_CODE,
        errors=(401, 403, 404, 409, 422),
    ),
    Operation(
        "get",
        "/api/v1/agencies/{code}/declarations/{period}",
        "The monthly declaration of fees collected (period YYYY-MM), as JSON data",
        scope="receipts:read",
        response=DeclarationOut,
        path_params=("code", "period"),
        errors=(401, 403, 404),
    ),
    Operation(
        "get",
        "/api/v1/agencies/{code}/remittances",
        "An agency's remittances to the State Treasury, the latest paid first",
        scope="receipts:read",
        response=RemittancesOut,
        path_params=_CODE,
        errors=(401, 403, 404),
    ),
]
# the payment order (giấy nộp tiền vào NSNN, Mẫu C1-02/NS) as each file
_MEDIA = {"pdf": "PDF (application/pdf)", "xml": "XML (application/xml)", "csv": "CSV (text/csv)"}
for _fmt in FORMATS:
    OPERATIONS += [
        Operation(
            "get",
            f"/api/v1/agencies/{{code}}/remittances/{{remittance_id}}/payment-order.{_fmt}",
            f"The payment order of a recorded remittance (Mẫu C1-02/NS) as {_fmt.upper()}",
            scope="receipts:read",
            path_params=("code", "remittance_id"),
            errors=(401, 403, 404),
            extra_responses={200: f"Payment order {_MEDIA[_fmt]}"},
        ),
        Operation(
            "get",
            f"/api/v1/agencies/{{code}}/payment-order.{_fmt}",
            "The payment order to prepare before paying: every obligation of a period ended "
            f"before as_of (default today) not yet remitted, as {_fmt.upper()}",
            scope="receipts:read",
            query=OrderQuery,
            path_params=_CODE,
            errors=(401, 403, 404, 422),
            extra_responses={200: f"Payment order {_MEDIA[_fmt]}"},
        ),
    ]
