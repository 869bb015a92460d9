"""The request page's national-portal block: its payments, "poll now", the platform's receipts.

Kept apart from ``views`` (included by ``request_detail.html`` as ``_paygov.html``): a citizen
calls to say they paid on the portal; the officer asks the platform at once, and can open the
platform's own receipt (GET_BILL) once it is fetched.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from werkzeug.wrappers import Response

from payments.http import settings, uow
from payments.paygov import jobs, services
from reconciliation.console.auth import agency_scope, login_required
from reconciliation.console.i18n import t
from reconciliation.console.views import bp


def paygov_t(key: str, **values: Any) -> str:
    """A phrase of the console's phrase book (``paygov_<key>``), with its values filled in."""
    return t(f"paygov_{key}").format(**values)


@bp.app_template_global("paygov_attempts")
def paygov_attempts(request_id: str) -> list[dict[str, Any]]:
    """The request's portal payments for the page (the page itself checked the officer's scope)."""
    return services.list_attempts(request_id, agency_scope(), uow=uow())


bp.add_app_template_global(paygov_t, "paygov_t")


@bp.post("/payment-requests/<request_id>/paygov/poll")
@login_required
def paygov_poll(request_id: str) -> Response:
    summary = jobs.poll_paygov(
        uow(), settings(), payment_request_id=request_id, scope=agency_scope()
    )
    target = url_for(
        "console.payment_request",
        request_id=request_id,
        paygov_polled=f"{summary.applied}-{summary.still_pending}-{summary.errors}",
        _anchor="paygov",
    )
    return redirect(target, 303)


@bp.get("/payment-requests/<request_id>/paygov/bills/<sha256>.pdf")
@login_required
def paygov_bill(request_id: str, sha256: str) -> Response:
    content = services.get_bill(request_id, sha256, agency_scope(), uow=uow())
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="paygov-{sha256[:12]}.pdf"'
    response.headers["X-Content-SHA256"] = sha256
    return response
