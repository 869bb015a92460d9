"""PayGov RESULT callbacks: verify ``MaXacThuc``, parse into a ``ProviderEvent``, build the ack."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from payments.money import Money
from providers.base import (
    CallbackRejected,
    EventKind,
    ProviderEvent,
    RejectReason,
    TxnStatus,
    load_json_object,
)
from providers.paygov import mapping
from providers.paygov.schemas import (
    ACK_HASH_FIELDS,
    MSG_RESULT,
    RESULT_HASH_FIELDS,
    RESULT_REQUIRED,
    SUCCESS,
    format_time,
    hash_matches,
    parse_amount,
    parse_time,
    sign_message,
    strip_secrets,
)

PROVIDER = "paygov"
ACK_OK_MESSAGE = "Thành công"
ACK_ERROR_CODE = "99"
ACK_ERROR_MESSAGE = "Không xử lý được bản tin"  # could not process the message


def parse_result(body: bytes, secret: str) -> ProviderEvent:
    """Verify and parse a RESULT callback. ``secret`` may hold two comma-separated values.

    Raises ``CallbackRejected`` (malformed, unexpected_message, bad_signature). The hash is checked
    before any field is trusted; ``MaLoi`` "00" is paid, known failures failed, the rest pending.
    """
    message = load_json_object(body)
    missing = [name for name in RESULT_REQUIRED if not isinstance(message.get(name), str)]
    if missing:
        raise CallbackRejected(RejectReason.MALFORMED, f"missing or non-string: {missing}")
    if not hash_matches(message, RESULT_HASH_FIELDS, secret):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "MaXacThuc does not match")
    # a signed status reply has the same hash recipe: only a RESULT may be taken as a callback
    if message["LoaiBanTin"] != MSG_RESULT:
        raise CallbackRejected(RejectReason.UNEXPECTED_MESSAGE, "LoaiBanTin is not RESULT")
    return event_from_message(message, mapping.result_status(message["MaLoi"]))


def event_from_message(message: Mapping[str, Any], status: TxnStatus) -> ProviderEvent:
    """A verified RESULT or status reply as a ``ProviderEvent`` (raises ``CallbackRejected``)."""
    amount = parse_amount(message.get("SoTien"))
    if amount is None:
        raise CallbackRejected(RejectReason.MALFORMED, "SoTien is not a positive integer string")
    occurred_at = parse_time(message.get("ThoiGianGD"))
    if occurred_at is None:
        raise CallbackRejected(RejectReason.MALFORMED, "ThoiGianGD is not yyyyMMddHHmmss")
    reference = str(message.get("MaThamChieu") or "")
    if not reference:
        raise CallbackRejected(RejectReason.MALFORMED, "MaThamChieu is empty")
    txn_id = str(message.get("MaGiaoDich") or "")
    details = {
        name: str(message[name])
        for name in ("MaGiaoDich", "MaNganHang", "MaDoiTac", "MaLoi")
        if message.get(name) not in (None, "")
    }
    return ProviderEvent(
        provider=PROVIDER,
        # a failed payment may come without MaGiaoDich: keep one id per (reference, outcome, time)
        provider_txn_id=txn_id or f"{reference}:{message.get('MaLoi')}:{message['ThoiGianGD']}",
        reference=reference,
        amount=Money(amount),
        currency=mapping.currency(str(message.get("MaTienTe") or "")),
        status=status,
        occurred_at=occurred_at,
        kind=EventKind.PAYMENT,
        details=details,
        raw=strip_secrets(message),
    )


def build_ack(
    request: ProviderEvent | Mapping[str, Any],
    ok: bool,
    secret: str,
    *,
    partner_code: str | None = None,
    error_code: str = ACK_ERROR_CODE,
    message: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The answer PayGov expects to a RESULT: ``{MaLoi, MoTaLoi, MaDoiTac, MaThamChieu, ThoiGianGD,
    MaXacThuc}``, hashed over ``MaLoi|MaDoiTac|MaThamChieu|ThoiGianGD|secret`` (our choice).

    ``request`` is the parsed event or, when parsing failed, the raw request fields (best effort).
    ``ThoiGianGD`` is the time of our answer.
    """
    if isinstance(request, ProviderEvent):
        reference = request.reference or ""
        partner = partner_code or request.details.get("MaDoiTac", "")
    else:
        reference = str(request.get("MaThamChieu") or "")
        partner = partner_code or str(request.get("MaDoiTac") or "")
    ack = {
        "MaLoi": SUCCESS if ok else error_code,
        "MoTaLoi": message or (ACK_OK_MESSAGE if ok else ACK_ERROR_MESSAGE),
        "MaDoiTac": partner,
        "MaThamChieu": reference,
        "ThoiGianGD": format_time(now or datetime.now(UTC)),
    }
    return sign_message(ack, ACK_HASH_FIELDS, secret)


def request_fields(body: bytes) -> dict[str, Any]:
    """Whatever object ``body`` holds (empty when not JSON), for ``build_ack`` after a rejection."""
    try:
        return load_json_object(body)
    except CallbackRejected:
        return {}
