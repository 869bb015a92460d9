"""Statement upload, reconciliation runs and exception resolution: parse, call, serialize."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.http import authenticate, json_body, load, reply, settings, uow
from payments.openapi import Operation
from reconciliation import importing, runs
from reconciliation.schemas import (
    ExceptionOut,
    ReconcileIn,
    ResolveIn,
    RunDetailOut,
    RunOut,
    StatementImportOut,
    StatementOut,
    StatementPageIn,
    StatementUploadIn,
)

bp = Blueprint("reconciliation_api", __name__, url_prefix="/api/v1")


def _actor(client_id: str) -> str:
    return f"client:{client_id}"


@bp.post("/accounts/<account_id>/statements")
def upload_statement(account_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECONCILIATION_WRITE)
    form = load(StatementUploadIn(), {**request.form.to_dict(), **request.files.to_dict()})
    upload = form["file"]
    cmd = importing.ImportStatement(
        account_id,
        upload.read(),
        upload.filename,
        form["format"],
        _actor(principal.client_id),
        override=form["override"],
        max_amount=settings().max_amount,
    )
    result = importing.import_statement(cmd, uow=uow(), principal=principal)
    return reply(StatementImportOut(), result.as_dict(), 201 if result.lines_imported else 200)


@bp.get("/statements/<int:statement_id>")
def get_statement(statement_id: int) -> tuple[Response, int]:
    principal = authenticate(Scope.RECONCILIATION_READ)
    page = load(StatementPageIn(), request.args.to_dict())
    found = importing.get_statement(statement_id, uow=uow(), principal=principal, **page)
    return reply(StatementOut(), found)


@bp.post("/accounts/<account_id>/reconciliations")
def reconcile(account_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECONCILIATION_WRITE)
    body = load(ReconcileIn(), json_body())
    cmd = runs.ReconcileDay(account_id, body["date"], _actor(principal.client_id))
    return reply(RunOut(), runs.reconcile_day(cmd, uow=uow(), principal=principal))


@bp.get("/reconciliations/<run_id>")
def get_run(run_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECONCILIATION_READ)
    return reply(RunDetailOut(), runs.get_run(run_id, uow=uow(), principal=principal))


@bp.post("/reconciliation-exceptions/<int:exception_id>/resolve")
def resolve(exception_id: int) -> tuple[Response, int]:
    principal = authenticate(Scope.RECONCILIATION_WRITE)
    body = load(ResolveIn(), json_body())
    cmd = runs.ResolveException(exception_id, actor=_actor(principal.client_id), **body)
    return reply(ExceptionOut(), runs.resolve_exception(cmd, uow=uow(), principal=principal))


# documented in the app's OpenAPI document by the wiring, beside the blueprint
OPERATIONS: list[Operation] = [
    Operation(
        "post",
        "/api/v1/accounts/{account_id}/statements",
        "Import a bank statement (multipart 'file', optional 'format'); 201 when it added "
        "lines, 200 when every line was already known",
        scope="reconciliation:write",
        body=StatementUploadIn,
        response=StatementImportOut,
        status=201,
        also_ok=(200,),
        path_params=("account_id",),
        errors=(401, 403, 404, 413, 422),
        content_type="multipart/form-data",
    ),
    Operation(
        "get",
        "/api/v1/statements/{statement_id}",
        "An imported statement as it was read: balances, warnings, account_unverified and "
        "a page of its lines (?after=<line id>&limit=)",
        scope="reconciliation:read",
        query=StatementPageIn,
        response=StatementOut,
        path_params=("statement_id",),
        errors=(401, 403, 404, 422),
    ),
    Operation(
        "post",
        "/api/v1/accounts/{account_id}/reconciliations",
        "Reconcile one business day of an account (idempotent)",
        scope="reconciliation:write",
        body=ReconcileIn,
        response=RunOut,
        path_params=("account_id",),
        errors=(401, 403, 404, 422),
    ),
    Operation(
        "get",
        "/api/v1/reconciliations/{run_id}",
        "A reconciliation run with its matches and exceptions",
        scope="reconciliation:read",
        response=RunDetailOut,
        path_params=("run_id",),
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/api/v1/reconciliation-exceptions/{exception_id}/resolve",
        "Resolve an exception with a typed action (note required)",
        scope="reconciliation:write",
        body=ResolveIn,
        response=ExceptionOut,
        path_params=("exception_id",),
        errors=(401, 403, 404, 409, 422),
    ),
]
