"""The ``thuphi`` console script: a Flask CLI group (so ``thuphi run`` is Flask's dev server)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from payments.app import create_app
from payments.auth.services import CreateClient, CreateUser, create_client, create_user
from payments.catalog.services import import_catalog, parse_document
from payments.cli_helpers import container, emit, fail, json_option
from payments.demo.cli import demo_cmd
from payments.errors import DomainError
from payments.migrate import upgrade
from payments.outbox.cli import outbox
from payments.paygov.cli import paygov
from payments.scheduler import build_scheduler
from payments.vietqr.cli import vietqr
from receipts.cli import receipts_cli
from reconciliation.cli import reconcile_cmd, statements


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def cli() -> None:
    """thuphi: fee payments, e-receipts and reconciliation."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    upgrade(container().engine, revision)
    click.echo(f"database at {revision}")


@cli.group()
def catalog() -> None:
    """Agencies, accounts, procedures, fees and reductions."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@with_appcontext
def catalog_import(file: Path, as_json: bool) -> None:
    """Import a catalog document (JSON or YAML): all of it, or nothing."""
    try:
        result = import_catalog(parse_document(file.read_bytes()), uow=container().uow())
    except DomainError as exc:
        fail(exc, as_json)
        return
    emit(
        result.as_dict(),
        as_json,
        lambda d: "imported " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in d.items()),
    )


@cli.group()
def clients() -> None:
    """Machine clients (dossier systems)."""


@clients.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="Repeat for each scope.")
@click.option("--agency", "agencies", multiple=True, help="Limit to agency codes (repeatable).")
@json_option
@with_appcontext
def clients_create(
    name: str, scopes: tuple[str, ...], agencies: tuple[str, ...], as_json: bool
) -> None:
    """Create a client; its secret is printed once and stored only hashed."""
    flat = [s for scope in scopes for s in scope.replace(",", " ").split()]
    try:
        creds = create_client(
            CreateClient(name, flat, list(agencies) or None), uow=container().uow()
        )
    except DomainError as exc:
        fail(exc, as_json)
        return
    data = {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "name": creds.name,
        "scopes": creds.scopes,
        "agencies": creds.agencies,
    }
    emit(
        data,
        as_json,
        lambda d: (
            f"client_id:     {d['client_id']}\nclient_secret: "
            f"{d['client_secret']}\n(the secret is shown only this once)"
        ),
    )


@cli.group()
def users() -> None:
    """Console users (finance officers, admins)."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["officer", "admin"]), required=True)
@click.option("--agency", default=None, help="The officer's agency code.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@json_option
@with_appcontext
def users_create(
    username: str, role: str, agency: str | None, password: str, as_json: bool
) -> None:
    """Create or reset a console user."""
    try:
        user = create_user(CreateUser(username, role, password, agency), uow=container().uow())
    except DomainError as exc:
        fail(exc, as_json)
        return
    emit(
        {"username": user.username, "role": user.role, "agency": user.agency_code},
        as_json,
        lambda d: f"user {d['username']} ({d['role']}{', ' + d['agency'] if d['agency'] else ''})",
    )


@cli.command("scheduler")
@with_appcontext
def scheduler_cmd() -> None:
    """Run the periodic jobs (outbox, expiry, polling, nightly reconciliation) in this process."""
    click.echo("scheduler started; Ctrl+C stops it")
    build_scheduler(container()).start()


# the groups every package owns, beside the root's own
for group in (demo_cmd, outbox, paygov, vietqr, receipts_cli, statements, reconcile_cmd):
    cli.add_command(group)


def main() -> None:
    cli(prog_name="thuphi")
