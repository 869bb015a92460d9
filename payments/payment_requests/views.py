"""Payment request and fee quote endpoints: parse, call one service, serialize."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, request

from payments.auth.models import Scope
from payments.http import authenticate, json_body, load, reply, settings, uow, view_extensions
from payments.payment_requests import services
from payments.payment_requests.schemas import (
    ListQuery,
    PaymentRequestIn,
    PaymentRequestListOut,
    PaymentRequestOut,
    QuoteOut,
    QuoteQuery,
    RefundIn,
)

bp = Blueprint("payment_requests_api", __name__, url_prefix="/api/v1")
# built once: a schema's construction (deep copies of its fields, nested schemas) costs more
# than the load or dump it serves, and instances hold no per-call state
REQUEST_IN = PaymentRequestIn()
REQUEST_OUT = PaymentRequestOut()
LIST_QUERY = ListQuery()
LIST_OUT = PaymentRequestListOut()
QUOTE_QUERY = QuoteQuery()
QUOTE_OUT = QuoteOut()


@bp.post("/payment-requests")
def create() -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_WRITE)
    body = json_body()
    cmd = load(REQUEST_IN, body)
    cmd = replace(
        cmd, idempotency_key=request.headers.get("Idempotency-Key", "").strip(), body=body
    )
    view, created = services.create_payment_request(
        cmd, uow=uow(), settings=settings(), principal=principal, extensions=view_extensions()
    )
    response, status = reply(REQUEST_OUT, view, 201)
    # a replay answers like the original call; the header tells a careful client it was one
    response.headers["Idempotent-Replayed"] = "false" if created else "true"
    return response, status


@bp.get("/payment-requests/<request_id>")
def get(request_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_READ)
    view = services.get_payment_request(
        request_id,
        uow=uow(),
        settings=settings(),
        principal=principal,
        extensions=view_extensions(),
    )
    return reply(REQUEST_OUT, view)


@bp.get("/payment-requests")
def list_by_dossier() -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_READ)
    query = load(LIST_QUERY, request.args.to_dict())
    views = services.list_payment_requests(
        query["dossier_code"],
        uow=uow(),
        settings=settings(),
        principal=principal,
        extensions=view_extensions(),
    )
    return reply(LIST_OUT, {"items": views})


@bp.post("/payment-requests/<request_id>/cancel")
def cancel(request_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_WRITE)
    view = services.cancel_payment_request(
        request_id,
        uow=uow(),
        settings=settings(),
        principal=principal,
        extensions=view_extensions(),
    )
    return reply(REQUEST_OUT, view)


@bp.post("/payment-requests/<request_id>/refunds")
def refund(request_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_WRITE)
    body = load(RefundIn(), json_body())
    view, created = services.refund_payment_request(
        services.RecordRefund(request_id=request_id, **body),
        uow=uow(),
        settings=settings(),
        principal=principal,
        extensions=view_extensions(),
    )
    return reply(REQUEST_OUT, view, 201 if created else 200)


@bp.get("/fees/quote")
def quote() -> tuple[Response, int]:
    principal = authenticate(Scope.PAYMENTS_READ)
    q = load(QUOTE_QUERY, request.args.to_dict())
    view = services.quote_view(
        q["procedure"], q["channel"], q["date"], q["categories"], uow=uow(), principal=principal
    )
    return reply(QUOTE_OUT, view)
