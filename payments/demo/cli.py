"""``thuphi demo``: migrate a SQLite database, load the demo catalog, create a client and two
users, then serve the app with its scheduler and fake providers in this process."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from werkzeug.serving import run_simple

from payments.app import build_container, create_app
from payments.auth.services import CreateClient, CreateUser, create_client, create_user
from payments.catalog.services import import_catalog, parse_document
from payments.config import Settings
from payments.demo import ADMIN, CATALOG, DEMO_PROVIDERS, OFFICER
from payments.demo.fakes import DemoPayGov
from payments.migrate import upgrade
from payments.scheduler import build_scheduler
from payments.wiring import demo_receipt_pair
from providers.fakes.taxauthority import FakeTaxAuthority


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and exit.")
def demo_cmd(host: str, port: int, no_serve: bool) -> None:
    """Create the SQLite demo database, load the demo catalog, start web server and scheduler."""
    run_demo(host, port, serve=not no_serve)


def demo_settings(host: str, port: int) -> Settings:
    settings = Settings.from_env()
    public = os.environ.get("THUPHI_PUBLIC_URL") or f"http://{host}:{port}"
    missing: dict[str, Any] = {k: v for k, v in DEMO_PROVIDERS.items() if not getattr(settings, k)}
    return _with_receipt_pair(replace(settings, demo=True, public_url=public, **missing))


def _with_receipt_pair(settings: Settings) -> Settings:
    """Receipts are signed with a development pair kept in ``instance/`` unless one is set."""
    if settings.receipt_cert and settings.receipt_key:
        return settings
    instance = Path(os.environ.get("THUPHI_INSTANCE_PATH", Path.cwd() / "instance"))
    key, cert = demo_receipt_pair(instance)
    # the environment too, so ``thuphi`` commands run beside the demo sign with the same pair
    os.environ["THUPHI_RECEIPT_KEY"], os.environ["THUPHI_RECEIPT_CERT"] = str(key), str(cert)
    return replace(settings, receipt_key=str(key), receipt_cert=str(cert))


def prepare(settings: Settings) -> dict[str, str]:
    """Migrate, load the catalog, create a client and users; returns what to print."""
    c = build_container(settings)
    upgrade(c.engine)
    import_catalog(parse_document(CATALOG.read_bytes()), uow=c.uow())
    creds = create_client(
        CreateClient(
            "demo-dossier-system",
            ["payments:write", "receipts:write", "reconciliation:write", "catalog:write"],
        ),
        uow=c.uow(),
    )
    create_user(CreateUser(OFFICER[0], "officer", OFFICER[1], OFFICER[2]), uow=c.uow())
    create_user(CreateUser(ADMIN[0], "admin", ADMIN[1]), uow=c.uow())
    return {"client_id": creds.client_id, "client_secret": creds.client_secret}


def run_demo(host: str, port: int, serve: bool = True) -> None:
    settings = demo_settings(host, port)
    creds = prepare(settings)
    base = settings.public_url
    platform = None
    if serve and not settings.paygov_url:
        # the fake national platform runs in this process; its payment page calls us back
        platform = DemoPayGov(
            settings.paygov_secret,
            partner_code=settings.paygov_partner_code,
            access_token=settings.paygov_access_token,
            public_url=base,
        ).start()
        settings = replace(settings, paygov_url=platform.url)
    tax_authority = None
    if serve and not settings.tax_url:
        # the fake tax authority accepts receipt XML and daily summaries (Mẫu 01/TH-BLĐT)
        tax_authority = FakeTaxAuthority().start()
        settings = replace(settings, tax_url=tax_authority.url)
    click.echo(f"""
thuphi demo — database: {settings.database_url}

  API docs        {base}/api/docs   (OpenAPI: {base}/api/openapi.json)
  Officer console {base}/console/login
                  officer {OFFICER[0]} / {OFFICER[1]}
                  admin   {ADMIN[0]} / {ADMIN[1]}
  Health          {base}/healthz

  API client      client_id={creds["client_id"]}
                  client_secret={creds["client_secret"]}

  Try it:
    TOKEN=$(curl -s -X POST {base}/api/v1/token -H 'Content-Type: application/json' \\
      -d '{{"client_id":"{creds["client_id"]}","client_secret":"{creds["client_secret"]}"}}' \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    curl -s "{base}/api/v1/fees/quote?procedure=1.012345&channel=online&date=2025-06-01" \\
      -H "Authorization: Bearer $TOKEN"

  Simulated providers (demo only): the checkout page /pay/<token> offers
    POST {base}/pay/<token>/simulate/transfer   a VietQR bank transfer (fake bank notification)
    POST {base}/pay/<token>/simulate/card       a card payment at the counter (fake POS)
    POST {base}/pay/<token>/simulate/portal     the national portal (fake PayGov payment page)
  Fake national platform: {settings.paygov_url or "(starts with the server)"}
  Fake tax authority:     {settings.tax_url or "(starts with the server)"}
  Receipts: GET {base}/api/v1/receipts?payment_request_id=…  (signed with the development
            pair in {Path(settings.receipt_cert).parent}); late tax submissions:
            thuphi receipts pending-tax
""")
    if not serve:
        return
    app = create_app(settings)
    scheduler = build_scheduler(app.extensions["thuphi"], background=True)
    scheduler.start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        scheduler.shutdown(wait=False)
        if platform is not None:
            platform.stop()
        if tax_authority is not None:
            tax_authority.stop()
