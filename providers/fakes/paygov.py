"""A fake PayGov platform speaking the real clients' form (``providers.paygov.schemas``): INIT,
QUERY, GET_BILL (a PDF) and a payment page that sends the signed result.

Strict where the real platform would be: a call without the Bearer token is a 401; an INIT
missing any field or ``ThongTinBienLai`` key, or with a wrong constant, is refused (``MaLoi`` 96,
the problems kept in ``refused``); a query or GET_BILL whose ``ThoiGianGD`` is not the INIT's finds
nothing (``MaLoi`` 14), as the platform looks transactions up by it.

Steering: ``wrapped`` (answer in the ``{"error_code", "message"}`` form), ``init_error`` (a
``MaLoi`` for INIT), ``outcomes[reference] = "<TrangThaiGD>"`` (override the status query),
``forge_replies`` (sign replies with a wrong secret), ``result_type`` (the result's
``LoaiBanTin``), ``numeric_amount`` (``SoTien`` as a JSON number in results), ``bill_error``
(GET_BILL refused with this ``MaLoi``), plus ``down`` / ``fail_next`` / ``delay``.
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
    BANK_CODE,
    CHANNEL_INTERNET,
    CURRENCY_VND,
    FEE_KIND,
    FEE_LINE_FIELDS,
    GET_BILL_PATH,
    INIT_FIELDS,
    INIT_HASH_FIELDS,
    INIT_PATH,
    LANGUAGE_VI,
    MAX_REFERENCE,
    MSG_GET_BILL,
    MSG_INIT,
    MSG_QUERY,
    MSG_RESULT,
    PAYMENT_ITEM_FIELDS,
    PAYMENT_TYPE,
    QUERY_HASH_FIELDS,
    QUERY_PATH,
    RECEIPT_FIELDS,
    RESULT_HASH_FIELDS,
    SERVICE_FEES,
    VERSION,
    format_time,
    hash_matches,
    parse_amount,
    parse_time,
    sign_message,
    wrap,
)

DEFAULT_ACCESS_TOKEN = "paygov-test-token"  # noqa: S105 - a fake's well-known test value
BAD_HASH = "97"
INVALID = "96"
DUPLICATE = "94"
NOT_FOUND = "14"
NOT_PAID = "15"
FAILED = "01"
PAID_STATE, PENDING_STATE, FAILED_STATE = "1", "3", "4"
INIT_CONSTANTS = {
    "LoaiBanTin": MSG_INIT,
    "PhienBan": VERSION,
    "LoaiHinhThanhToan": PAYMENT_TYPE,
    "MaKenhThanhToan": CHANNEL_INTERNET,
    "NgonNgu": LANGUAGE_VI,
    "MaTienTe": CURRENCY_VND,
    "MaNganHang": BANK_CODE,
}
# what the platform cannot route or credit without (besides every key being present)
RECEIPT_REQUIRED = ("MaDVC", "MaTTHC", "MaDonVi", "MaHoSo", "HoTenNguoiNop")
BENEFICIARY = ("TKThuHuong", "MaNHThuHuong", "TenTKThuHuong")


@dataclass
class FakePayment:
    reference: str
    amount: str
    currency: str
    description: str
    init_time: str
    receipt_info: dict[str, Any]
    state: str = PENDING_STATE
    ma_loi: str = ""
    txn_id: str = ""
    paid_at: datetime | None = None
    acks: list[dict[str, Any]] = field(default_factory=list)


def init_problems(message: dict[str, Any], partner_code: str) -> list[str]:
    """Everything the platform would refuse in an INIT (empty: acceptable)."""
    problems = [f"missing {k}" for k in (*INIT_FIELDS, "MaXacThuc") if k not in message]
    problems += [f"{k} is not a string" for k in INIT_FIELDS if not isinstance(message.get(k), str)]
    problems += [
        f"{k} must be {v!r}" for k, v in INIT_CONSTANTS.items() if message.get(k) not in (None, v)
    ]
    if message.get("MaDoiTac") != partner_code:
        problems.append("unknown MaDoiTac")
    if message.get("MaThietBi") not in ("1", "2"):
        problems.append("MaThietBi must be 1 or 2")
    if parse_amount(message.get("SoTien")) is None or not isinstance(message.get("SoTien"), str):
        problems.append("SoTien must be a whole number of dong as a string")
    if not 0 < len(str(message.get("MaThamChieu") or "")) <= MAX_REFERENCE:
        problems.append(f"MaThamChieu must have 1 to {MAX_REFERENCE} characters")
    if parse_time(message.get("ThoiGianGD")) is None:
        problems.append("ThoiGianGD must be yyyyMMddHHmmss")
    return problems + receipt_problems(message.get("ThongTinBienLai"))


def receipt_problems(block: object) -> list[str]:
    if not isinstance(block, dict):
        return ["ThongTinBienLai must be an object"]
    problems = [f"ThongTinBienLai.{k} missing" for k in RECEIPT_FIELDS if k not in block]
    problems += [
        f"ThongTinBienLai.{k} is not a string"
        for k in RECEIPT_FIELDS
        if k in block and not isinstance(block[k], str)
    ]
    problems += [f"ThongTinBienLai.{k} is empty" for k in RECEIPT_REQUIRED if not block.get(k)]
    if block.get("MaDichVu") != SERVICE_FEES:
        problems.append(f"ThongTinBienLai.MaDichVu must be {SERVICE_FEES!r} (fees)")
    if not all(block.get(k) for k in BENEFICIARY):
        problems.append("ThongTinBienLai: no beneficiary account to credit")
    problems += _list_problems(block.get("PhiLePhi"), "PhiLePhi", FEE_LINE_FIELDS)
    for line in block.get("PhiLePhi") or []:
        if isinstance(line, dict) and line.get("LoaiPhiLePhi") not in FEE_KIND.values():
            problems.append("PhiLePhi.LoaiPhiLePhi must be 1 (phí) or 2 (lệ phí)")
    return problems + _list_problems(block.get("DSKhoanNop"), "DSKhoanNop", PAYMENT_ITEM_FIELDS)


def _list_problems(items: object, name: str, keys: tuple[str, ...]) -> list[str]:
    if not isinstance(items, list) or not items:
        return [f"ThongTinBienLai.{name} must be a non-empty list"]
    ok = all(isinstance(i, dict) and all(isinstance(i.get(k), str) for k in keys) for i in items)
    return [] if ok else [f"ThongTinBienLai.{name} items need {', '.join(keys)} as strings"]


def bill_pdf(payment: FakePayment) -> bytes:
    """A small, valid one-page PDF standing for the platform's receipt of ``payment``."""
    text = f"BIEN LAI {payment.reference} {payment.amount} VND {payment.txn_id}"
    stream = f"BT /F1 12 Tf 50 800 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n" % len(stream) + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class FakePayGov(FakeServer):
    def __init__(
        self,
        secret: str,
        *,
        partner_code: str = "THUPHI",
        access_token: str = DEFAULT_ACCESS_TOKEN,
        callback_url: str | None = None,
        return_url: str | None = None,
        wrapped: bool = False,
        paths: tuple[str, str, str] = (INIT_PATH, QUERY_PATH, GET_BILL_PATH),
    ) -> None:
        super().__init__()
        self.partner_code = partner_code
        self.secret = secret
        self.access_token = access_token
        self.callback_url = callback_url
        self.return_url = return_url
        self.wrapped = wrapped
        self.paths = paths
        self.init_error: str | None = None
        self.bill_error: str | None = None
        self.forge_replies = False
        self.result_type = MSG_RESULT
        self.numeric_amount = False
        self.outcomes: dict[str, str] = {}
        self.payments: dict[str, FakePayment] = {}
        self.refused: list[list[str]] = []
        self._next_txn = 1

    def handle(self, request: Request, body: bytes) -> Response:
        if request.path.startswith("/pay/"):
            return self._payment_page(request, request.path.removeprefix("/pay/"))
        init_path, query_path, bill_path = self.paths
        handlers = {init_path: self._init, query_path: self._query, bill_path: self._get_bill}
        handler = handlers.get(request.path)
        if handler is None or request.method != "POST":
            return json_response({"error": "not found"}, 404)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return json_response({"error": "invalid_token"}, 401)
        try:
            message = json.loads(body)
        except ValueError:
            return self._answer({"MaLoi": INVALID, "MoTaLoi": "Bản tin không hợp lệ"})
        if not isinstance(message, dict):
            return self._answer({"MaLoi": INVALID, "MoTaLoi": "Bản tin không hợp lệ"})
        answer = handler(message)
        return answer if isinstance(answer, Response) else self._answer(answer)

    # -- API ------------------------------------------------------------------------------------

    def _init(self, message: dict[str, Any]) -> dict[str, Any]:
        if not hash_matches(message, INIT_HASH_FIELDS, self.secret):
            return {"MaLoi": BAD_HASH, "MoTaLoi": "Sai mã xác thực"}
        problems = init_problems(message, self.partner_code)
        if problems:
            self.refused.append(problems)
            return {"MaLoi": INVALID, "MoTaLoi": "; ".join(problems)}
        if self.init_error:
            return {"MaLoi": self.init_error, "MoTaLoi": "Lỗi khởi tạo giao dịch"}
        reference = message["MaThamChieu"]
        if reference in self.payments:
            return {"MaLoi": DUPLICATE, "MoTaLoi": "Trùng mã tham chiếu"}
        self.payments[reference] = FakePayment(
            reference=reference,
            amount=message["SoTien"],
            currency=message["MaTienTe"],
            description=message["ThongTinGiaoDich"],
            init_time=message["ThoiGianGD"],
            receipt_info=dict(message["ThongTinBienLai"]),
        )
        url = f"{self.url}/pay/{reference}"
        return {"MaLoi": "00", "MoTaLoi": "Thành công", "UrlThanhToan": url}

    def _lookup(self, message: dict[str, Any], kind: str) -> FakePayment | dict[str, Any]:
        if message.get("LoaiBanTin") != kind or message.get("PhienBan") != VERSION:
            return {"MaLoi": INVALID, "MoTaLoi": f"LoaiBanTin must be {kind}"}
        if not hash_matches(message, QUERY_HASH_FIELDS, self.secret):
            return {"MaLoi": BAD_HASH, "MoTaLoi": "Sai mã xác thực"}
        payment = self.payments.get(str(message.get("MaThamChieu")))
        # the platform finds a transaction by (MaThamChieu, the INIT's ThoiGianGD)
        if payment is None or message.get("ThoiGianGD") != payment.init_time:
            return {"MaLoi": NOT_FOUND, "MoTaLoi": "Không tìm thấy giao dịch"}
        return payment

    def _query(self, message: dict[str, Any]) -> dict[str, Any]:
        payment = self._lookup(message, MSG_QUERY)
        if not isinstance(payment, FakePayment):
            return payment
        reply = self._signed(MSG_QUERY, payment, "00")
        reply["TrangThaiGD"] = self.outcomes.get(payment.reference, payment.state)
        return reply

    def _get_bill(self, message: dict[str, Any]) -> dict[str, Any] | Response:
        payment = self._lookup(message, MSG_GET_BILL)
        if not isinstance(payment, FakePayment):
            return payment
        if self.bill_error or payment.state != PAID_STATE:
            return {"MaLoi": self.bill_error or NOT_PAID, "MoTaLoi": "Chưa có biên lai"}
        return Response(bill_pdf(payment), content_type="application/pdf")

    def _answer(self, answer: dict[str, Any]) -> Response:
        return json_response(wrap(answer) if self.wrapped else answer)

    def _signed(self, kind: str, payment: FakePayment, ma_loi: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "LoaiBanTin": kind,
            "MaLoi": ma_loi,
            "MaDoiTac": self.partner_code,
            "MaThamChieu": payment.reference,
            "SoTien": int(payment.amount) if self.numeric_amount else payment.amount,
            "MaTienTe": payment.currency,
            "MaGiaoDich": payment.txn_id,
            "MaNganHang": "970436",
            "ThoiGianGD": format_time(payment.paid_at or datetime.now(UTC)),
            "ThongTinGiaoDich": payment.description,
        }
        if not payment.txn_id:
            del message["MaGiaoDich"]  # a failed payment has none, and says nothing of it
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
        """The signed result for a payment's current state (tests may post it themselves)."""
        payment = self.payments[reference]
        return self._signed(self.result_type, payment, payment.ma_loi)

    def complete(
        self, reference: str, *, success: bool = True, ma_loi: str | None = None
    ) -> requests.Response | None:
        """Finish a payment as the citizen would, then POST the result to ``callback_url``."""
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
