"""``thuphi statements import`` and ``thuphi reconcile``."""

from __future__ import annotations

import getpass
import time
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from payments.cli_helpers import container, emit, fail
from payments.errors import DomainError
from payments.money import vnd
from reconciliation.importing import ImportStatement, import_statement
from reconciliation.runs import ReconcileDay, reconcile_all, reconcile_day


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


@click.group("statements")
def statements() -> None:
    """Bank statements of beneficiary accounts."""


@statements.command("import")
@click.option("--account", "account_id", required=True, help="Beneficiary account id.")
@click.option("--format", "fmt", default=None, help="csv, vietcombank, vietinbank, bidv, …")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--force", is_flag=True, help="Import even if its references say it is another account's."
)
@with_appcontext
def import_cmd(account_id: str, fmt: str | None, file: Path, as_json: bool, force: bool) -> None:
    """Import FILE as a statement of ACCOUNT: all of it, or nothing."""
    cmd = ImportStatement(
        account_id,
        file.read_bytes(),
        file.name,
        fmt,
        _actor(),
        override=force,
        max_amount=container().settings.max_amount,
    )
    try:
        result = import_statement(cmd, uow=container().uow(), progress=_Progress())
    except DomainError as exc:
        fail(exc, as_json)
        return
    emit(
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
    business: date = day.date()
    uow = container().uow()
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
        fail(exc, as_json)
        return
    emit(runs if account_id is None else runs[0], as_json, lambda _d: _human(runs))


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
