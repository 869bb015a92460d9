"""POS callbacks: verify ``X-Signature``, then parse a payment, a void or a batch settlement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from payments.money import Money
from providers import signing
from providers.base import (
    CallbackRejected,
    EventKind,
    HeaderSource,
    ProviderEvent,
    RejectReason,
    Settlement,
    header_value,
    load_json_object,
)
from providers.pos import mapping
from providers.pos.schemas import (
    DETAIL_FIELDS,
    MASKED_PAN,
    PAYMENT_FIELDS,
    SETTLEMENT_AMOUNTS,
    SETTLEMENT_FIELDS,
)

PROVIDER = "pos"


def parse_callback(
    body: bytes,
    headers: HeaderSource,
    secret: str,
    now: datetime,
    *,
    tolerance: int = signing.DEFAULT_TOLERANCE,
) -> ProviderEvent | Settlement:
    """Verify and parse one acquirer callback; raises ``CallbackRejected`` with a stable reason.

    ``secret`` may hold two comma-separated values during rotation. The signature is checked on
    the raw bytes before anything in them is read.
    """
    signing.verify(
        body, header_value(headers, signing.SIGNATURE_HEADER), secret, now=now, tolerance=tolerance
    )
    message = load_json_object(body)
    if message.get("type") == "settlement":
        return _settlement(message)
    return _payment(message)


def _payment(message: dict[str, Any]) -> ProviderEvent:
    fields = _strings(message, PAYMENT_FIELDS)
    if not MASKED_PAN.fullmatch(fields["masked_pan"].replace(" ", "").replace("-", "")):
        # never echo the value: it may be a full card number
        raise CallbackRejected(RejectReason.UNMASKED_PAN, "masked_pan shows too many digits")
    amount = _positive_int(message, "amount")
    status, kind = mapping.status(fields["status"])
    txn_id = f"{fields['terminal_id']}:{fields['batch_no']}:{fields['trace_no']}"
    details = {name: fields[name] for name in DETAIL_FIELDS}
    if kind is EventKind.VOID:
        details["original_txn_id"] = txn_id
        txn_id = f"{txn_id}:void"
    return ProviderEvent(
        provider=PROVIDER,
        provider_txn_id=txn_id,
        reference=fields["reference"] or None,
        amount=Money(amount),
        currency=mapping.currency(fields["currency"]),
        status=status,
        occurred_at=_instant(fields["transaction_time"], "transaction_time"),
        kind=kind,
        details=details,
        raw=message,
    )


def _settlement(message: dict[str, Any]) -> Settlement:
    fields = _strings(message, SETTLEMENT_FIELDS)
    count, gross, fee, net = (_int(message, name) for name in SETTLEMENT_AMOUNTS)
    if min(count, gross, fee, net) < 0 or gross - fee != net:
        raise CallbackRejected(RejectReason.MALFORMED, "settlement: gross - fee != net")
    return Settlement(
        provider=PROVIDER,
        terminal_id=fields["terminal_id"],
        merchant_id=fields["merchant_id"],
        batch_no=fields["batch_no"],
        settled_at=_instant(fields["settled_at"], "settled_at"),
        count=count,
        gross_amount=Money(gross),
        fee_amount=Money(fee),
        net_amount=Money(net),
        currency=mapping.currency(str(message.get("currency") or "VND")),
        raw=message,
    )


def _strings(message: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    missing = [name for name in names if not isinstance(message.get(name), str)]
    if missing:
        raise CallbackRejected(RejectReason.MALFORMED, f"missing or non-string: {missing}")
    return {name: message[name] for name in names}


def _int(message: Mapping[str, Any], name: str) -> int:
    value = message.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CallbackRejected(RejectReason.MALFORMED, f"{name} is not an integer")
    return value


def _positive_int(message: Mapping[str, Any], name: str) -> int:
    value = _int(message, name)
    if value <= 0:
        raise CallbackRejected(RejectReason.MALFORMED, f"{name} is not positive")
    return value


def _instant(value: str, name: str) -> datetime:
    """ISO 8601 with an offset → aware UTC; a time without an offset is ambiguous and refused."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CallbackRejected(RejectReason.MALFORMED, f"{name} is not ISO 8601") from exc
    if moment.tzinfo is None:
        raise CallbackRejected(RejectReason.MALFORMED, f"{name} has no UTC offset")
    return moment.astimezone(UTC)
