"""PayGov wire format: our reading of the national portal payment platform spec, version 1.0.6.

Messages are JSON objects with Vietnamese field names; every message carries ``MaXacThuc``, the
lowercase hex SHA-256 of selected fields joined by ``|``, then ``|`` and the shared secret.

Endpoints (POST, JSON, relative to ``THUPHI_PAYGOV_URL``) and ``LoaiBanTin`` (message type) values:

==================  ===============  ===================================================
path                LoaiBanTin       answer
==================  ===============  ===================================================
``/api/init``       ``INIT``         ``{MaLoi, MoTaLoi, UrlThanhToan}`` (maybe wrapped)
``/api/query``      ``QUERY``        status reply, ``LoaiBanTin`` ``QUERY``, + ``TrangThaiGD``
``/api/get-bill``   ``GET_BILL``     ``{MaLoi, MoTaLoi, MaThamChieu, ThongTinBienLai}``
(our callback)      ``RESULT``       we answer the ack below
==================  ===============  ===================================================

Some platform versions wrap an answer as ``{"error_code": "0", "message": "<the JSON as a
string>"}``; both forms are accepted everywhere.

``SoTien`` is a decimal string of whole đồng (no scaling). ``MaTienTe`` is ISO 4217 numeric
``704``. ``ThoiGianGD`` is ``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh.
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
TIME_FORMAT = "%Y%m%d%H%M%S"

INIT_PATH = "/api/init"
QUERY_PATH = "/api/query"
GET_BILL_PATH = "/api/get-bill"

MSG_INIT = "INIT"
MSG_QUERY = "QUERY"
MSG_GET_BILL = "GET_BILL"
MSG_RESULT = "RESULT"

CURRENCY_VND = "704"
LANGUAGE_VI = "vi"
# Our reading: LoaiHinhThanhToan 1 = pay a fee/charge once; MaKenhThanhToan 1 = internet;
# MaThietBi 1 = web browser, 2 = mobile app. Empty MaNganHang lets the citizen choose a bank.
PAYMENT_TYPE_FEE = "1"
CHANNEL_INTERNET = "1"
DEVICE_WEB = "1"
DEVICE_MOBILE = "2"

SUCCESS = "00"

# The hash recipes, DESIGN §2. The order matters and differs per message.
INIT_HASH_FIELDS = (
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
# PayGov: ThoiGianGD precedes ThongTinGiaoDich in the result hash (unlike INIT)
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
# Our choice for the ack we return to a RESULT (the spec names its fields, not its hash order):
# the fields in the order the spec lists them, MoTaLoi left out because it is free text.
ACK_HASH_FIELDS = ("MaLoi", "MaDoiTac", "MaThamChieu", "ThoiGianGD")

# Fields a RESULT must carry; MaGiaoDich and MaNganHang may be empty for a failed payment.
RESULT_REQUIRED = (*RESULT_HASH_FIELDS, "MaXacThuc")
SECRET_FIELDS = frozenset({"MaXacThuc"})

_AMOUNT = re.compile(r"[0-9]{1,15}", re.ASCII)


def hash_fields(message: Mapping[str, Any], fields: Sequence[str], secret: str) -> str:
    """``MaXacThuc``: SHA-256 hex of ``f1|f2|…|fn|secret``; a missing field counts as empty."""
    parts = ["" if message.get(name) is None else str(message[name]) for name in fields]
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
    """``SoTien`` as an int of đồng, or None unless it is a plain positive decimal string."""
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
