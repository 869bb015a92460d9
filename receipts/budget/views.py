"""Remitting endpoints (DESIGN §4.2): an agency's obligations per month and its remittances."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from marshmallow import Schema

from payments.auth.models import Scope
from payments.errors import NotFound
from payments.http import authenticate, json_body, load, reply, uow
from payments.openapi import Operation
from receipts.budget import services
from receipts.budget.declarations import month_declaration, year_settlement
from receipts.budget.documents.pdf import declaration_pdf
from receipts.budget.documents.tabular import declaration_xlsx, journal_csv, journal_xlsx
from receipts.budget.documents.xml import declaration_xml
from receipts.budget.journal import month_journal
from receipts.budget.order_files import FORMATS, render
from receipts.budget.orders import outstanding_order, remittance_order
from receipts.budget.schemas import (
    DeclarationOut,
    DocumentQuery,
    JournalOut,
    ObligationQuery,
    ObligationsOut,
    OrderQuery,
    RemittanceIn,
    RemittanceOut,
    RemittancesOut,
    SettlementOut,
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


@bp.get("/agencies/<code>/remittances")
def remittances(code: str) -> tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    found = services.list_remittances(code, uow=uow(), principal=principal)
    return reply(RemittancesOut(), {"agency_code": code, "remittances": found})


@bp.get("/agencies/<code>/remittances/<remittance_id>/payment-order.<any(pdf, xml, csv):fmt>")
def remittance_payment_order(code: str, remittance_id: str, fmt: str) -> Response:
    principal = authenticate(Scope.RECEIPTS_READ)
    order = remittance_order(code, remittance_id, uow=uow(), principal=principal)
    return order_file(order, fmt)


@bp.get("/agencies/<code>/payment-order.<any(pdf, xml, csv):fmt>")
def payment_order(code: str, fmt: str) -> Response:
    """The order to prepare before paying: what is outstanding for ended periods on ``as_of``."""
    principal = authenticate(Scope.RECEIPTS_READ)
    query = load(OrderQuery(), request.args.to_dict())
    order = outstanding_order(code, uow=uow(), principal=principal, as_of=query["as_of"])
    return order_file(order, fmt)


def order_file(order: dict[str, Any], fmt: str) -> Response:
    """A payment order as a download (the console's links answer the same files)."""
    body, media_type, name = render(order, fmt)
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/agencies/<code>/declarations/<name>")
def declaration(code: str, name: str) -> Response | tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    found = _named(DECLARATION, name, "YYYY-MM or YYYY, optionally .xlsx, .pdf or .xml")
    supplement = load(DocumentQuery(), request.args.to_dict())["supplement"]
    if found["month"] is None:
        schema: Schema = SettlementOut()
        view = year_settlement(
            code, int(found["year"]), uow=uow(), principal=principal, supplement=supplement
        )
    else:
        schema, period = DeclarationOut(), f"{found['year']}-{found['month']}"
        view = month_declaration(
            code, period, uow=uow(), principal=principal, supplement=supplement
        )
    if found["suffix"] is None:
        return reply(schema, view)
    return declaration_file(view, found["suffix"], name)


def declaration_file(view: dict[str, Any], suffix: str, name: str) -> Response:
    """A declaration or settlement as a download (the console's links answer the same files)."""
    body = DECLARATION_FILES[suffix](view)
    stem = f"{view['form'].replace('/', '-')}_{view['agency_code']}_{name}"
    return _file(body, suffix, stem)


@bp.get("/agencies/<code>/journal/<name>")
def journal(code: str, name: str) -> Response | tuple[Response, int]:
    principal = authenticate(Scope.RECEIPTS_READ)
    found = _named(JOURNAL, name, "YYYY-MM, optionally .csv or .xlsx")
    view = month_journal(code, found["period"], uow=uow(), principal=principal)
    if found["suffix"] is None:
        return reply(JournalOut(), view)
    body = JOURNAL_FILES[found["suffix"]](view)
    return _file(body, found["suffix"], f"nhat-ky_{code}_{name}")


# years 1000–2999: a calendar the date type can hold on both sides of the period
DECLARATION = re.compile(
    r"(?P<year>[12]\d{3})(-(?P<month>0[1-9]|1[0-2]))?(\.(?P<suffix>xlsx|pdf|xml))?\Z", re.ASCII
)
JOURNAL = re.compile(r"(?P<period>[12]\d{3}-(0[1-9]|1[0-2]))(\.(?P<suffix>csv|xlsx))?\Z", re.ASCII)
DECLARATION_FILES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "xlsx": declaration_xlsx,
    "pdf": declaration_pdf,
    "xml": declaration_xml,
}
JOURNAL_FILES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "csv": journal_csv,
    "xlsx": journal_xlsx,
}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "csv": "text/csv; charset=utf-8",
}


