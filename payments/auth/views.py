"""POST /api/v1/token: client credentials → short-lived JWT."""

from __future__ import annotations

from flask import Blueprint, Response, request

from payments.auth.schemas import TokenIn, TokenOut
from payments.auth.services import issue_token
from payments.http import load, reply, settings, uow

bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


@bp.post("/token")
def token() -> tuple[Response, int]:
    # OAuth clients send a form; scripts send JSON: accept both
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    data = load(TokenIn(), body)
    view = issue_token(
        data["client_id"],
        data["client_secret"],
        uow=uow(),
        settings=settings(),
        ip=request.remote_addr or "",
    )
    response, status = reply(TokenOut(), view)
    response.headers["Cache-Control"] = "no-store"
    return response, status
