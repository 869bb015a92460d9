"""Helpers views share: the service container, schema loading, JSON answers, problems,
authentication."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError

from payments.auth.services import Principal, verify_token
from payments.config import Settings
from payments.container import Container as Container  # re-exported: older imports
from payments.errors import Unauthorized, ValidationFailed
from payments.hygiene import bad_text
from payments.payment_requests.services import ViewExtension
from payments.uow import UnitOfWork


def container() -> Container:
    c: Container = current_app.extensions["thuphi"]
    return c


def settings() -> Settings:
    return container().settings


def uow() -> UnitOfWork:
    return container().uow()


def view_extensions() -> list[ViewExtension]:
    """What other packages add to a payment request's JSON, as the wiring registered it."""
    return container().view_extensions


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → ``{"payer.name": ["Missing data…"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def control_characters(data: Any, path: str = "") -> dict[str, list[str]]:
    """Fields holding NUL or other C0 control characters (tab and newlines aside): no text
    column wants them, and PostgreSQL refuses NUL outright."""
    if isinstance(data, str):
        bad = bad_text(data)
        return {path or "_schema": ["control characters are not allowed"]} if bad else {}
    found: dict[str, list[str]] = {}
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        if isinstance(key, str) and control_characters(key):
            found[f"{path}.{key}" if path else key] = ["control characters are not allowed"]
        found.update(control_characters(value, f"{path}.{key}" if path else str(key)))
    return found


def load(schema: Schema, data: Any) -> Any:
    """Load with ``schema``, turning marshmallow's errors into a 422 that names each field."""
    if data is None:
        raise ValidationFailed({"_schema": ["a JSON object body is required"]})
    bad = control_characters(data)
    if bad:
        raise ValidationFailed(bad)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_errors(exc.messages)) from exc


def json_body() -> Any:
    return request.get_json(silent=True)


def reply(schema: Schema, obj: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(schema.dump(obj)), status


def problem(body: dict[str, Any], status: int) -> tuple[Response, int]:
    """An RFC 9457 problem+json answer carrying the request id."""
    body.setdefault("request_id", g.get("request_id"))
    response = jsonify(body)
    response.mimetype = "application/problem+json"
    return response, status


def authenticate(scope: str) -> Principal:
    """The calling client, from its Bearer token, holding ``scope`` (401 / 403 otherwise)."""
    principal: Principal | None = g.get("principal")
    if principal is None:
        header = request.headers.get("Authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token:
            raise Unauthorized("send Authorization: Bearer <token> (POST /api/v1/token)")
        principal = verify_token(token.strip(), settings())
        g.principal = principal
    principal.require(scope)
    return principal
