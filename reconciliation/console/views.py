"""Console pages: parse the form or query, call one service, render."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response

from payments.auth.models import Role
from payments.auth.services import authenticate_user
from payments.clock import VN_TZ, as_utc, today
from payments.errors import DomainError, TooManyAttempts, Unauthorized, ValidationFailed
from payments.http import load, settings, uow
from payments.money import vnd as money_format
from payments.payment_requests.models import RequestStatus
from reconciliation import importing, runs
from reconciliation.console import bulk, labels, record_views, services, undo
from reconciliation.console.auth import (
    actor,
    agency_scope,
    check_csrf,
    console_principal,
    csrf_token,
    current_user,
    login_required,
    safe_next,
    sign_in,
    sign_out,
)
from reconciliation.console.i18n import current_language, field_name, t
from reconciliation.parsers import FORMATS
from reconciliation.schemas import ResolveIn

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.before_request(check_csrf)
# the checkout pages' headers, plus a policy allowing no inline script at all: every script and
# style is a file under /console/static, charts are inline SVG without style attributes
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@bp.after_request
def _harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


RESOLVE_FIELDS = ("action", "payment_request_id", "note")


@bp.context_processor
def _request_statuses() -> dict[str, Any]:
    # the request-status filter lists the states of the one enum
    return {"request_statuses": list(RequestStatus)}


@bp.app_template_filter("vnd")
def vnd(amount: int | None) -> str:
    return "" if amount is None else money_format(amount)


@bp.app_template_filter("vntime")
def vntime(moment: Any) -> str:
    return "" if moment is None else as_utc(moment).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("vndate")
def vndate(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


@bp.app_template_filter("label")
def label_filter(code: Any, family: str) -> str:
    return labels.label(family, code, current_language())


@bp.app_template_filter("field_message")
def field_message_filter(message: str) -> str:
    return labels.field_message(message, current_language())


@bp.app_template_filter("field_name")
def field_name_filter(field: str) -> str:
    return field_name(field)


@bp.app_template_filter("explain")
def explain_filter(detail: str) -> str:
    return labels.explain(detail, current_language(), money_format)


NAV = [
    ("console.accounts", "accounts"),
    ("console.reconciliation", "reconciliation"),
    ("console.receipts", "receipts"),
    ("console.reports_page", "reports"),
    ("console.budget_index", "budget"),
]


@bp.context_processor
def _context() -> dict[str, Any]:
    user = current_user()
    nav = NAV + ([("console.admin_catalog", "admin")] if user and user.role == Role.ADMIN else [])
    return {
        "t": t,
        "lang": current_language(),
        "csrf_token": csrf_token,
        "user": user,
        "console_nav": nav,
    }


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[str, int]:
    """A refused action is explained on a page, in the user's language, never as JSON."""
    return render_template("console/error.html", error=exc), exc.status


@bp.errorhandler(HTTPNotFound)
def _not_found(_: HTTPNotFound) -> tuple[str, int]:
    return render_template("console/error.html", error=None), 404


@bp.get("/<path:missing>")
def _unknown_page(missing: str) -> tuple[str, int]:
    """A mistyped console address is the console's own 404 page, not the API's JSON."""
    return render_template("console/error.html", error=None), 404


_date = record_views.query_date


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        try:
            user = authenticate_user(
                request.form.get("username", ""),
                request.form.get("password", ""),
                uow=uow(),
                ip=request.remote_addr or "",
            )
        except TooManyAttempts:
            error = t("throttled")
        except Unauthorized:
            error = t("wrong_login")
        else:
            sign_in(user)
            return redirect(safe_next(request.args.get("next")))
    status = 429 if error == t("throttled") else (401 if error else 200)
    return render_template("console/login.html", error=error), status


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    return redirect(url_for("console.login"))


@bp.get("/")
@login_required
def dashboard() -> str:
    board = services.dashboard(agency_scope(), today(), uow=uow(), settings=settings())
    return render_template("console/dashboard.html", board=board)


@bp.get("/payment-requests")
@login_required
def payment_requests() -> str:
    amount = request.args.get("amount", "").replace(".", "").replace(",", "").strip()
    f = services.RequestFilter(
        text=request.args.get("q", ""),
        amount=int(amount) if amount.isdigit() else None,
        status=request.args.get("status", ""),
        date_from=_date("from"),
        date_to=_date("to"),
    )
    rows = services.search_requests(f, agency_scope(), uow=uow())
    return render_template("console/requests.html", rows=rows, f=f)


