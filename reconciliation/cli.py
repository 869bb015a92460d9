"""``thuphi statements import`` and ``thuphi reconcile``."""

from __future__ import annotations

import getpass
import time
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from payments.errors import DomainError
from payments.http import Container
from payments.money import vnd


def _container() -> Container:
    c: Container = current_app.extensions["thuphi"]
    return c


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


class _Progress:
    """Progress on standard error, at most every half second (stdout stays one JSON document)."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last >= 0.5 or done == total:
            self.last = now
            click.echo(f"  {stage}: {done:,}/{total:,}", err=True)


def _fail(exc: DomainError, as_json: bool) -> None:
    from payments.cli import fail

    fail(exc, as_json)


def _emit(data: Any, as_json: bool, human: Any) -> None:
    from payments.cli import emit

    emit(data, as_json, human)


@click.group("statements")
def statements() -> None:
    """Bank statements of beneficiary accounts."""


@statements.command("import")
@click.option("--account", "account_id", required=True, help="Beneficiary account id.")
@click.option("--format", "fmt", default=None, help="csv, vietcombank, vietinbank, bidv, …")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@with_appcontext
def import_cmd(account_id: str, fmt: str | None, file: Path, as_json: bool) -> None:
    """Import FILE as a statement of ACCOUNT: all of it, or nothing."""
    from reconciliation.importing import ImportStatement, import_statement

    cmd = ImportStatement(account_id, file.read_bytes(), file.name, fmt, _actor())
    try:
        result = import_statement(cmd, uow=_container().uow(), progress=_Progress())
    except DomainError as exc:
        _fail(exc, as_json)
        return
    _emit(
        result.as_dict(),
        as_json,
        lambda d: (
            f"statement {d['statement_id']} ({d['format']}): {d['lines_imported']} of "
            f"{d['lines_total']} lines imported, {d['lines_skipped']} already known"
        ),
    )


@click.command("reconcile")
@click.option("--account", "account_id", default=None, help="Every account when left out.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@with_appcontext
def reconcile_cmd(account_id: str | None, day: Any, as_json: bool) -> None:
    """Reconcile a business day (YYYY-MM-DD) of one account, or of all."""
    from reconciliation.runs import ReconcileDay, reconcile_all, reconcile_day

    business: date = day.date()
    uow = _container().uow()
    progress = _Progress()
    try:
        if account_id:
            runs = [
                reconcile_day(
                    ReconcileDay(account_id, business, _actor()), uow=uow, progress=progress
                )
            ]
        else:
            runs = reconcile_all(business, uow=uow, actor=_actor(), progress=progress)
    except DomainError as exc:
        _fail(exc, as_json)
        return
    _emit(runs if account_id is None else runs[0], as_json, lambda _d: _human(runs))


def _human(runs: list[dict[str, Any]]) -> str:
    out = []
    for run in runs:
        s = run["summary"]
        problems = ", ".join(f"{k} {v}" for k, v in s["exceptions"].items() if v) or "none"
        out.append(
            f"{run['account_id']} {run['date']}: {run['status']}; {s['statement_credits']} "
            f"credits ({vnd(s['credits_amount'])}), {s['matched']} matched, {s['proposed']} "
            f"proposed; exceptions: {problems}"
        )
    return "\n".join(out) if out else "no accounts"


def register(cli: Any) -> None:
    cli.add_command(statements)
    cli.add_command(reconcile_cmd)
