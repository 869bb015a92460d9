"""Wire blueprints, outbox subscribers, jobs and view extensions of every package into one app.

This is the one module allowed to import receipts and reconciliation on payments' behalf. What it
registers goes into the container or the app it is given, never into a module: a process may hold
several apps (tests, the demo) and each sees only its own.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

import reconciliation.console.budget  # puts the budget section's routes on bp (as paygov below)
import reconciliation.console.paygov  # noqa: F401 - puts the request page's portal routes on bp
from payments.auth.views import bp as auth_bp
from payments.callbacks.views import bp as callbacks_bp
from payments.catalog.views import bp as catalog_bp
from payments.checkout.views import bp as checkout_bp
from payments.clock import today
from payments.container import Container, GaugeQuery, Job
from payments.demo.views import bp as demo_bp
from payments.openapi import OPERATIONS, add_operations
from payments.openapi import bp as openapi_bp
from payments.outbox.services import run_outbox
from payments.outbox.webhooks import webhook_subscriber
from payments.paygov.jobs import bill_subscriber, poll_paygov
from payments.paygov.services import paygov_configured
from payments.paygov.views import bp as paygov_bp
from payments.payment_requests.services import expire_overdue
from payments.payment_requests.views import bp as requests_bp
from receipts.budget import reminders as budget_reminders
from receipts.budget.views import OPERATIONS as BUDGET_OPERATIONS
from receipts.budget.views import bp as budget_bp
from receipts.devcert import generate_dev_pair
from receipts.jobs import subscribers as receipt_subscribers
from receipts.jobs import summarise_due
from receipts.services import add_receipts_to_requests
from receipts.views import OPERATIONS as RECEIPT_OPERATIONS
from receipts.views import bp as receipts_bp
from receipts.views import public_bp as receipts_public_bp
from reconciliation import jobs as recon_jobs
from reconciliation.console.views import bp as console_bp
from reconciliation.indicators.views import OPERATIONS as INDICATOR_OPERATIONS
from reconciliation.indicators.views import bp as indicators_bp
from reconciliation.views import OPERATIONS as RECONCILIATION_OPERATIONS
from reconciliation.views import bp as reconciliation_bp

# business gauges of receipts and reconciliation, read from their tables on each scrape
GAUGES: dict[str, GaugeQuery] = {
    "thuphi_receipts": (
        "Receipts by status and tax authority status (pending = not yet accepted)",
        "SELECT status, tax_authority_status, count(*) FROM receipts "
        "GROUP BY status, tax_authority_status",
        ["status", "tax_status"],
    ),
    "thuphi_reconciliation_exceptions": (
        "Reconciliation exceptions by reason and status (open = still to explain)",
        "SELECT reason, status, count(*) FROM recon_exceptions GROUP BY reason, status",
        ["reason", "status"],
    ),
}


def wire(container: Container) -> None:
    """Register outbox subscribers, jobs, view extensions and gauges in a container (web, CLI,
    scheduler)."""
    container.registry.add(webhook_subscriber(container.settings))
    if paygov_configured(container.settings):
        # the platform's own receipt (GET_BILL) of each paid portal payment
        container.registry.add(bill_subscriber(container.settings))
    # receipts subscribe to paid requests and add their receipts to a request's JSON
    for subscriber in receipt_subscribers(container.settings):
        container.registry.add(subscriber)
    container.view_extensions.append(add_receipts_to_requests)
    container.gauges.update(GAUGES)
    container.jobs.extend(jobs())


def register_blueprints(app: Flask) -> None:
    """Every package's blueprints, and their operations in the app's OpenAPI document."""
    for bp in (auth_bp, catalog_bp, requests_bp, openapi_bp, callbacks_bp, paygov_bp):
        app.register_blueprint(bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(reconciliation_bp)
    app.register_blueprint(checkout_bp)
    if app.extensions["thuphi"].settings.demo:
        # the "simulate a payment" endpoints exist only in demo mode: 404 everywhere else
        app.register_blueprint(demo_bp)
    app.register_blueprint(receipts_bp)
    app.register_blueprint(receipts_public_bp)
    app.register_blueprint(budget_bp)
    app.register_blueprint(indicators_bp)
    add_operations(
        app,
        [
            *OPERATIONS,
            *RECONCILIATION_OPERATIONS,
            *RECEIPT_OPERATIONS,
            *BUDGET_OPERATIONS,
            *INDICATOR_OPERATIONS,
        ],
    )


def jobs() -> list[Job]:
    """The periodic jobs of every package (ids are stable: they name the advisory locks)."""
    return [
        Job("outbox", lambda c: run_outbox(c.uow(), c.registry), "interval", {"seconds": 5}),
        Job(
            "expire_requests",
            lambda c: expire_overdue(uow=c.uow()),
            "interval",
            {"seconds": 60},
            period_seconds=60,
        ),
        # Mẫu 01/TH-BLĐT the same day: from THUPHI_RECEIPT_SUMMARY_AT the day so far, then
        # supplements; late catch-ups of missed days (a week); every 5 minutes, idempotent
        Job(
            "receipt_summaries",
            lambda c: summarise_due(uow=c.uow(), settings=c.settings),
            "interval",
            {"minutes": 5},
            period_seconds=300,
        ),
        # nightly, for the previous business day of every account; once per day across schedulers
        Job(
            recon_jobs.JOB_ID,
            recon_jobs.reconcile_previous_day,
            "cron",
            recon_jobs.TRIGGER_ARGS,
            period_seconds=recon_jobs.PERIOD_SECONDS,
        ),
        # what is overdue to the state budget, reminded once a day per agency, fee and period
        Job(
            budget_reminders.JOB_ID,
            lambda c: budget_reminders.remind_overdue(today(), uow=c.uow()),
            "cron",
            budget_reminders.TRIGGER_ARGS,
            period_seconds=budget_reminders.PERIOD_SECONDS,
        ),
        # PayGov status poll: attempts pending between 30 minutes and 3 days old
        Job(
            "paygov_poll",
            lambda c: poll_paygov(c.uow(), c.settings),
            "interval",
            {"minutes": 5},
            period_seconds=300,
        ),
    ]


def demo_receipt_pair(folder: Path) -> tuple[Path, Path]:
    """A development receipt signing pair under ``folder`` (created once): ``(key, cert)``."""
    key, cert = folder / "receipt-dev-key.pem", folder / "receipt-dev-cert.pem"
    if not (key.exists() and cert.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        key_pem, cert_pem = generate_dev_pair("thuphi demo (not for production receipts)")
        key.write_bytes(key_pem)
        key.chmod(0o600)
        cert.write_bytes(cert_pem)
    return key, cert
