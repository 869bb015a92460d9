"""The ``thuphi`` console script: a Flask CLI group (so ``thuphi run`` is Flask's dev server)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from payments.errors import DomainError
from payments.http import Container


def _create_app() -> Flask:
    from payments.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """thuphi: fee payments, e-receipts and reconciliation."""


def container() -> Container:
    c: Container = current_app.extensions["thuphi"]
    return c


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """Exactly one JSON document on stdout with --json; a readable text otherwise."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))
    else:
        click.echo(human(data))


def fail(exc: DomainError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(exc.to_problem(), ensure_ascii=False, default=str, indent=2))
    else:
        click.echo(f"error: {exc.detail}", err=True)
        for err in exc.extra.get("errors", []) if isinstance(exc.extra.get("errors"), list) else []:
            click.echo(f"  {err.get('entry')}: {err.get('field')}: {err.get('message')}", err=True)
        if isinstance(exc.extra.get("errors"), dict):
            for field, msgs in exc.extra["errors"].items():
                click.echo(f"  {field}: {'; '.join(msgs)}", err=True)
    sys.exit(1)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations up to REVISION (default head)."""
    from payments.migrate import upgrade

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
    from payments.catalog.services import import_catalog, parse_document

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
    from payments.auth.services import CreateClient, create_client

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
    from payments.auth.services import CreateUser, create_user

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
    from payments.scheduler import build_scheduler

    click.echo("scheduler started; Ctrl+C stops it")
    build_scheduler(container()).start()


@cli.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and exit.")
def demo_cmd(host: str, port: int, no_serve: bool) -> None:
    """Create the SQLite demo database, load the demo catalog, start web server and scheduler."""
    from payments.demo import run_demo

    run_demo(host, port, serve=not no_serve)


def main() -> None:
    from payments.wiring import register_commands

    register_commands(cli)
    cli(prog_name="thuphi")
