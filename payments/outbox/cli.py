"""``thuphi outbox list|retry``: see deliveries that keep failing; put them back in the queue."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from payments.cli_helpers import container, emit, json_option
from payments.outbox.models import DeliveryStatus
from payments.outbox.services import list_deliveries, retry_parked


@click.group()
def outbox() -> None:
    """Outgoing deliveries (dossier webhooks, tax authority)."""


def _line(d: dict[str, Any]) -> str:
    error = f"  {d['last_error']}" if d["last_error"] else ""
    return (
        f"{d['id']:>6}  {d['status']:<9} {d['attempts']:>2}x  {d['subscriber']:<16} "
        f"{d['topic']:<32} {d['aggregate_id']}{error}"
    )


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in DeliveryStatus]),
    default=None,
    help="Only deliveries in this state (e.g. parked).",
)
@json_option
@with_appcontext
def outbox_list(status: str | None, as_json: bool) -> None:
    """List deliveries, newest first."""
    rows = list_deliveries(container().uow(), status)
    emit(
        {"deliveries": rows},
        as_json,
        lambda d: "\n".join(_line(r) for r in d["deliveries"]) or "no deliveries",
    )


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every parked delivery.")
@json_option
@with_appcontext
def outbox_retry(ids: tuple[int, ...], retry_all: bool, as_json: bool) -> None:
    """Put parked deliveries (the IDS given, or --all) back in the queue, attempts reset."""
    if bool(ids) == retry_all:
        raise click.UsageError("give delivery IDS or --all (not both)")
    count = retry_parked(container().uow(), None if retry_all else list(ids))
    emit({"retried": count}, as_json, lambda d: f"{d['retried']} delivery(ies) queued again")