@bp.get("/payment-requests/<request_id>")
@login_required
def payment_request(request_id: str) -> str:
    detail = services.request_detail(request_id, agency_scope(), uow=uow())
    if detail is None:
        abort(404)
    return render_template("console/request_detail.html", r=detail)


def _visible_or_404(value: Any) -> Any:
    if value is None:
        abort(404)
    return value


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(404)


# ---------------------------------------------------------------- accounts and statements


@bp.get("/accounts")
@login_required
def accounts() -> str:
    rows = services.list_accounts(agency_scope(), uow=uow())
    return render_template("console/accounts.html", accounts=rows)


@bp.get("/accounts/<account_id>")
@login_required
def account(account_id: str) -> str:
    page = _visible_or_404(services.account_page(account_id, agency_scope(), uow=uow()))
    return render_template("console/account.html", page=page, formats=FORMATS)


@bp.post("/accounts/<account_id>/statements")
@login_required
def upload_statement(account_id: str) -> Response:
    # another agency's account is a 404 before its file is even read (no 422 that tells apart)
    _visible_or_404(services.account_visible(account_id, agency_scope(), uow=uow()) or None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed({"file": [t("choose_file")]})
    fmt = request.form.get("format") or None
    cmd = importing.ImportStatement(account_id, upload.read(), upload.filename, fmt, actor())
    result = importing.import_statement(cmd, uow=uow(), principal=console_principal())
    target = url_for(
        "console.statement",
        account_id=account_id,
        statement_id=result.statement_id,
        imported=result.lines_imported,
        skipped=result.lines_skipped,
    )
    return redirect(target, 303)


@bp.get("/accounts/<account_id>/statements/<int:statement_id>")
@login_required
def statement(account_id: str, statement_id: int) -> str:
    page = services.statement_page(account_id, statement_id, agency_scope(), uow=uow())
    return render_template("console/statement.html", page=_visible_or_404(page))


# ---------------------------------------------------------------- reconciliation


@bp.get("/reconciliation")
@login_required
def reconciliation() -> str:
    scope = agency_scope()
    rows = services.list_accounts(scope, uow=uow())
    cals = [services.calendar(a["id"], scope, today(), uow=uow()) for a in rows]
    return render_template("console/reconciliation.html", calendars=cals)


@bp.get("/accounts/<account_id>/calendar")
@login_required
def calendar(account_id: str) -> str:
    cal = services.calendar(account_id, agency_scope(), today(), uow=uow())
    return render_template("console/reconciliation.html", calendars=[_visible_or_404(cal)])


@bp.get("/accounts/<account_id>/days/<day>")
@login_required
def day(account_id: str, day: str) -> str:
    args = request.args
    query = services.DayQuery(
        view=args.get("view", "exceptions"),
        status=args.get("status", "open"),
        reason=args.get("reason", ""),
        text=args.get("q", ""),
        sort=args.get("sort", "line"),
        page=args.get("page", 1, type=int) or 1,
        focus=args.get("focus", type=int),
    )
    scope = agency_scope()
    page = _visible_or_404(services.day_view(account_id, _day(day), scope, query, uow=uow()))
    pick = args.get("pick", type=int)
    found = []
    if pick is not None and (args.get("find") or "").strip():
        found = services.pick_requests(args.get("find", ""), account_id, scope, uow=uow())
    q = page["query"]
    kept = {"view": q.view, "status": q.status, "reason": q.reason, "q": q.text, "sort": q.sort}
    return render_template(
        "console/day.html",
        page=page,
        kept=kept,
        back=urlencode(kept | {"page": q.page}),
        pick=pick,
        found=found,
        done=args.get("done", ""),
    )


@bp.post("/accounts/<account_id>/days/<day>/run")
@login_required
def run_day(account_id: str, day: str) -> Response:
    cmd = runs.ReconcileDay(account_id, _day(day), actor())
    runs.reconcile_day(cmd, uow=uow(), principal=console_principal())
    return redirect(url_for("console.day", account_id=account_id, day=day, done="run"), 303)


@bp.get("/runs/<run_id>")
@login_required
def run(run_id: str) -> Response:
    where = _visible_or_404(services.run_account(run_id, agency_scope(), uow=uow()))
    return redirect(url_for("console.day", account_id=where[0], day=where[1].isoformat()))


@bp.get("/exceptions/<int:exception_id>")
@login_required
def exception(exception_id: int) -> Response:
    where = _visible_or_404(services.exception_account(exception_id, agency_scope(), uow=uow()))
    target = url_for("console.day", account_id=where[0], day=where[1].isoformat())
    return redirect(f"{target}#exception-{exception_id}")


@bp.post("/exceptions/<int:exception_id>/resolve")
@login_required
def resolve(exception_id: int) -> Response:
    form = {k: v.strip() for k, v in request.form.items() if k in RESOLVE_FIELDS and v.strip()}
    where = _visible_or_404(services.exception_account(exception_id, agency_scope(), uow=uow()))
    if form.get("payment_request_id"):
        typed = form["payment_request_id"]
        found = services.find_request_id(typed, where[0], agency_scope(), uow=uow())
        if found is None:
            raise ValidationFailed({"payment_request_id": [t("request_not_found") % typed]})
        form["payment_request_id"] = found
    body = load(ResolveIn(), form)
    cmd = runs.ResolveException(exception_id, actor=actor(), **body)
    runs.resolve_exception(cmd, uow=uow(), principal=console_principal())
    return _back_to_day(where, "resolved", exception_id)


def _back_to_day(where: tuple[str, date], done: str, focus: int | None = None) -> Response:
    """The day page again, with the officer's filters, sort and page (posted back as ``back``);
    the exception just handled is shown on top, with its undo."""
    target = url_for("console.day", account_id=where[0], day=where[1].isoformat())
    kept = request.form.get("back", "")
    query = f"{kept}&done={done}" if kept.startswith("view=") else f"done={done}"
    if focus is None:
        return redirect(f"{target}?{query}", 303)
    return redirect(f"{target}?{query}&focus={focus}#exception-{focus}", 303)


@bp.post("/exceptions/<int:exception_id>/undo")
@login_required
def undo_resolution(exception_id: int) -> Response:
    where = _visible_or_404(services.exception_account(exception_id, agency_scope(), uow=uow()))
    note = request.form.get("note", "").strip()
    if not note:
        raise ValidationFailed({"note": [t("reason_required")]})
    cmd = undo.UndoResolution(exception_id, note, actor())
    undo.undo_resolution(cmd, uow=uow(), principal=console_principal())
    return _back_to_day(where, "undone", exception_id)


@bp.post("/accounts/<account_id>/days/<day>/bulk")
@login_required
def bulk_resolve(account_id: str, day: str) -> Response:
    when = _day(day)
    _visible_or_404(services.account_visible(account_id, agency_scope(), uow=uow()) or None)
    note = request.form.get("note", "").strip()
    if not note:
        raise ValidationFailed({"note": [t("reason_required")]})
    cmd = bulk.BulkResolve(
        account_id,
        when,
        request.form.get("kind", ""),
        note,
        actor(),
        action=request.form.get("action", ""),
        exception_ids=[int(i) for i in request.form.getlist("ids") if i.isdigit()],
        min_similarity=request.form.get("min_similarity", 90, type=int) or 90,
    )
    result = bulk.bulk_resolve(cmd, uow=uow(), scope=agency_scope(), principal=console_principal())
    done = f"bulk&resolved={len(result.resolved)}&refused={len(result.refused)}"
    return _back_to_day((account_id, when), done)


# receipts, reports and the catalog admin (record_views.py)
for rule, view, methods in (
    ("/receipts", record_views.receipts, ["GET"]),
    ("/receipts/<receipt_id>", record_views.receipt, ["GET"]),
    ("/receipts/<receipt_id>.pdf", record_views.receipt_pdf, ["GET"]),
    ("/receipts/<receipt_id>/replace", record_views.replace_receipt, ["POST"]),
    ("/receipts/<receipt_id>/error-notices", record_views.error_notice, ["POST"]),
    ("/reports", record_views.reports_page, ["GET"]),
    ("/reports/export.<any(csv, xlsx):fmt>", record_views.export, ["GET"]),
    ("/admin/catalog", record_views.admin_catalog, ["GET"]),
    ("/admin/catalog", record_views.admin_catalog_import, ["POST"]),
):
    bp.add_url_rule(rule, view_func=view, methods=methods)
