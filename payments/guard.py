"""Request hygiene for every endpoint, before any view runs: bodies small and shallow, no control
characters in paths, queries, forms or JSON; the money ceiling for this request's schemas; and the
``Allow`` header on 405 answers. A refusal is a 4xx problem+json, never a 500."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Request, g
from flask.globals import request_ctx
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from payments import money
from payments.hygiene import CONTROL, MAX_JSON_BYTES, MAX_JSON_DEPTH, json_body_problem

log = structlog.get_logger(__name__)
BIGINT_MAX = money.BIGINT_MAX


class BoundedInt(IntegerConverter):
    """``<int:id>`` never matches a number no BIGINT column holds (a 404, not an overflow)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Register the guard; call before the blueprints so their ``<int:…>`` rules are bounded."""
    app.url_map.converters["int"] = BoundedInt
    ceiling = app.extensions["thuphi"].settings.max_amount

    @app.before_request
    def _guard() -> None:
        # the request once, not through the proxy on every use: this runs before every call
        # (bench/README.md, 5 December evening)
        req = request_ctx.request
        g.amount_ceiling = money.CEILING.set(ceiling)
        _refuse_control_in_url(req)
        if req.path.startswith("/callbacks/") or req.is_json:
            _check_json_body(req)
        elif req.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            _refuse("form", *req.form.items(multi=True))

    @app.teardown_request
    def _restore(_: BaseException | None) -> None:
        token = g.pop("amount_ceiling", None)
        if token is not None:
            money.CEILING.reset(token)  # nothing after the request sees this app's ceiling


def _refuse_control_in_url(req: Request) -> None:
    _refuse("path", ("path", req.path))
    if req.query_string:  # no query, nothing to parse
        _refuse("query", *req.args.items(multi=True))


def _refuse(where: str, *pairs: tuple[str, str]) -> None:
    for name, value in pairs:
        if CONTROL.search(name) or CONTROL.search(value):
            log.warning("request_refused", reason="control_characters", where=where)
            raise BadRequest(f"control characters are not allowed in the {where} ({name[:40]})")


def _check_json_body(req: Request) -> None:
    if (req.content_length or 0) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"a JSON body is at most {MAX_JSON_BYTES} bytes")
    problem = json_body_problem(req.get_data(cache=True))
    if not problem:
        return
    log.warning("request_refused", reason=problem, path=req.path)
    if problem == "too-large":
        raise RequestEntityTooLarge(f"a JSON body is at most {MAX_JSON_BYTES} bytes")
    if problem == "too-deep":
        raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    raise BadRequest("control characters or unpaired surrogates are not allowed in JSON")
