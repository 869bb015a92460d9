"""Bank transfer notifications: check the API key, parse into a ``ProviderEvent``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from payments.money import Money
from providers.bank import mapping
from providers.bank.schemas import (
    AUTH_SCHEME,
    OPTIONAL_STRINGS,
    REQUIRED_STRINGS,
    TIME_FORMAT,
    VN_TZ,
)
from providers.base import (
    CallbackRejected,
    HeaderSource,
    ProviderEvent,
    RejectReason,
    TxnStatus,
    header_value,
    load_json_object,
    split_secrets,
)

PROVIDER = "bank"


def parse_notification(
    body: bytes, headers: HeaderSource, api_keys: str, *, source: str = "sepay"
) -> ProviderEvent:
    """Authenticate (``Authorization: Apikey <key>``, keys comma-separated during rotation) and
    parse one transfer notification. Finding our reference in ``content`` is the caller's job.

    Raises ``CallbackRejected`` (unauthorized, malformed).
    """
    check_api_key(header_value(headers, "Authorization"), api_keys)
    message = load_json_object(body)
    fields = _fields(message)
    kind = mapping.TRANSFER_KIND.get(fields["transferType"].lower())
    if kind is None:
        raise CallbackRejected(RejectReason.MALFORMED, "transferType is not in|out")
    details = {name: fields[name] for name in ("gateway", *OPTIONAL_STRINGS) if fields[name]}
    details["source"] = source
    if isinstance(message.get("accumulated"), int):
        details["accumulated"] = str(message["accumulated"])
    return ProviderEvent(
        provider=PROVIDER,
        provider_txn_id=str(_id(message)),
        reference=None,
        amount=Money(_amount(message)),
        currency="VND",
        # the bank reports money that has moved: the transfer itself is complete
        status=TxnStatus.PAID,
        occurred_at=_local_time(fields["transactionDate"]),
        kind=kind,
        account_number=fields["accountNumber"],
        details=details,
        raw=message,
    )


def check_api_key(authorization: str | None, api_keys: str) -> None:
    """Constant-time check of ``Apikey <key>`` against every configured key."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != AUTH_SCHEME or not given.strip():
        raise CallbackRejected(RejectReason.UNAUTHORIZED, "no Apikey authorization")
    matched = False
    for key in split_secrets(api_keys):
        matched |= hmac.compare_digest(given.strip().encode(), key.encode())
    if not matched:
        raise CallbackRejected(RejectReason.UNAUTHORIZED, "unknown api key")


def _fields(message: Mapping[str, Any]) -> dict[str, str]:
    missing = [name for name in REQUIRED_STRINGS if not isinstance(message.get(name), str)]
    wrong = [
        name
        for name in OPTIONAL_STRINGS
        if message.get(name) is not None and not isinstance(message[name], str)
    ]
    if missing or wrong:
        raise CallbackRejected(RejectReason.MALFORMED, f"bad fields: {missing + wrong}")
    return {name: message.get(name) or "" for name in (*REQUIRED_STRINGS, *OPTIONAL_STRINGS)}


def _id(message: Mapping[str, Any]) -> int | str:
    value = message.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise CallbackRejected(RejectReason.MALFORMED, "id is missing")


def _amount(message: Mapping[str, Any]) -> int:
    value = message.get("transferAmount")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CallbackRejected(RejectReason.MALFORMED, "transferAmount is not a positive integer")
    return value


def _local_time(value: str) -> datetime:
    try:
        local = datetime.strptime(value, TIME_FORMAT).replace(tzinfo=VN_TZ)
    except ValueError as exc:
        raise CallbackRejected(RejectReason.MALFORMED, "transactionDate is malformed") from exc
    return local.astimezone(UTC)
