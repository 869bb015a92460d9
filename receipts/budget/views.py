"""Remitting endpoints (DESIGN §4.2): an agency's obligations per month and its remittances."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.errors import NotFound
from payments.http import authenticate, json_body, load, reply, uow
from payments.openapi import Operation
from receipts.budget import services
from receipts.budget.declarations import month_declaration
from receipts.budget.schemas import (
    PERIOD,
    DeclarationOut,
    ObligationQuery,
    ObligationsOut,
    RemittanceIn,
    RemittanceOut,
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
]
