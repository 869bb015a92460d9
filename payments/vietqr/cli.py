"""``thuphi vietqr decode PAYLOAD [--json]``: what a VietQR payload says, or why it is invalid.

The lead registers :data:`vietqr` on the main ``thuphi`` group.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from payments.vietqr.banks import bank_name, short_name
from payments.vietqr.codec import VietQRError, decode

__all__ = ["describe", "vietqr", "vietqr_decode"]


def describe(payload: str) -> dict[str, Any]:
    """The decoded fields plus the bank's names; raises :class:`VietQRError` when invalid."""
    decoded = decode(payload)
    out = asdict(decoded)
    bin_ = decoded.bank_bin
    out["bank_name"] = None if bin_ is None else bank_name(bin_)
    out["bank_short_name"] = None if bin_ is None else short_name(bin_)
    return out


@click.group("vietqr")
def vietqr() -> None:
    """VietQR payloads."""


@vietqr.command("decode")
@click.argument("payload")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def vietqr_decode(payload: str, as_json: bool) -> None:
    """Decode PAYLOAD (the text inside a VietQR code); exit code 1 when it is invalid."""
    try:
        described = describe(payload)
    except VietQRError as exc:
        if as_json:
            click.echo(json.dumps({"valid": False, "error": str(exc)}, ensure_ascii=False))
        else:
            click.echo(f"invalid: {exc}")
        raise SystemExit(1) from None
    if as_json:
        click.echo(json.dumps({"valid": True, **described}, ensure_ascii=False))
        return
    for key, value in described.items():
        if value is not None and not isinstance(value, dict):
            click.echo(f"{key}: {value}")
    for tag, value in described["fields"].items():
        click.echo(f"field {tag}: {value}")