def _named(pattern: re.Pattern[str], name: str, expected: str) -> re.Match[str]:
    found = pattern.match(name)
    if found is None:
        raise NotFound(f"a document here is named {expected}")
    return found


def _file(body: bytes, suffix: str, stem: str) -> Response:
    response = Response(body, content_type=MEDIA_TYPES[suffix])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}"'
    return response


_CODE = ("code",)
_PERIOD = ("code", "period")


def _files(what: str, summary: str, kinds: dict[str, str]) -> list[Operation]:
    """The file forms of ``/agencies/{code}/<what>/{period}``, one operation per suffix."""
    return [
        Operation(
            "get",
            f"/api/v1/agencies/{{code}}/{what}/{{period}}.{suffix}",
            summary.format(text),
            scope="receipts:read",
            query=DocumentQuery if what == "declarations" else None,
            path_params=_PERIOD,
            errors=(401, 403, 404, 422),
            extra_responses={200: f"{text} ({MEDIA_TYPES[suffix]})"},
        )
        for suffix, text in kinds.items()
    ]


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
        "The monthly declaration (period YYYY-MM, Mẫu 01/PHLP's data) or the yearly settlement "
        "(period YYYY, Mẫu 02/PHLP's data and what was remitted); ?supplement=n for the n-th "
        "supplement (bổ sung)",
        scope="receipts:read",
        query=DocumentQuery,
        response=SettlementOut,
        path_params=_PERIOD,
        errors=(401, 403, 404, 422),
    ),
    *_files(
        "declarations",
        "The declaration (YYYY-MM) or settlement (YYYY) as {} in the form's layout",
        {"xlsx": "XLSX", "pdf": "PDF", "xml": "XML"},
    ),
    Operation(
        "get",
        "/api/v1/agencies/{code}/journal/{period}",
        "The accounting journal of a month (YYYY-MM): a row per receipt line, refunds reversed, "
        "the month's split (3373/3332/336/014) and remittances, with debit and credit accounts",
        scope="receipts:read",
        response=JournalOut,
        path_params=_PERIOD,
        errors=(401, 403, 404),
    ),
    *_files(
        "journal",
        "The accounting journal of a month as {}",
        {"csv": "CSV (UTF-8 with BOM)", "xlsx": "XLSX"},
    ),
    Operation(
        "get",
        "/api/v1/agencies/{code}/remittances",
        "An agency's remittances to the State Treasury, the latest paid first",
        scope="receipts:read",
        response=RemittancesOut,
        path_params=_CODE,
        errors=(401, 403, 404),
    ),
]
# the payment order (giấy nộp tiền vào NSNN, Mẫu C1-02/NS) as each file
_MEDIA = {"pdf": "PDF (application/pdf)", "xml": "XML (application/xml)", "csv": "CSV (text/csv)"}
for _fmt in FORMATS:
    OPERATIONS += [
        Operation(
            "get",
            f"/api/v1/agencies/{{code}}/remittances/{{remittance_id}}/payment-order.{_fmt}",
            f"The payment order of a recorded remittance (Mẫu C1-02/NS) as {_fmt.upper()}",
            scope="receipts:read",
            path_params=("code", "remittance_id"),
            errors=(401, 403, 404),
            extra_responses={200: f"Payment order {_MEDIA[_fmt]}"},
        ),
        Operation(
            "get",
            f"/api/v1/agencies/{{code}}/payment-order.{_fmt}",
            "The payment order to prepare before paying: every obligation of a period ended "
            f"before as_of (default today) not yet remitted, as {_fmt.upper()}",
            scope="receipts:read",
            query=OrderQuery,
            path_params=_CODE,
            errors=(401, 403, 404, 422),
            extra_responses={200: f"Payment order {_MEDIA[_fmt]}"},
        ),
    ]
