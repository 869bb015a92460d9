"""``thuphi receipts list|show|pending-tax|summarize`` (registered by payments.wiring)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from flask.cli import with_appcontext

from payments.cli_helpers import container, emit, fail, json_option
from payments.errors import DomainError
from payments.money import vnd
from receipts import jobs, services


@click.group("receipts")
def receipts_cli() -> None:
    """E-receipts: list, show, and what the tax authority has not accepted yet."""


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['id']}  {r['agency_code']}  {r['template']}/{r['series']}/{r['number']:08d}  "
        f"{r['kind']:<6}  {vnd(r['total_amount']):>14}  {r['status']:<8}  "
        f"tax:{r['tax_authority_status']}"
    )


@receipts_cli.command("list")
@click.option("--payment-request", "payment_request_id", default=None)
@click.option("--agency", "agency_code", default=None)
@click.option("--limit", default=100, show_default=True)
@json_option
@with_appcontext
def list_cmd(
    payment_request_id: str | None, agency_code: str | None, limit: int, as_json: bool
) -> None:
    """Receipts of a payment request or an agency (the latest LIMIT)."""
    c = container()
    views = services.list_receipts(
        uow=c.uow(),
        settings=c.settings,
        principal=None,
        payment_request_id=payment_request_id,
        agency_code=agency_code,
        limit=limit,
    )
    emit({"items": views}, as_json, lambda d: "\n".join(_line(r) for r in d["items"]) or "none")


@receipts_cli.command("show")
@click.argument("receipt_id")
@json_option
@with_appcontext
def show_cmd(receipt_id: str, as_json: bool) -> None:
    """One receipt, with its lines and corrections."""
    c = container()
    try:
        view = services.get_receipt(receipt_id, uow=c.uow(), settings=c.settings, principal=None)
    except DomainError as exc:
        fail(exc, as_json)
        return

    def human(r: dict[str, Any]) -> str:
        lines = [_line(r), f"  payer: {r['payer']['name']}", f"  in words: {r['amount_in_words']}"]
        lines += [f"  - {x['fee_code']} {x['name']}: {vnd(x['amount'])}" for x in r["lines"]]
        lines.append(f"  verify: {r['verification_url']}")
        return "\n".join(lines)

    emit(view, as_json, human)


@receipts_cli.command("pending-tax")
@json_option
@with_appcontext
def pending_tax_cmd(as_json: bool) -> None:
    """What the tax authority has not accepted yet, and paid requests without receipts."""
    report = jobs.pending_tax(uow=container().uow(), settings=container().settings)

    def human(d: dict[str, Any]) -> str:
        out = [
            f"receipts not accepted: {len(d['receipts'])}",
            f"summaries not accepted: {len(d['summaries'])}",
            f"paid requests without receipts: {len(d['unissued_payments'])}",
            f"finished days without summary: {len(d['days_without_summary'])}",
            *(
                f"agency {code} cannot sign: {why}"
                for code, why in d["agencies_unable_to_sign"].items()
            ),
        ]
        for item in d["receipts"][:20] + d["summaries"][:20] + d["unissued_payments"][:20]:
            delivery = item.get("delivery") or {}
            out.append(
                f"  {item.get('id') or item.get('payment_request_id')}: "
                f"{delivery.get('status', '?')} after {delivery.get('attempts', 0)} attempt(s)"
                f" {delivery.get('last_error') or ''}"
            )
        return "\n".join(out)

    emit(report, as_json, human)


@receipts_cli.command("summarize")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True)
@json_option
@with_appcontext
def summarize_cmd(day: Any, as_json: bool) -> None:
    """Create the Mẫu 01/TH-BLĐT summaries of one finished business day (idempotent)."""
    on: date = day.date()
    created = jobs.create_daily_summaries(on, uow=container().uow())
    emit({"date": on, "created": created}, as_json, lambda d: f"{len(d['created'])} summary(ies)")
