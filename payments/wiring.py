"""Wire blueprints, outbox subscribers and view extensions of every package.

This is the one module allowed to import receipts and reconciliation on payments' behalf.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from payments.http import Container


def wire(container: Container) -> None:
    """Register outbox subscribers, jobs and extensions for a container (web, CLI, scheduler)."""
    from payments.outbox.webhooks import webhook_subscriber

    container.registry.add(webhook_subscriber(container.settings))
    _wire_receipts(container)
    _wire_metrics()
    register_jobs()


def _wire_metrics() -> None:
    """Business gauges of receipts and reconciliation, read from their tables on each scrape."""
    from payments.ops.metrics import GAUGE_QUERIES

    GAUGE_QUERIES["thuphi_receipts"] = (
        "Receipts by status and tax authority status (pending = not yet accepted)",
        "SELECT status, tax_authority_status, count(*) FROM receipts "
        "GROUP BY status, tax_authority_status",
        ["status", "tax_status"],
    )
    GAUGE_QUERIES["thuphi_reconciliation_exceptions"] = (
        "Reconciliation exceptions by reason and status (open = still to explain)",
        "SELECT reason, status, count(*) FROM recon_exceptions GROUP BY reason, status",
        ["reason", "status"],
    )


def _wire_receipts(container: Container) -> None:
    """Receipts subscribe to paid requests and add their receipts to a request's JSON."""
    from payments.payment_requests.services import VIEW_EXTENSIONS
    from receipts.jobs import subscribers
    from receipts.services import add_receipts_to_requests

    for subscriber in subscribers(container.settings):
        container.registry.add(subscriber)
    if add_receipts_to_requests not in VIEW_EXTENSIONS:
        VIEW_EXTENSIONS.append(add_receipts_to_requests)


def register_blueprints(app: Flask) -> None:
    from payments.auth.views import bp as auth_bp
    from payments.callbacks.views import bp as callbacks_bp
    from payments.catalog.views import bp as catalog_bp
    from payments.checkout.views import bp as checkout_bp
    from payments.openapi import bp as openapi_bp
    from payments.paygov.views import bp as paygov_bp
    from payments.payment_requests.views import bp as requests_bp

    for bp in (auth_bp, catalog_bp, requests_bp, openapi_bp, callbacks_bp, paygov_bp):
        app.register_blueprint(bp)
    from reconciliation.console.views import bp as console_bp
    from reconciliation.views import bp as reconciliation_bp

    app.register_blueprint(console_bp)
    app.register_blueprint(reconciliation_bp)
    app.register_blueprint(checkout_bp)
    if app.extensions["thuphi"].settings.demo:
        # the "simulate a payment" endpoints exist only in demo mode: 404 everywhere else
        from payments.demo.views import bp as demo_bp

        app.register_blueprint(demo_bp)
    from receipts.views import bp as receipts_bp
    from receipts.views import public_bp as receipts_public_bp

    app.register_blueprint(receipts_bp)
    app.register_blueprint(receipts_public_bp)


def register_jobs() -> None:
    """The periodic jobs of every package (ids are stable: they name the advisory locks)."""
    from payments.outbox.services import run_outbox
    from payments.paygov.services import poll_paygov
    from payments.payment_requests.services import expire_overdue
    from payments.scheduler import Job, register

    register(Job("outbox", lambda c: run_outbox(c.uow(), c.registry), "interval", {"seconds": 5}))
    register(
        Job(
            "expire_requests",
            lambda c: expire_overdue(uow=c.uow()),
            "interval",
            {"seconds": 60},
            period_seconds=60,
        )
    )
    from receipts.jobs import summarise_due

    # Mẫu 01/TH-BLĐT the same day: from THUPHI_RECEIPT_SUMMARY_AT the day so far, then
    # supplements; late catch-ups of missed days (a week); every 5 minutes, idempotent
    register(
        Job(
            "receipt_summaries",
            lambda c: summarise_due(uow=c.uow(), settings=c.settings),
            "interval",
            {"minutes": 5},
            period_seconds=300,
        )
    )
    from reconciliation import jobs as recon_jobs

    # nightly, for the previous business day of every account; once per day across schedulers
    register(
        Job(
            recon_jobs.JOB_ID,
            recon_jobs.reconcile_previous_day,
            "cron",
            recon_jobs.TRIGGER_ARGS,
            period_seconds=recon_jobs.PERIOD_SECONDS,
        )
    )
    # PayGov status poll: attempts pending between 30 minutes and 3 days old
    register(
        Job(
            "paygov_poll",
            lambda c: poll_paygov(c.uow(), c.settings),
            "interval",
            {"minutes": 5},
            period_seconds=300,
        )
    )


def demo_receipt_pair(folder: Path) -> tuple[Path, Path]:
    """A development receipt signing pair under ``folder`` (created once): ``(key, cert)``."""
    from receipts.devcert import generate_dev_pair

    key, cert = folder / "receipt-dev-key.pem", folder / "receipt-dev-cert.pem"
    if not (key.exists() and cert.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        key_pem, cert_pem = generate_dev_pair("thuphi demo (not for production receipts)")
        key.write_bytes(key_pem)
        key.chmod(0o600)
        cert.write_bytes(cert_pem)
    return key, cert


def register_commands(cli: object) -> None:
    """CLI command groups owned by other packages."""
    from payments.outbox.cli import outbox

    cli.add_command(outbox)  # type: ignore[attr-defined]
    from payments.vietqr.cli import vietqr

    cli.add_command(vietqr)  # type: ignore[attr-defined]
    from receipts.cli import receipts_cli

    cli.add_command(receipts_cli)  # type: ignore[attr-defined]
    from reconciliation.cli import register as register_reconciliation

    register_reconciliation(cli)
