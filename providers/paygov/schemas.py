"""PayGov wire format: the national portal payment platform, message version 1.0.6, as public
production clients speak it (the platform's own specification is not public).

Sources read (December 2026), cited where a quirk comes from them:

- [TD] HuanVu201/DichVuCong_KhoaLuan_PASETO (a provincial one-stop system, C#):
  ``DichVuCongApi/src/Infrastructure/DvcPayment/{DvcPaymentService.cs, InitDvcPaymentRequest.cs}``,
  ``Application/Common/DvcPayment/{DvcPaymentSettings.cs, BienLaiDvcPaymentRequest.cs}``,
  ``Application/Business/YeuCauThanhToanApp/Commands/ConfirmDvcPayment*.cs``;
- [OCPS] VietOpenCPS/opencps-v2 @829d6d2b (Java): ``modules/pay-gate-integration/src/main/java/
  org/fds/opencps/paygate/integration/{action/impl/PayGateIntegrationActionImpl.java,
  util/PayGateUtil.java, util/PayGateTerm.java}``.

Messages are JSON objects with Vietnamese field names; every request carries ``MaXacThuc``, the
lowercase hex SHA-256 of selected fields joined by ``|``, then ``|`` and the shared secret. Every
call carries ``Authorization: Bearer <access token>`` when one is configured [TD].

==================  ===============  ===================================================
URL (configurable)  LoaiBanTin       answer
==================  ===============  ===================================================
init                ``INIT``         ``{MaLoi, MoTaLoi, UrlThanhToan}`` (maybe wrapped)
query (check)       ``QUERY``        the result's fields + ``TrangThaiGD`` (1/3/4)
receipt (bill)      ``GET_BILL``     the platform's receipt, a PDF [TD]
(our callback)      deployment's     we answer the ack below
==================  ===============  ===================================================

Some platform versions wrap an answer as ``{"error_code": "0", "message": "<the JSON as a
string>"}`` [TD]; both forms are accepted everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from providers.base import split_secrets

VERSION = "1.0.6"
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# [OCPS] yyyyMMddHHmmss; [TD] formats "yyyyMMddhhmmss" (12-hour clock, a bug we do not copy)
TIME_FORMAT = "%Y%m%d%H%M%S"

# default paths under THUPHI_PAYGOV_URL when the three URLs are not configured one by one
INIT_PATH = "/api/init"
QUERY_PATH = "/api/query"
GET_BILL_PATH = "/api/get-bill"

MSG_INIT = "INIT"
MSG_QUERY = "QUERY"
MSG_GET_BILL = "GET_BILL"
MSG_RESULT = "RESULT"  # what our fake platform sends; real deployments configure their own
# a result may carry any LoaiBanTin but these: [OCPS] reads every type from configuration
REQUEST_TYPES = frozenset({MSG_INIT, MSG_QUERY, MSG_GET_BILL})

# INIT constants, inside the hash [TD InitDvcPaymentRequest.cs]
PAYMENT_TYPE = "PAY"  # LoaiHinhThanhToan
CHANNEL_INTERNET = "1"  # MaKenhThanhToan
DEVICE_WEB = "1"  # MaThietBi
LANGUAGE_VI = "vi-VN"  # NgonNgu
CURRENCY_VND = "VND"  # MaTienTe
BANK_CODE = "PAYMENT"  # MaNganHang: the platform lets the citizen choose
SERVICE_FEES = "2"  # ThongTinBienLai.MaDichVu: 2 fees (phí, lệ phí), 1 fines
# ThongTinBienLai.PhiLePhi[].LoaiPhiLePhi [OCPS PayGateTerm: LOAIPHILEPHI_PHI "1", _LEPHI "2"]
FEE_KIND = {"phi": "1", "le_phi": "2"}
MAX_REFERENCE = 20  # MaThamChieu [OCPS decodeTransactionId: substring(0, 20)]

SUCCESS = "00"

INIT_FIELDS = (
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
)
# The hash recipes. The order matters and differs per message.
INIT_HASH_FIELDS = INIT_FIELDS
# PayGov: ThoiGianGD precedes ThongTinGiaoDich in the result hash, unlike INIT
# [OCPS PayGateUtil.generateChecksum, TD ConfirmDvcPaymentCommandHandler]
RESULT_HASH_FIELDS = (
    "LoaiBanTin",
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaNganHang",
    "ThoiGianGD",
    "ThongTinGiaoDich",
)
QUERY_HASH_FIELDS = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD")

# Every key of ThongTinBienLai, "" where unknown [TD ThongTinBienLaiDvcPayment; OCPS
# createReceiptInfo]: both also send the fines block (MaLoaiHinhThuPhat … TenNguoiViPham), empty
# for fees, so we do too.
RECEIPT_FIELDS = (
    "MaDichVu",
    "MaDVC",
    "TenDVC",
    "MaTTHC",
    "TenTTHC",
    "MaDonVi",
    "TenDonVi",
    "MaHoSo",
    "TKThuHuong",
    "MaNHThuHuong",
    "TenTKThuHuong",
    "MaLoaiHinhThuPhat",
    "TenLoaiHinhThuPhat",
    "MaCoQuanQD",
    "TenCoQuanQD",
    "KhoBac",
    "NgayQD",
    "SoQD",
    "ThoiGianViPham",
    "DiaDiemViPham",
    "TenNguoiViPham",
    "TaiKhoanThuNSNN",
    "NoiDungThanhToan",
    "HoTenNguoiNop",
    "SoCMNDNguoiNop",
    "DiaChiNguoiNop",
    "HuyenNguoiNop",
    "TinhNguoiNop",
)
FEE_LINE_FIELDS = ("LoaiPhiLePhi", "MaPhiLePhi", "TenPhiLePhi", "SoTien")
PAYMENT_ITEM_FIELDS = ("NoiDung", "SoTien")

SECRET_FIELDS = frozenset({"MaXacThuc"})
_AMOUNT = re.compile(r"[0-9]{1,15}", re.ASCII)


def receipt_block(
    values: Mapping[str, str],
    fee_lines: Sequence[Mapping[str, str]],
    payment_items: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    """``ThongTinBienLai`` with every key present: ``values`` over empty strings."""
    unknown = set(values) - set(RECEIPT_FIELDS)
    if unknown:
        raise ValueError(f"not ThongTinBienLai fields: {sorted(unknown)}")
    block: dict[str, Any] = {name: str(values.get(name, "")) for name in RECEIPT_FIELDS}
    block["PhiLePhi"] = [{k: str(line.get(k, "")) for k in FEE_LINE_FIELDS} for line in fee_lines]
    block["DSKhoanNop"] = [
        {k: str(item.get(k, "")) for k in PAYMENT_ITEM_FIELDS} for item in payment_items
    ]
    return block


def _hash_part(value: object) -> str:
    return "" if value is None else str(value)


def hash_fields(message: Mapping[str, Any], fields: Sequence[str], secret: str) -> str:
    """``MaXacThuc``: SHA-256 hex of ``f1|f2|…|fn|secret``; a missing field counts as empty, a
    number as its decimal digits (a result's ``SoTien`` may be a JSON number [OCPS, TD])."""
    parts = [_hash_part(message.get(name)) for name in fields]
    return hashlib.sha256("|".join([*parts, secret]).encode("utf-8")).hexdigest()


def sign_message(message: dict[str, Any], fields: Sequence[str], secrets: str) -> dict[str, Any]:
    """``message`` with ``MaXacThuc`` set, using the first configured secret."""
    return {**message, "MaXacThuc": hash_fields(message, fields, split_secrets(secrets)[0])}


def hash_matches(message: Mapping[str, Any], fields: Sequence[str], secrets: str) -> bool:
    """Constant-time check of ``MaXacThuc`` against every configured secret."""
    given = message.get("MaXacThuc")
    if not isinstance(given, str):
        return False
    matched = False
    for secret in split_secrets(secrets):
        expected = hash_fields(message, fields, secret)
        matched |= hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode())
    return matched


