"""The OpenAPI document, generated from the same marshmallow schemas the views load and dump."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template_string
from marshmallow import Schema, fields

from payments.auth.schemas import TokenIn, TokenOut
from payments.catalog.schemas import CatalogImportOut, CatalogIn
from payments.payment_requests.schemas import (
    ListQuery,
    PaymentRequestIn,
    PaymentRequestListOut,
    PaymentRequestOut,
    QuoteOut,
    QuoteQuery,
    RefundIn,
)


class ProblemOut(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String()
    errors = fields.Raw()
    request_id = fields.String()
    # a rejected statement names the line (or spreadsheet row) that failed, and why
    line = fields.Integer(allow_none=True)
    reason = fields.String()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    scope: str | None = None
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    headers: tuple[tuple[str, bool, str], ...] = ()
    path_params: tuple[str, ...] = ()
    errors: tuple[int, ...] = (401, 403, 422)
    content_type: str = "application/json"
    # further success statuses answering the same schema (e.g. 200 beside 201: nothing was new)
    also_ok: tuple[int, ...] = ()
    extra_responses: dict[int, str] = field(default_factory=dict)
    # OpenAPI links from the success answer: (name, operationId, parameter, runtime expression)
    links: tuple[tuple[str, str, str, str], ...] = ()


# what the request guard (payments.guard) may answer before any operation runs: a body too
# large, too deep or holding control characters
GUARD_ERRORS = (400, 413)
_GET_REQUEST = "get_api_v1_payment-requests_request_id"
_CANCEL_REQUEST = "post_api_v1_payment-requests_request_id_cancel"
_LIST_REQUESTS = "get_api_v1_payment-requests"

# Payments' own operations; every package's views module lists its own, and the wiring gives the
# app the operations of the blueprints it registered (``operations_of``).
OPERATIONS: list[Operation] = [
    Operation(
        "post",
        "/api/v1/token",
        "Exchange client credentials for an access token",
        body=TokenIn,
        response=TokenOut,
        errors=(401, 422, 429),
    ),
    Operation(
        "post",
        "/api/v1/catalog",
        "Import a catalog document (JSON or YAML)",
        scope="catalog:write",
        body=CatalogIn,
        response=CatalogImportOut,
    ),
    Operation(
        "get",
        "/api/v1/fees/quote",
        "Quote a procedure's fees for a channel and date",
        scope="payments:read",
        query=QuoteQuery,
        response=QuoteOut,
    ),
    Operation(
        "post",
        "/api/v1/payment-requests",
        "Create a payment request",
        scope="payments:write",
        body=PaymentRequestIn,
        response=PaymentRequestOut,
        status=201,
        headers=(("Idempotency-Key", True, "Unique per logical request"),),
        errors=(400, 401, 403, 409, 422),
        links=(
            ("GetPaymentRequest", _GET_REQUEST, "request_id", "$response.body#/id"),
            ("CancelPaymentRequest", _CANCEL_REQUEST, "request_id", "$response.body#/id"),
            ("ListDossierRequests", _LIST_REQUESTS, "dossier_code", "$response.body#/dossier_code"),
        ),
    ),
    Operation(
        "get",
        "/api/v1/payment-requests",
        "List a dossier's payment requests",
        scope="payments:read",
        query=ListQuery,
        response=PaymentRequestListOut,
    ),
    Operation(
        "get",
        "/api/v1/payment-requests/{request_id}",
        "Get a payment request",
        scope="payments:read",
        response=PaymentRequestOut,
        path_params=("request_id",),
        errors=(401, 403, 404),
    ),
    Operation(
        "post",
        "/api/v1/payment-requests/{request_id}/cancel",
        "Cancel a payment request",
        scope="payments:write",
        response=PaymentRequestOut,
        path_params=("request_id",),
        errors=(401, 403, 404, 409),
    ),
    Operation(
        "post",
        "/api/v1/payment-requests/{request_id}/refunds",
        "Record money paid back to the payer; the receipts it touched are then replaced "
        "(TT 91/2026 Điều 20) by the outbox, lowering the budget obligation of its period",
        scope="payments:write",
        body=RefundIn,
        response=PaymentRequestOut,
        status=201,
        also_ok=(200,),
        path_params=("request_id",),
        errors=(401, 403, 404, 409, 422),
    ),
]


def build_spec(operations: Sequence[Operation]) -> dict[str, Any]:
    """The OpenAPI document of ``operations``."""
    spec = APISpec(
        title="thuphi API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Fee payment and reconciliation for one-stop administrative procedures."
        },
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Problem", schema=ProblemOut)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    portable: dict[str, Any] = _portable(spec.to_dict())
    return portable


def _portable(node: Any) -> Any:
    """What JSON Schema tools read: numbers as numbers (a Decimal bound would be written as a
    string) and patterns in ECMA syntax (ours end with Python's ``\\Z``)."""
    if isinstance(node, dict):
        out = {key: _portable(value) for key, value in node.items()}
        pattern = out.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("\\Z"):
            out["pattern"] = "^" + pattern[:-2] + "$"
        return out
    if isinstance(node, list):
        return [_portable(value) for value in node]
    if isinstance(node, Decimal):
        return int(node) if node == node.to_integral_value() else float(node)
    return node


def _operation(op: Operation) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    ok: dict[str, Any] = {"description": "OK"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": op.response}}
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.method + op.path.replace("/", "_").replace("{", "").replace("}", ""),
        "responses": {
            **{str(code): ok for code in (op.status, *op.also_ok)},
            **{
                str(code): {"description": "Problem", "content": problem}
                for code in sorted({*op.errors, *GUARD_ERRORS})
            },
        },
        "parameters": [],
    }
    if op.links:
        linked = {
            name: {"operationId": target, "parameters": {param: expression}}
            for name, target, param, expression in op.links
        }
        out["responses"][str(op.status)] = {**ok, "links": linked}
    for code, text in op.extra_responses.items():
        out["responses"][str(code)] = {"description": text}
    if op.scope:
        out["security"] = [{"bearer": []}]
        out["description"] = f"Scope: `{op.scope}`"
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {op.content_type: {"schema": op.body}}}
    if op.query is not None:
        out["parameters"].append({"in": "query", "schema": op.query})
    for name in op.path_params:
        out["parameters"].append(
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        )
    for name, required, text in op.headers:
        out["parameters"].append(
            {
                "in": "header",
                "name": name,
                "required": required,
                "description": text,
                "schema": {"type": "string"},
            }
        )
    return out


