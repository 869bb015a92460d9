"""Provider callbacks: verify with the adapter, record once, answer in the provider's format."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from payments.clock import utcnow
from payments.config import Settings
from payments.hygiene import CONTROL
from payments.money import amount_error
from payments.transactions.services import (
    ApplyResult,
    record_event,
    record_rejection,
    record_settlement,
)
from payments.uow import UnitOfWork
from providers.bank import ACK as BANK_ACK
from providers.bank import callbacks as bank
from providers.base import (
    CallbackRejected,
    HeaderSource,
    ProviderEvent,
    RejectReason,
    Settlement,
)
from providers.paygov import callbacks as paygov
from providers.pos import callbacks as pos

Answer = tuple[int, dict[str, Any]]
_AUTH_REASONS = {
    RejectReason.MISSING_SIGNATURE,
    RejectReason.BAD_SIGNATURE,
    RejectReason.STALE_TIMESTAMP,
    RejectReason.UNAUTHORIZED,
}


def _status_for(exc: CallbackRejected) -> int:
    return 401 if exc.reason in _AUTH_REASONS else 400


# a card number: 13-19 digits standing alone (a reference "TPH…" or an id "T0001" is not one)
_PAN = re.compile(r"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mask_pan(match: re.Match[str]) -> str:
    digits = match.group(0)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:] if _luhn_ok(digits) else digits


def _safe_payload(body: bytes) -> dict[str, Any]:
    """What a rejected message said, for the log: the first KB of text, never parsed as trusted,
    with anything shaped like a full card number masked (PCI DSS: first six, last four)."""
    text = CONTROL.sub("\ufffd", body[:1024].decode("utf-8", "replace"))
    return {"body": _PAN.sub(_mask_pan, text)}


def within_bounds(parsed: ProviderEvent | Settlement, max_amount: int) -> None:
    """Refuse (``CallbackRejected``) a verified message whose amounts pass THUPHI_MAX_AMOUNT or
    BIGINT, before anything applies it: one absurd amount would otherwise sit on a request and
    in the day's rollups for good."""
    if isinstance(parsed, Settlement):
        amounts = {
            "gross_amount": (parsed.gross_amount.amount, True),
            "fee_amount": (parsed.fee_amount.amount, True),
            "net_amount": (parsed.net_amount.amount, True),
            "count": (parsed.count, True),
        }
    else:
        amounts = {"amount": (parsed.amount.amount, False)}
    for name, (value, zero) in amounts.items():
        problem = amount_error(value, max_amount, zero=zero)
        if problem:
            raise CallbackRejected(RejectReason.AMOUNT_OUT_OF_RANGE, f"{name} is {problem}")


def _unconfigured(uow: UnitOfWork, provider: str, body: bytes) -> Answer:
    """A channel whose secret is not configured accepts nothing: 503, logged, never a 500."""
    record_rejection(uow, provider, "not_configured", _safe_payload(body))
    return 503, {"status": "rejected", "reason": "not_configured", "success": False}


def handle_paygov_result(body: bytes, *, uow: UnitOfWork, settings: Settings) -> Answer:
    """PayGov result: verify MaXacThuc, apply, answer {MaLoi, MoTaLoi, …, MaXacThuc}."""
    if not settings.paygov_secret:
        return _unconfigured(uow, "paygov", body)
    fields = paygov.request_fields(body)
    partner = settings.paygov_partner_code
    try:
        event = paygov.parse_result(
            body, settings.paygov_secret, result_type=settings.paygov_result_type
        )
        within_bounds(event, settings.max_amount)
    except CallbackRejected as exc:
        record_rejection(uow, "paygov", exc.reason, _safe_payload(body))
        ack = paygov.build_ack(fields, False, partner_code=partner, message=exc.reason)
        return _status_for(exc), ack
    result = record_event(event, uow=uow)
    message = None if result.accepted else result.reason
    ack = paygov.build_ack(fields, result.accepted, partner_code=partner, message=message)
    return (200 if result.accepted else 409), ack


def handle_pos_callback(
    body: bytes, headers: HeaderSource, *, uow: UnitOfWork, settings: Settings
) -> Answer:
    """POS payment, void or batch settlement, signed with X-Signature."""
    if not settings.pos_secret:
        return _unconfigured(uow, "pos", body)
    try:
        parsed = pos.parse_callback(body, headers, settings.pos_secret, utcnow())
        within_bounds(parsed, settings.max_amount)
    except CallbackRejected as exc:
        record_rejection(uow, "pos", exc.reason, _safe_payload(body))
        return _status_for(exc), {"status": "rejected", "reason": str(exc.reason)}
    if isinstance(parsed, Settlement):
        result = record_settlement(parsed, uow=uow)
    else:
        result = record_event(parsed, uow=uow)
    return _answer(result)


def handle_bank_notification(
    provider: str, body: bytes, headers: HeaderSource, *, uow: UnitOfWork, settings: Settings
) -> Answer:
    """SePay-compatible transfer notification with ``Authorization: Apikey``."""
    if not settings.bank_api_key:
        return _unconfigured(uow, f"bank:{provider}", body)
    try:
        event = bank.parse_notification(body, headers, settings.bank_api_key, source=provider)
        within_bounds(event, settings.max_amount)
    except CallbackRejected as exc:
        record_rejection(uow, f"bank:{provider}", exc.reason, _safe_payload(body))
        return _status_for(exc), {"success": False, "reason": str(exc.reason)}
    result = record_event(event, uow=uow)
    if not result.accepted:
        return 409 if result.outcome == "conflict" else 422, {
            "success": False,
            "reason": result.reason,
        }
    return 200, dict(BANK_ACK)


def _answer(result: ApplyResult) -> Answer:
    body: Mapping[str, Any] = {"status": result.outcome, "reason": result.reason}
    if result.accepted:
        return 200, dict(body)
    return (409 if result.outcome == "conflict" else 422), dict(body)
