"""Console pages for receipts, reports with their exports, and the catalog admin: plain view
functions, registered on the console blueprint by ``views.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from payments.catalog.services import import_catalog, parse_document
from payments.clock import today
from payments.errors import ValidationFailed
from payments.http import load, settings, uow
from receipts import services as receipt_services
from receipts.pdf import render_pdf
from receipts.schemas import ReplaceIn
from reconciliation.console import charts, exports, reports, services
from reconciliation.console.auth import (
    admin_required,
    agency_scope,
    console_principal,
    login_required,
)
from reconciliation.console.i18n import current_language, t
from reconciliation.console.labels import label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def query_date(name: str) -> date | None:
    """A date typed dd/mm/yyyy (how every page shows one) or ISO yyyy-mm-dd."""
    raw = request.args.get(name, "").strip()
    try:
        if "/" in raw:
            day, month, year = (int(part) for part in raw.split("/"))
            return date(year, month, day)
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


# ---------------------------------------------------------------- receipts


@login_required
def receipts() -> str:
    f = services.ReceiptFilter(
        text=request.args.get("q", ""),
        status=request.args.get("status", ""),
        tax_status=request.args.get("tax", ""),
        kind=request.args.get("kind", ""),
        date_from=query_date("from"),
        date_to=query_date("to"),
    )
    rows = services.search_receipts(f, agency_scope(), uow=uow())
    return render_template("console/receipts.html", rows=rows, f=f)


@login_required
def receipt(receipt_id: str) -> str:
    view = receipt_services.get_receipt(
        receipt_id, uow=uow(), settings=settings(), principal=console_principal()
    )
    return render_template("console/receipt.html", r=view, done=request.args.get("done", ""))


@login_required
def receipt_pdf(receipt_id: str) -> Response:
    doc = receipt_services.get_receipt_document(
        receipt_id, uow=uow(), principal=console_principal()
    )
    view = receipt_services.get_receipt(
        receipt_id, uow=uow(), settings=settings(), principal=console_principal()
    )
    pdf = render_pdf(doc, tax_authority_code=view["tax_authority_id"])
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{doc.series}-{doc.number:08d}.pdf"'
    )
    return response


def _form(*names: str) -> dict[str, str | None]:
    return {n: (request.form.get(n, "").strip() or None) for n in names}


@login_required
def replace_receipt(receipt_id: str) -> Response:
    """Corrected payer details and/or fee lines, read as the API reads its body (ReplaceIn),
    then the one replacement service; the new receipt's page shows the money consequence."""
    fields = _form("reason", "payer_name", "payer_address", "payer_id_number")
    if not fields["reason"]:
        raise ValidationFailed({"reason": [t("reason_required")]})
    original = receipt_services.get_receipt(
        receipt_id, uow=uow(), settings=settings(), principal=console_principal()
    )
    body: dict[str, object] = {k: v for k, v in fields.items() if v is not None}
    lines = _typed_lines()
    if lines != [{k: x[k] for k in LINE_FIELDS} for x in original["lines"]]:
        body["lines"] = lines  # only a change of the lines is a correction of them
    cmd = replace(load(ReplaceIn(), body), receipt_id=receipt_id)
    new = receipt_services.replace_receipt(
        cmd, uow=uow(), settings=settings(), principal=console_principal()
    )
    return redirect(url_for("console.receipt", receipt_id=new["id"], done="replaced"), 303)


LINE_FIELDS = ("fee_code", "quantity", "amount")


def _typed_lines() -> list[dict[str, object]]:
    """The form's fee lines (``line_fee_code``/``line_quantity``/``line_amount``, one per
    row); a row without a fee code is left out, amounts may be typed 200.000 or 200 000."""
    rows = zip(*(request.form.getlist(f"line_{name}") for name in LINE_FIELDS), strict=False)
    lines: list[dict[str, object]] = []
    for fee_code, quantity, amount in rows:
        if fee_code.strip():
            lines.append(
                {
                    "fee_code": fee_code.strip(),
                    "quantity": _whole(quantity, f"lines.{len(lines)}.quantity"),
                    "amount": _whole(amount, f"lines.{len(lines)}.amount"),
                }
            )
    if not lines:
        raise ValidationFailed({"lines": [t("lines_required")]})
    return lines


def _whole(typed: str, field: str) -> int:
    digits = typed.strip().replace(".", "").replace(",", "").replace(" ", "")
    if not digits.isdigit():
        raise ValidationFailed({field: [t("whole_number")]})
    return int(digits)


@login_required
def error_notice(receipt_id: str) -> Response:
    fields = _form("reason", "payer_name", "payer_address")
    if not fields["reason"]:
        raise ValidationFailed({"reason": [t("reason_required")]})
    cmd = receipt_services.RecordErrorNotice(receipt_id, **fields)  # type: ignore[arg-type]
    receipt_services.record_error_notice(
        cmd, uow=uow(), settings=settings(), principal=console_principal()
    )
    return redirect(url_for("console.receipt", receipt_id=receipt_id, done="notice"), 303)


# ---------------------------------------------------------------- reports


def _period() -> tuple[date, date]:
    end = query_date("to") or today()
    start = query_date("from") or end.replace(day=1)
    if start > end:
        start, end = end, start
    return max(start, end - timedelta(days=366)), end  # at most a year per report


@login_required
def reports_page() -> str:
    start, end = _period()
    rep = reports.report(agency_scope(), start, end, uow=uow())
    figures = {
        "per_day": charts.columns(
            t("chart_per_day"), [(d.strftime("%d/%m"), v) for d, v in rep.per_day], t("chart_max")
        ),
        "per_channel": charts.hbar(
            t("chart_per_channel"),
            [(label("provider", k, current_language()), v) for k, v in rep.per_channel.items()],
        ),
        "per_procedure": charts.hbar(
            t("chart_per_procedure"), [(f"{c} {n}", v) for c, n, _, v in rep.per_procedure]
        ),
        "reductions": charts.hbar(t("reductions"), [(b, v) for b, _, v in rep.reductions]),
    }
    # the QĐ 766 table for a report within one month (a year of dossiers is the API's, month
    # by month: read over a year at once it took seconds)
    one_month = (start.year, start.month) == (end.year, end.month)
    online = reports.online_by_agency(agency_scope(), start, end, uow=uow()) if one_month else None
    return render_template("console/reports.html", rep=rep, figures=figures, online=online)


@login_required
def export(fmt: str) -> Response:
    start, end = _period()
    scope = agency_scope()
    rows = exports.payments(scope, start, end, uow=uow())
    name = f"thu-phi-{start.isoformat()}-{end.isoformat()}"
    if fmt == "csv":
        response = Response(exports.to_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        body = exports.to_xlsx(reports.report(scope, start, end, uow=uow()), rows)
        response = Response(body, content_type=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# ---------------------------------------------------------------- admin


@admin_required
def admin_catalog() -> str:
    schedule = services.fee_schedule(uow=uow())
    return render_template("console/admin.html", s=schedule, result=None)


@admin_required
def admin_catalog_import() -> tuple[str, int]:
    upload = request.files.get("file")
    raw = upload.read() if upload and upload.filename else request.form.get("document", "")
    if not raw:
        raise ValidationFailed({"file": [t("choose_file")]})
    result = import_catalog(parse_document(raw), uow=uow())
    schedule = services.fee_schedule(uow=uow())
    return render_template("console/admin.html", s=schedule, result=result.as_dict()), 200
