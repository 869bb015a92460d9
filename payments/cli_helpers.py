"""Helpers every command group shares: the app's container, one JSON document or a readable
text, and failures as problems. The ``thuphi`` root (payments.cli) imports the groups; the groups
import only this."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app

from payments.container import Container
from payments.errors import DomainError


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
