"""``thuphi paygov poll [--now] [--reference REF] [--json]``: ask the national platform now."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from payments.cli_helpers import container, emit, fail, json_option
from payments.paygov.errors import PaygovNotConfigured
from payments.paygov.jobs import poll_paygov
from payments.paygov.services import paygov_configured


@click.group()
def paygov() -> None:
    """The national portal's payment platform."""


def _human(d: dict[str, Any]) -> str:
    lines = [f"  {a['reference']}  {a['outcome']}" for a in d["attempts"]]
    head = (
        f"polled {d['polled']}: {d['applied']} settled, {d['still_pending']} still pending,"
        f" {d['errors']} error(s)"
    )
    return "\n".join([head, *lines])


@paygov.command("poll")
@click.option("--now", "at_once", is_flag=True, help="Also attempts younger than 30 minutes.")
@click.option(
    "--reference",
    default=None,
    help="Only this payment request's (or MaThamChieu's) pending attempts, whatever their age.",
)
@json_option
@with_appcontext
def paygov_poll(at_once: bool, reference: str | None, as_json: bool) -> None:
    """Poll pending national-platform payments (30 minutes to 3 days old by default)."""
    c = container()
    if not paygov_configured(c.settings):
        fail(PaygovNotConfigured("set THUPHI_PAYGOV_URL, _PARTNER_CODE and _SECRET"), as_json)
    summary = poll_paygov(c.uow(), c.settings, at_once=at_once, reference=reference)
    emit(summary.as_dict(), as_json, _human)
