"""Catalog endpoints: import a document (JSON or YAML); read procedures and payer categories."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.catalog.reading import list_payer_categories, list_procedures
from payments.catalog.schemas import (
    CatalogImportOut,
    PayerCategoryListOut,
    ProcedureListOut,
    ProcedureListQuery,
)
from payments.catalog.services import import_catalog, parse_document
from payments.http import authenticate, load, reply, uow
from payments.openapi import OPERATIONS, Operation

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")
PROCEDURE_QUERY = ProcedureListQuery()


@bp.post("/catalog")
def import_document() -> tuple[Response, int]:
    principal = authenticate(Scope.CATALOG_WRITE)
    result = import_catalog(parse_document(request.get_data()), uow=uow(), principal=principal)
    return reply(CatalogImportOut(), result.as_dict())


@bp.get("/procedures")
def procedures() -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_READ)
    q = load(PROCEDURE_QUERY, request.args.to_dict())
    view = list_procedures(q["agency"], q["date"], uow=uow(), principal=principal)
    return reply(ProcedureListOut(), view)


@bp.get("/payer-categories")
def payer_categories() -> tuple[Response, int]:
    authenticate(Scope.PAYMENTS_READ)
    return reply(PayerCategoryListOut(), list_payer_categories(uow=uow()))


OPERATIONS.extend(
    [
        Operation(
            "get",
            "/api/v1/procedures",
            "List procedures with their fees, tiers, legal bases and the reductions in force",
            scope="payments:read",
            query=ProcedureListQuery,
            response=ProcedureListOut,
            errors=(401, 422),
        ),
        Operation(
            "get",
            "/api/v1/payer-categories",
            "List the payer categories a payer may claim",
            scope="payments:read",
            response=PayerCategoryListOut,
            errors=(401,),
        ),
    ]
)