def strip_secrets(message: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as stored in the event table: the hash removed."""
    return {key: value for key, value in message.items() if key not in SECRET_FIELDS}


def parse_amount(value: object) -> int | None:
    """``SoTien`` as an int of đồng: a plain positive decimal string or a JSON integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10**15 else None
    if not isinstance(value, str) or not _AMOUNT.fullmatch(value):
        return None
    amount = int(value)
    return amount if amount > 0 else None


def format_time(moment: datetime) -> str:
    """An aware datetime as ``yyyyMMddHHmmss`` in Vietnam time."""
    return moment.astimezone(VN_TZ).strftime(TIME_FORMAT)


def parse_time(value: object) -> datetime | None:
    """``yyyyMMddHHmmss`` Vietnam time → aware UTC, or None when malformed."""
    if not isinstance(value, str) or len(value) != 14 or not value.isascii() or not value.isdigit():
        return None
    try:
        local = datetime.strptime(value, TIME_FORMAT).replace(tzinfo=VN_TZ)
    except ValueError:
        return None
    return local.astimezone(UTC)


def unwrap(document: object) -> dict[str, Any] | None:
    """The answer, whether plain or wrapped as ``{"error_code", "message": "<json>"}``."""
    if not isinstance(document, dict):
        return None
    if "MaLoi" not in document and isinstance(document.get("message"), str):
        try:
            inner = json.loads(document["message"])
        except ValueError:
            return None
        return inner if isinstance(inner, dict) else None
    return document


def wrap(answer: Mapping[str, Any]) -> dict[str, str]:
    """The wrapped form some platform versions use (the fake server can answer either way)."""
    error_code = "0" if answer.get("MaLoi") == SUCCESS else "1"
    return {"error_code": error_code, "message": json.dumps(answer, ensure_ascii=False)}
