"""POST /api/v1/catalog: import a catalog document (JSON or YAML)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.catalog.schemas import CatalogImportOut
from payments.catalog.services import import_catalog, parse_document
from payments.http import authenticate, reply, uow

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1")


@bp.post("/catalog")
def import_document() -> tuple[Response, int]:
    principal = authenticate(Scope.CATALOG_WRITE)
    result = import_catalog(parse_document(request.get_data()), uow=uow(), principal=principal)
    return reply(CatalogImportOut(), result.as_dict())
