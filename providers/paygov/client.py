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
    split_secrets,
)
from providers.paygov import mapping
from providers.paygov.callbacks import event_from_message
from providers.paygov.schemas import (
    BANK_CODE,
    CHANNEL_INTERNET,
    CURRENCY_VND,
    DEVICE_WEB,
    GET_BILL_PATH,
    INIT_HASH_FIELDS,
    INIT_PATH,
    LANGUAGE_VI,
    MAX_REFERENCE,
    MSG_GET_BILL,
    MSG_INIT,
    MSG_QUERY,
    PAYMENT_TYPE,
    QUERY_HASH_FIELDS,
    QUERY_PATH,
    RESULT_HASH_FIELDS,
    SUCCESS,
    VERSION,
    format_time,
    hash_matches,
    receipt_block,
    sign_message,
    unwrap,
)

Timeout = float | tuple[float, float]
RETRYABLE_STATUS = frozenset({502, 503, 504})
PDF_MAGIC = b"%PDF-"


class PayGovError(ProviderDeclined):
    """PayGov answered with a ``MaLoi`` other than "00"."""


class PayGovClient:
    """PayGov adapter. ``secret`` and ``access_token`` may each hold two comma-separated values
    while rotated (the first is sent). The three URLs default to paths under ``base_url``."""

    def __init__(
        self,
        base_url: str,
        partner_code: str,
        secret: str,
        timeout: Timeout = (3.05, 10),
        session: requests.Session | None = None,
        *,
        init_url: str = "",
        query_url: str = "",
        bill_url: str = "",
        access_token: str = "",
        attempts: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = base_url.rstrip("/")
        # [TD DvcPaymentSettings] InitUrl, CheckConfirmUrl, InitReceiptUrl are three settings
        self.init_url = init_url or base + INIT_PATH
        self.query_url = query_url or base + QUERY_PATH
        self.bill_url = bill_url or base + GET_BILL_PATH
        self.partner_code = partner_code
        self._secret = secret
        self._token = split_secrets(access_token)[0] if access_token.strip(", ") else ""
        self.timeout = timeout
        self.session = session or requests.Session()
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"PayGovClient(init_url={self.init_url!r}, partner_code={self.partner_code!r})"

    def init_payment(
        self,
        reference: str,
        amount: Money,
        description: str,
        ip: str,
        *,
        receipt: Mapping[str, Any] | None = None,
        init_time: str | None = None,
    ) -> InitResult:
        """Start a payment; return the platform URL the citizen is sent to.

        ``receipt`` is the ``ThongTinBienLai`` block (``schemas.receipt_block``); ``init_time``
        the ``ThoiGianGD`` to send, which every later query and GET_BILL must repeat (the caller
        stores it first). INIT is not idempotent: it is retried only when the connection failed
        before anything was sent; after that ``ProviderUnavailable(request_sent=True)``.
        """
        if int(amount) <= 0:
            raise ValueError("a PayGov payment needs a positive amount")
        if not 0 < len(reference) <= MAX_REFERENCE:
            raise ValueError(f"MaThamChieu must have 1 to {MAX_REFERENCE} characters")
        message: dict[str, Any] = {
            "LoaiBanTin": MSG_INIT,
            "PhienBan": VERSION,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": reference,
            "SoTien": str(int(amount)),
            "LoaiHinhThanhToan": PAYMENT_TYPE,
            "MaKenhThanhToan": CHANNEL_INTERNET,
            "MaThietBi": DEVICE_WEB,
            "NgonNgu": LANGUAGE_VI,
            "MaTienTe": CURRENCY_VND,
            "MaNganHang": BANK_CODE,
            "ThongTinGiaoDich": description,
            "ThoiGianGD": init_time or format_time(datetime.now(UTC)),
            "Ip": ip,
            "ThongTinBienLai": dict(receipt) if receipt else receipt_block({}, [], []),
        }
        signed = sign_message(message, INIT_HASH_FIELDS, self._secret)
        answer = _answer(self._post(self.init_url, signed, idempotent=False))
        _raise_unless_success(answer)
        url = answer.get("UrlThanhToan")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderBadResponse("INIT answer has no UrlThanhToan")
        return InitResult(url=url, raw=answer)

    def query_status(self, reference: str, *, init_time: str) -> ProviderEvent:
        """The platform's view of a payment started at ``init_time`` (the INIT's ``ThoiGianGD``:
        the platform finds the transaction by it). The reply's ``MaXacThuc`` is verified.

        ``TrangThaiGD`` 1 paid, 3 pending, 4 failed; anything else pending.
        """
        message = self._lookup_message(MSG_QUERY, reference, init_time)
        answer = _answer(self._post(self.query_url, message, idempotent=True))
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

    def get_bill(self, reference: str, *, init_time: str) -> bytes:
        """The platform's receipt of a paid payment, a PDF [TD GetBienLaiDvcPayment writes the
        answer to a .pdf]. A JSON answer carries the platform's refusal (``PayGovError``)."""
        message = self._lookup_message(MSG_GET_BILL, reference, init_time)
        response = self._post(self.bill_url, message, idempotent=True)
        if 200 <= response.status_code < 300 and response.content.startswith(PDF_MAGIC):
            return response.content
        _raise_unless_success(_answer(response))
        raise ProviderBadResponse("GET_BILL answer is not a PDF")

    def _lookup_message(self, kind: str, reference: str, init_time: str) -> dict[str, Any]:
        message = {
            "LoaiBanTin": kind,
            "PhienBan": VERSION,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": reference,
            "ThoiGianGD": init_time,
        }
        return sign_message(message, QUERY_HASH_FIELDS, self._secret)

    def _post(self, url: str, message: dict[str, Any], *, idempotent: bool) -> requests.Response:
        # [TD] every call carries the access token as a Bearer header when one is configured
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.post(
                    url, json=message, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                sent = not _failed_before_sending(exc)
                if attempt == self.attempts or (sent and not idempotent):
                    raise ProviderUnavailable(type(exc).__name__, request_sent=sent) from exc
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
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
    if response.status_code in (401, 403):
        raise ProviderBadResponse(f"HTTP {response.status_code}: the access token was refused")
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