bp = Blueprint("openapi", __name__)
_DOCS = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>thuphi API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}code{background:#f2f2f2;padding:.1rem .3rem}
section{border-top:1px solid #ccc;padding:.5rem 0}
.m{font-weight:700;text-transform:uppercase;display:inline-block;width:4rem}</style></head><body>
<h1>thuphi API</h1><p>The machine-readable document is
<a href="/api/openapi.json">/api/openapi.json</a>.
Authenticate with <code>POST /api/v1/token</code>, then send <code>Authorization: Bearer …</code>.
Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p>
{% for path, ops in spec.paths.items() %}{% for method, op in ops.items() %}
<section><span class="m">{{ method }}</span><code>{{ path }}</code> — {{ op.summary }}
{% if op.description %}<br><small>{{ op.description }}</small>{% endif %}</section>
{% endfor %}{% endfor %}</body></html>"""


EXTENSION = "thuphi.operations"


def add_operations(app: Flask, operations: Sequence[Operation]) -> None:
    """Document ``operations`` in this app's OpenAPI document (the wiring, beside a blueprint)."""
    app.extensions.setdefault(EXTENSION, []).extend(operations)


def operations_of(app: Flask) -> list[Operation]:
    found: list[Operation] = app.extensions.get(EXTENSION, [])
    return found


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec(operations_of(current_app)))


@bp.get("/api/docs")
def docs() -> str:
    return render_template_string(_DOCS, spec=build_spec(operations_of(current_app)))
