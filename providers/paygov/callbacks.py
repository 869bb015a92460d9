"""PayGov result callbacks: verify ``MaXacThuc``, parse into a ``ProviderEvent``, build the ack."""

from __future__ import annotations

from collections.abc import Mapping
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
    REQUEST_TYPES,
    RESULT_HASH_FIELDS,
    SUCCESS,
    hash_matches,
    parse_amount,
    parse_time,
    strip_secrets,
)

PROVIDER = "paygov"
ACK_OK_MESSAGE = "Thành công"
ACK_ERROR_CODE = "99"  # [OCPS ppConfirmTransaction] "Các lỗi khác" (other errors)
ACK_ERROR_MESSAGE = "Các lỗi khác"
# the fields a result cannot do without; MaGiaoDich, MaNganHang, MaTienTe and ThongTinGiaoDich
# may be missing (a failed payment has no platform transaction) and hash as empty
RESULT_REQUIRED = ("LoaiBanTin", "MaLoi", "MaThamChieu", "SoTien", "ThoiGianGD", "MaXacThuc")


def parse_result(body: bytes, secret: str, *, result_type: str = "") -> ProviderEvent:
    """Verify and parse a result callback. ``secret`` may hold two comma-separated values.

    Raises ``CallbackRejected`` (malformed, bad_signature, unexpected_message). The hash is checked
    before any field is trusted; then parsing is tolerant: ``SoTien`` a string or a number, no
    ``MaGiaoDich`` on a failure. ``LoaiBanTin`` must be ``result_type`` when one is configured,
    otherwise anything but a request type (INIT, QUERY, GET_BILL). ``MaLoi`` "00" is paid, known
    failures failed, anything else pending (the poller asks again).
    """
    message = load_json_object(body)
    missing = [name for name in RESULT_REQUIRED if message.get(name) in (None, "")]
    scalars = all(_scalar(message.get(name)) for name in (*RESULT_HASH_FIELDS, "MaXacThuc"))
    if missing or not scalars:
        raise CallbackRejected(RejectReason.MALFORMED, f"missing: {missing}" if missing else "")
    if not hash_matches(message, RESULT_HASH_FIELDS, secret):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "MaXacThuc does not match")
    kind = str(message["LoaiBanTin"])
    # a signed status reply has the same hash recipe: a request type is never a result
    if (result_type and kind != result_type) or (not result_type and kind in REQUEST_TYPES):
        raise CallbackRejected(RejectReason.UNEXPECTED_MESSAGE, f"LoaiBanTin {kind!r}")
    return event_from_message(message, mapping.result_status(str(message["MaLoi"])))


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str) or type(value) is int


def event_from_message(message: Mapping[str, Any], status: TxnStatus) -> ProviderEvent:
    """A verified result or status reply as a ``ProviderEvent`` (raises ``CallbackRejected``)."""
    amount = parse_amount(message.get("SoTien"))
    if amount is None:
        raise CallbackRejected(RejectReason.MALFORMED, "SoTien is not a positive whole number")
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
    request: Mapping[str, Any],
    ok: bool,
    *,
    partner_code: str = "",
    message: str | None = None,
) -> dict[str, str]:
    """Our answer to a result, as public clients give it: ``{MaLoi, MoTaLoi, MaDoiTac,
    MaThamChieu, ThoiGianGD, MaXacThuc}`` with the request's own ``ThoiGianGD`` and ``MaXacThuc``
    echoed [OCPS PayGateUtil.createResponseMessage; TD ConfirmDvcPaymentCommandHandler].

    ``request`` is the raw request fields (``request_fields(body)``), trusted or not: nothing in
    the ack is a secret or a decision beyond ``ok``.
    """
    return {
        "MaLoi": SUCCESS if ok else ACK_ERROR_CODE,
        "MoTaLoi": message or (ACK_OK_MESSAGE if ok else ACK_ERROR_MESSAGE),
        "MaDoiTac": partner_code or _text(request.get("MaDoiTac")),
        "MaThamChieu": _text(request.get("MaThamChieu")),
        "ThoiGianGD": _text(request.get("ThoiGianGD")),
        "MaXacThuc": _text(request.get("MaXacThuc")),
    }


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def request_fields(body: bytes) -> dict[str, Any]:
    """Whatever object ``body`` holds (empty when not JSON), for ``build_ack``."""
    try:
        return load_json_object(body)
    except CallbackRejected:
        return {}
