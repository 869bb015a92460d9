"""The console's budget section (Ngân sách) for the finance officer: a month's obligations and
what is overdue, the remittances and the form recording one, the payment orders (giấy nộp tiền
vào NSNN) to download, and the month's declaration. Routes on the console's blueprint, put there
by the wiring (like ``paygov``); an officer sees only their agency (another is a 404).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from payments.clock import today
from payments.errors import ValidationFailed
from payments.http import load, uow
from receipts.budget.orders import outstanding_order, remittance_order
from receipts.budget.schemas import PERIOD, RemittanceIn
from receipts.budget.services import RecordRemittance, record_remittance
from receipts.budget.views import declaration_file, order_file
from reconciliation.console.auth import agency_scope, console_principal, login_required
from reconciliation.console.i18n import t
from reconciliation.console.services.budget import (
    budget_agencies,
    budget_page,
    declaration_page,
)
from reconciliation.console.views import bp

WEEK = re.compile(r"(\d{4})-W(\d{2})\Z")
# the declaration's files at .../declarations/<YYYY-MM>.<fmt>
DECLARATION_FORMATS = ("xlsx", "pdf", "xml")
DECLARATION_FILE = "console.budget_declaration_file"
REMIT_FIELDS = ("amount", "paid_on", "order_reference")


def _mine(agency_code: str) -> str:
    """The agency's code if the user may see it; otherwise the page does not exist for them."""
    scope = agency_scope()
    if scope is not None and agency_code not in scope:
        abort(404)
    return agency_code


def _period(raw: str | None) -> str:
    """``YYYY-MM`` asked for, else the month before this one (what is declared and remitted
    at the start of a month)."""
    if raw and PERIOD.match(raw):
        return raw
    first = today().replace(day=1)
    last_month = (
        date(first.year - 1, 12, 1) if first.month == 1 else first.replace(month=first.month - 1)
    )
    return f"{last_month:%Y-%m}"


@bp.app_template_filter("budget_period")
def budget_period(period: str) -> str:
    """``2026-11`` → "Tháng 11/2026", ``2026-W45`` → "Tuần 45/2026" (English when chosen)."""
    week = WEEK.match(period or "")
    if week:
        return t("budget_week").format(week=int(week.group(2)), year=week.group(1))
    year, _, month = (period or "").partition("-")
    return t("budget_month").format(month=month, year=year)


def months_around(period: str) -> tuple[str, str]:
    year, month = (int(part) for part in period.split("-"))
    before = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    after = f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"
    return before, after


@bp.get("/budget")
@login_required
def budget_index() -> Any:
    agencies = budget_agencies(agency_scope(), uow=uow())
    if len(agencies) == 1:
        return redirect(url_for("console.budget", agency=agencies[0][0]))
    return render_template("console/budget_index.html", agencies=agencies)


@bp.get("/budget/<agency>")
@login_required
def budget(agency: str) -> str:
    period = _period(request.args.get("period"))
    page = budget_page(_mine(agency), period, today(), console_principal(), uow=uow())
    return render_template(
        "console/budget.html",
        page=page,
        period=period,
        around=months_around(period),
        done=request.args.get("done", ""),
    )


@bp.post("/budget/<agency>/remittances")
@login_required
def budget_remit(agency: str) -> Response:
    mine = _mine(agency)  # another agency's form is a 404 before its fields are read
    cmd = RecordRemittance(agency_code=mine, **load(RemittanceIn(), _remit_form()))
    view, _ = record_remittance(cmd, uow=uow(), principal=console_principal())
    target = url_for(
        "console.budget",
        agency=agency,
        done="remitted",
        remittance=view["id"],
        _anchor=f"remittance-{view['id']}",
    )
    return redirect(target, 303)


def _remit_form() -> dict[str, Any]:
    """The form as the API's body: an amount typed with dots (120.000), a day dd/mm/yyyy."""
    form: dict[str, Any] = {k: v.strip() for k, v in request.form.items() if k in REMIT_FIELDS}
    amount = form.get("amount", "").replace(".", "").replace(",", "").replace(" ", "")
    form["amount"] = int(amount) if amount.isdigit() else amount
    form["paid_on"] = _iso_date(form.get("paid_on", ""))
    return form


def _iso_date(raw: str) -> str:
    """A day typed dd/mm/yyyy (as every console page shows one) as ISO; ISO stays ISO."""
    if "/" not in raw:
        return raw
    try:
        day, month, year = (int(part) for part in raw.split("/"))
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValidationFailed({"paid_on": [t("budget_bad_date")]}) from None


@bp.get("/budget/<agency>/declarations/<period>")
@login_required
def budget_declaration(agency: str, period: str) -> str:
    if not PERIOD.match(period):
        abort(404)
    decl = declaration_page(_mine(agency), period, console_principal(), uow=uow())
    return render_template("console/budget_declaration.html", decl=decl, files=_files(decl))


@bp.get("/budget/<agency>/declarations/<period>.<any(xlsx, pdf, xml):fmt>")
@login_required
def budget_declaration_file(agency: str, period: str, fmt: str) -> Response:
    if not PERIOD.match(period):
        abort(404)
    decl = declaration_page(_mine(agency), period, console_principal(), uow=uow())
    return declaration_file(decl, fmt, f"{period}.{fmt}")


def _files(decl: dict[str, Any]) -> list[tuple[str, str]]:
    """The declaration's downloads (the same files as the API's)."""
    where = {"agency": decl["agency_code"], "period": decl["period"]}
    return [(fmt, url_for(DECLARATION_FILE, fmt=fmt, **where)) for fmt in DECLARATION_FORMATS]


@bp.get("/budget/<agency>/payment-order.<any(pdf, xml, csv):fmt>")
@login_required
def budget_payment_order(agency: str, fmt: str) -> Response:
    order = outstanding_order(_mine(agency), uow=uow(), principal=console_principal())
    return order_file(order, fmt)


@bp.get("/budget/<agency>/remittances/<remittance_id>/payment-order.<any(pdf, xml, csv):fmt>")
@login_required
def budget_remittance_order(agency: str, remittance_id: str, fmt: str) -> Response:
    principal = console_principal()
    order = remittance_order(_mine(agency), remittance_id, uow=uow(), principal=principal)
    return order_file(order, fmt)
