"""Receipt endpoints (DESIGN §4.2) and the public verification page a receipt's QR opens."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flask import Blueprint, Response, request
from jinja2 import Environment, FileSystemLoader

from payments.auth.models import Scope
from payments.http import authenticate, json_body, load, reply, settings, uow
from payments.openapi import Operation
from receipts import public, services
from receipts.html import amount, receipt_wording
from receipts.pdf import render_pdf
from receipts.schemas import (
    ErrorNoticeIn,
    ErrorNoticeOut,
    ReceiptListOut,
    ReceiptListQuery,
    ReceiptOut,
    ReplaceIn,
)

bp = Blueprint("receipts_api", __name__, url_prefix="/api/v1")
public_bp = Blueprint("receipts_public", __name__)
_PAGES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)
_PAGES.filters["amount"] = amount


@bp.get("/receipts")
def list_for_request() -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    query = load(ReceiptListQuery(), request.args.to_dict())
    views = services.list_receipts(
        uow=uow(),
        settings=settings(),
        principal=principal,
        payment_request_id=str(query["payment_request_id"]),
    )
    return reply(ReceiptListOut(), {"items": views})


@bp.get("/receipts/<receipt_id>")
def get(receipt_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    view = services.get_receipt(receipt_id, uow=uow(), settings=settings(), principal=principal)
    return reply(ReceiptOut(), view)


@bp.get("/receipts/<receipt_id>.xml")
def xml(receipt_id: str) -> Response:
    principal = authenticate(Scope.RECEIPTS_READ)
    body = services.get_receipt_xml(receipt_id, uow=uow(), principal=principal)
    return Response(body, mimetype="application/xml")


@bp.get("/receipts/<receipt_id>.pdf")
def pdf(receipt_id: str) -> Response:
    principal = authenticate(Scope.RECEIPTS_READ)
    doc = services.get_receipt_document(receipt_id, uow=uow(), principal=principal)
    response = Response(render_pdf(doc), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{doc.series}-{doc.number:08d}.pdf"'
    )
    return response


@bp.post("/receipts/<receipt_id>/replace")
def replace_receipt(receipt_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_WRITE)
    cmd = replace(load(ReplaceIn(), json_body()), receipt_id=receipt_id)
    view = services.replace_receipt(cmd, uow=uow(), settings=settings(), principal=principal)
    return reply(ReceiptOut(), view, 201)


@bp.post("/receipts/<receipt_id>/error-notices")
def error_notice(receipt_id: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_WRITE)
    cmd = replace(load(ErrorNoticeIn(), json_body()), receipt_id=receipt_id)
    view = services.record_error_notice(cmd, uow=uow(), settings=settings(), principal=principal)
    return reply(ErrorNoticeOut(), view, 201)


@public_bp.get("/r/<token>")
def verify_page(token: str) -> Response:
    result = services.verify_public(token, uow=uow(), settings=settings())
    doc = result["document"]
    wording = receipt_wording(doc) if doc is not None else {}
    others = public.receipts_of_same_request(token, uow=uow())
    page = _PAGES.get_template("verify.html").render(
        result=result, doc=doc, receipts=others, token=token, **wording
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # the status can change (replaced)
    return response


@public_bp.get("/r/<token>.pdf")
def verify_pdf(token: str) -> Response:
    doc = public.public_document(token, uow=uow())
    code = public.tax_authority_code(token, uow=uow())
    response = Response(render_pdf(doc, tax_authority_code=code), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{doc.series}-{doc.number:08d}.pdf"'
    )
    return response


@public_bp.get("/r/<token>.xml")
def verify_xml(token: str) -> Response:
    name, body = public.public_xml(token, uow=uow())
    response = Response(body, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.xml"'
    return response


_ID = ("receipt_id",)
# documented in the app's OpenAPI document by the wiring, beside the blueprint
OPERATIONS: list[Operation] = [
    Operation(
        "get",
        "/api/v1/receipts",
        "List a payment request's receipts",
        scope="receipts:read",
        query=ReceiptListQuery,
        response=ReceiptListOut,
    ),
    Operation(
        "get",
        "/api/v1/receipts/{receipt_id}",
        "Get a receipt",
        scope="receipts:read",
        response=ReceiptOut,
        path_params=_ID,
        errors=(401, 403, 404),
    ),
    Operation(
        "get",
        "/api/v1/receipts/{receipt_id}.xml",
        "The receipt's signed XML",
        scope="receipts:read",
        path_params=_ID,
        errors=(401, 403, 404),
        extra_responses={200: "Signed receipt XML (application/xml)"},
    ),
    Operation(
        "get",
        "/api/v1/receipts/{receipt_id}.pdf",
        "The receipt as PDF",
        scope="receipts:read",
        path_params=_ID,
        errors=(401, 403, 404),
        extra_responses={200: "Receipt PDF (application/pdf)"},
    ),
    Operation(
        "post",
        "/api/v1/receipts/{receipt_id}/replace",
        "Issue a replacement receipt (thay thế) correcting payer details, fee lines or "
        "amounts; money_consequence states a refund due (the request flagged refund_due) or an "
        "additional payment due (a new request for the difference, payment_request_id)",
        scope="receipts:write",
        body=ReplaceIn,
        response=ReceiptOut,
        status=201,
        path_params=_ID,
        errors=(401, 403, 404, 409, 422),
    ),
    Operation(
        "post",
        "/api/v1/receipts/{receipt_id}/error-notices",
        "Record an error notice (Mẫu 04/SS-CTĐT) for a name/address error; it is sent to "
        "the tax authority (tax_authority_status)",
        scope="receipts:write",
        body=ErrorNoticeIn,
        response=ErrorNoticeOut,
        status=201,
        path_params=_ID,
        errors=(401, 403, 404, 409, 422),
    ),
]
