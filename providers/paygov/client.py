"""Outbound calls to PayGov: INIT (not idempotent), status QUERY and GET_BILL (safe to retry)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from payments.money import Money
from providers.base import (
    CallbackRejected,
    InitResult,
    ProviderBadResponse,
    ProviderDeclined,
    ProviderEvent,
    ProviderUnavailable,
)
from providers.paygov import mapping
from providers.paygov.callbacks import event_from_message
from providers.paygov.schemas import (
    CHANNEL_INTERNET,
    CURRENCY_VND,
    DEVICE_WEB,
    GET_BILL_PATH,
    INIT_HASH_FIELDS,
    INIT_PATH,
    LANGUAGE_VI,
    MSG_GET_BILL,
    MSG_INIT,
    MSG_QUERY,
    PAYMENT_TYPE_FEE,
    QUERY_HASH_FIELDS,
    QUERY_PATH,
    RESULT_HASH_FIELDS,
    SUCCESS,
    VERSION,
    format_time,
    hash_matches,
    sign_message,
    unwrap,
)

Timeout = float | tuple[float, float]
RETRYABLE_STATUS = frozenset({502, 503, 504})


class PayGovError(ProviderDeclined):
    """PayGov answered with a ``MaLoi`` other than "00"."""


class PayGovClient:
    """PayGov adapter. ``secret`` may hold two comma-separated values (first signs)."""

    def __init__(
        self,
        base_url: str,
        partner_code: str,
        secret: str,
        timeout: Timeout = (3.05, 10),
        session: requests.Session | None = None,
        *,
        attempts: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.partner_code = partner_code
        self._secret = secret
        self.timeout = timeout
        self.session = session or requests.Session()
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"PayGovClient(base_url={self.base_url!r}, partner_code={self.partner_code!r})"

    def init_payment(
        self,
        reference: str,
        amount: Money,
        description: str,
        ip: str,
        *,
        receipt_info: Mapping[str, Any] | None = None,
        bank_code: str = "",
        device: str = DEVICE_WEB,
        language: str = LANGUAGE_VI,
        now: datetime | None = None,
    ) -> InitResult:
        """Start a payment; return the platform URL the citizen is sent to.

        INIT is not idempotent: it is retried only when the connection failed before anything was
        sent. A timeout after sending raises ``ProviderUnavailable(request_sent=True)``; the
        caller should poll ``query_status`` rather than send a second INIT.
        """
        if int(amount) <= 0:
            raise ValueError("a PayGov payment needs a positive amount")
        message: dict[str, Any] = {
            "LoaiBanTin": MSG_INIT,
            "PhienBan": VERSION,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": reference,
            "SoTien": str(int(amount)),
            "LoaiHinhThanhToan": PAYMENT_TYPE_FEE,
            "MaKenhThanhToan": CHANNEL_INTERNET,
            "MaThietBi": device,
            "NgonNgu": language,
            "MaTienTe": CURRENCY_VND,
            "MaNganHang": bank_code,
            "ThongTinGiaoDich": description,
            "ThoiGianGD": format_time(now or datetime.now(UTC)),
            "Ip": ip,
            "ThongTinBienLai": dict(receipt_info or {}),
        }
        answer = self._post(INIT_PATH, sign_message(message, INIT_HASH_FIELDS, self._secret), False)
        _raise_unless_success(answer)
        url = answer.get("UrlThanhToan")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderBadResponse("INIT answer has no UrlThanhToan")
        return InitResult(url=url, raw=answer)

    def query_status(self, reference: str, *, now: datetime | None = None) -> ProviderEvent:
        """The platform's view of a payment; the reply's ``MaXacThuc`` is verified.

        ``TrangThaiGD`` 1 paid, 3 pending, 4 failed; anything else pending.
        """
        answer = self._post(QUERY_PATH, self._lookup_message(MSG_QUERY, reference, now), True)
        _raise_unless_success(answer)
        if not hash_matches(answer, RESULT_HASH_FIELDS, self._secret):
            raise ProviderBadResponse("status reply MaXacThuc does not match")
        if answer.get("MaThamChieu") != reference:
            raise ProviderBadResponse("status reply is for another reference")
        status = mapping.query_status(str(answer.get("TrangThaiGD", "")))
        try:
            return event_from_message(answer, status)
        except CallbackRejected as exc:
            raise ProviderBadResponse(f"status reply unusable: {exc.detail}") from exc

    def get_bill(self, reference: str, *, now: datetime | None = None) -> dict[str, Any]:
        """The receipt data (``ThongTinBienLai``) the platform holds for a payment."""
        answer = self._post(GET_BILL_PATH, self._lookup_message(MSG_GET_BILL, reference, now), True)
        _raise_unless_success(answer)
        bill = answer.get("ThongTinBienLai")
        if not isinstance(bill, dict):
            raise ProviderBadResponse("GET_BILL answer has no ThongTinBienLai")
        return bill

    def _lookup_message(self, kind: str, reference: str, now: datetime | None) -> dict[str, Any]:
        message = {
            "LoaiBanTin": kind,
            "PhienBan": VERSION,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": reference,
            "ThoiGianGD": format_time(now or datetime.now(UTC)),
        }
        return sign_message(message, QUERY_HASH_FIELDS, self._secret)

    def _post(self, path: str, message: dict[str, Any], idempotent: bool) -> dict[str, Any]:
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(
                    self.base_url + path, json=message, timeout=self.timeout
                )
            except requests.RequestException as exc:
                sent = not _failed_before_sending(exc)
                if attempt == self.attempts or (sent and not idempotent):
                    raise ProviderUnavailable(type(exc).__name__, request_sent=sent) from exc
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return _answer(response)
                if attempt == self.attempts or not idempotent:
                    raise ProviderUnavailable(f"HTTP {response.status_code}", request_sent=True)
            self._sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """True when no byte of the request reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause: BaseException | None = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _answer(response: requests.Response) -> dict[str, Any]:
    if not 200 <= response.status_code < 300:
        raise ProviderBadResponse(f"HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError as exc:
        raise ProviderBadResponse("answer is not JSON") from exc
    answer = unwrap(document)
    if answer is None:
        raise ProviderBadResponse("answer is not a PayGov message")
    return answer


def _raise_unless_success(answer: Mapping[str, Any]) -> None:
    code = str(answer.get("MaLoi", ""))
    if code != SUCCESS:
        raise PayGovError(code or "missing", str(answer.get("MoTaLoi") or ""))
