"""A fake PayGov platform: INIT, QUERY, GET_BILL and a payment page that sends the RESULT.

Steering: ``wrapped`` (answer in the ``{"error_code", "message"}`` form), ``init_error`` (a
``MaLoi`` for INIT), ``outcomes[reference] = "<TrangThaiGD>"`` (override the status query),
``forge_replies`` (sign replies with a wrong secret), plus ``down`` / ``fail_next`` / ``delay``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from providers.fakes.server import FakeServer, json_response
from providers.paygov.schemas import (
    GET_BILL_PATH,
    INIT_HASH_FIELDS,
    INIT_PATH,
    MSG_QUERY,
    MSG_RESULT,
    QUERY_HASH_FIELDS,
    QUERY_PATH,
    RESULT_HASH_FIELDS,
    format_time,
    hash_matches,
    sign_message,
    wrap,
)

BAD_HASH = "97"
NOT_FOUND = "14"
FAILED = "01"
PAID_STATE, PENDING_STATE, FAILED_STATE = "1", "3", "4"


@dataclass
class FakePayment:
    reference: str
    amount: str
    currency: str
    description: str
    bank_code: str
    receipt_info: dict[str, Any]
    state: str = PENDING_STATE
    ma_loi: str = ""
    txn_id: str = ""
    paid_at: datetime | None = None
    acks: list[dict[str, Any]] = field(default_factory=list)


class FakePayGov(FakeServer):
    def __init__(
        self,
        secret: str,
        *,
        partner_code: str = "THUPHI",
        callback_url: str | None = None,
        return_url: str | None = None,
        wrapped: bool = False,
    ) -> None:
        super().__init__()
        self.partner_code = partner_code
        self.secret = secret
        self.callback_url = callback_url
        self.return_url = return_url
        self.wrapped = wrapped
        self.init_error: str | None = None
        self.forge_replies = False
        self.outcomes: dict[str, str] = {}
        self.payments: dict[str, FakePayment] = {}
        self._next_txn = 1

    def handle(self, request: Request, body: bytes) -> Response:
        if request.path.startswith("/pay/"):
            return self._payment_page(request, request.path.removeprefix("/pay/"))
        handlers = {INIT_PATH: self._init, QUERY_PATH: self._query, GET_BILL_PATH: self._get_bill}
        handler = handlers.get(request.path)
        if handler is None or request.method != "POST":
            return json_response({"error": "not found"}, 404)
        try:
            message = json.loads(body)
        except ValueError:
            return self._answer({"MaLoi": "96", "MoTaLoi": "Bản tin không hợp lệ"})
        return self._answer(handler(message))

    # -- API ------------------------------------------------------------------------------------

    def _init(self, message: dict[str, Any]) -> dict[str, Any]:
        if not hash_matches(message, INIT_HASH_FIELDS, self.secret):
            return {"MaLoi": BAD_HASH, "MoTaLoi": "Sai mã xác thực"}
        if self.init_error:
            return {"MaLoi": self.init_error, "MoTaLoi": "Lỗi khởi tạo giao dịch"}
        reference = str(message["MaThamChieu"])
        self.payments[reference] = FakePayment(
            reference=reference,
            amount=str(message["SoTien"]),
            currency=str(message["MaTienTe"]),
            description=str(message["ThongTinGiaoDich"]),
            bank_code=str(message.get("MaNganHang") or ""),
            receipt_info=dict(message.get("ThongTinBienLai") or {}),
        )
        url = f"{self.url}/pay/{reference}"
        return {"MaLoi": "00", "MoTaLoi": "Thành công", "UrlThanhToan": url}

    def _query(self, message: dict[str, Any]) -> dict[str, Any]:
        if not hash_matches(message, QUERY_HASH_FIELDS, self.secret):
            return {"MaLoi": BAD_HASH, "MoTaLoi": "Sai mã xác thực"}
        payment = self.payments.get(str(message.get("MaThamChieu")))
        if payment is None:
            return {"MaLoi": NOT_FOUND, "MoTaLoi": "Không tìm thấy giao dịch"}
        reply = self._signed(MSG_QUERY, payment, "00")
        reply["TrangThaiGD"] = self.outcomes.get(payment.reference, payment.state)
        return reply

    def _get_bill(self, message: dict[str, Any]) -> dict[str, Any]:
        if not hash_matches(message, QUERY_HASH_FIELDS, self.secret):
            return {"MaLoi": BAD_HASH, "MoTaLoi": "Sai mã xác thực"}
        payment = self.payments.get(str(message.get("MaThamChieu")))
        if payment is None:
            return {"MaLoi": NOT_FOUND, "MoTaLoi": "Không tìm thấy giao dịch"}
        bill = {**payment.receipt_info, "SoTien": payment.amount}
        return {"MaLoi": "00", "MaThamChieu": payment.reference, "ThongTinBienLai": bill}

    def _answer(self, answer: dict[str, Any]) -> Response:
        return json_response(wrap(answer) if self.wrapped else answer)

    def _signed(self, kind: str, payment: FakePayment, ma_loi: str) -> dict[str, Any]:
        message = {
            "LoaiBanTin": kind,
            "MaLoi": ma_loi,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": payment.reference,
            "SoTien": payment.amount,
            "MaTienTe": payment.currency,
            "MaGiaoDich": payment.txn_id,
            "MaNganHang": payment.bank_code or "970436",
            "ThoiGianGD": format_time(payment.paid_at or datetime.now(UTC)),
            "ThongTinGiaoDich": payment.description,
        }
        secret = "forged-" + self.secret if self.forge_replies else self.secret
        return sign_message(message, RESULT_HASH_FIELDS, secret)

    # -- the citizen's side ---------------------------------------------------------------------

    def _payment_page(self, request: Request, reference: str) -> Response:
        payment = self.payments.get(reference)
        if payment is None:
            return Response("Không tìm thấy giao dịch", status=404)
        if request.method == "POST":
            self.complete(reference, success=request.form.get("outcome") == "success")
            return redirect(self.return_url or f"{self.url}/pay/{reference}/done", 303)
        ref = html.escape(reference)
        page = (
            "<!doctype html><html lang='vi'><meta charset='utf-8'><title>PayGov (giả lập)</title>"
            f"<h1>Thanh toán {html.escape(payment.amount)} đ</h1><p>{ref}</p>"
            f"<form method='post' action='/pay/{ref}'>"
            "<button name='outcome' value='success'>Thanh toán thành công</button>"
            "<button name='outcome' value='failure'>Thất bại</button></form></html>"
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def result_message(self, reference: str) -> dict[str, Any]:
        """The signed RESULT for a payment's current state (tests may post it themselves)."""
        payment = self.payments[reference]
        return self._signed(MSG_RESULT, payment, payment.ma_loi)

    def complete(
        self, reference: str, *, success: bool = True, ma_loi: str | None = None
    ) -> requests.Response | None:
        """Finish a payment as the citizen would, then POST the RESULT to ``callback_url``."""
        payment = self.payments[reference]
        payment.ma_loi = ma_loi or ("00" if success else FAILED)
        payment.state = PAID_STATE if success else FAILED_STATE
        payment.paid_at = datetime.now(UTC)
        if success and not payment.txn_id:
            payment.txn_id = f"PG{self._next_txn:010d}"
            self._next_txn += 1
        if self.callback_url is None:
            return None
        response = requests.post(self.callback_url, json=self.result_message(reference), timeout=5)
        with response:
            try:
                payment.acks.append(response.json())
            except ValueError:
                payment.acks.append({"status": response.status_code})
        return response
