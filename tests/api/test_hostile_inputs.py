"""Hostile input at every endpoint of the app (its url_map, enumerated): huge integers, JSON
nested a thousand deep, NUL and other control characters, lone surrogates, wrong types and
absurd amounts, in paths, queries, forms and bodies, authenticated as far as each endpoint asks
(a token with every scope, the bank's API key, a POS signature, a PayGov hash, an admin's
console session). Whatever the answer, it is never a 5xx."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from payments.app import create_app
from payments.auth.services import CreateClient, CreateUser, create_client, create_user, issue_token
from payments.http import Container
from providers import signing
from providers.paygov.schemas import RESULT_HASH_FIELDS, sign_message

ALL_SCOPES = ["payments:write", "receipts:write", "reconciliation:write", "catalog:write"]
HUGE = 2**63
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
ABSURD = 9_223_372_036_854_775_807

# path segments: NUL, a huge integer, a lone surrogate's escape, and a very long string
PATH_VALUES = ["%00", str(HUGE * 10**10), "%ED%A0%80", "x" * 3000, "-1", "0"]
QUERY_STRINGS = [
    "dossier_code=%00",
    "procedure=1.001234&channel=online&date=99999-99-99",
    f"payment_request_id={HUGE}&page={HUGE}&agency=%00&date=%01",
    "account=%00&from=0000-00-00&to=9999-99-99&limit=" + "9" * 40,
]


def _json_bodies() -> list[bytes]:
    """Raw JSON bodies (some not valid JSON on purpose)."""
    payment_request = {
        "dossier_code": "H40.12-hostile",
        "procedure_code": "1.001234",
        "channel": "counter",
        "payer": {"name": "Nguyễn Văn An"},
    }
    bodies: list[Any] = [
        {"transferAmount": ABSURD, "amount": HUGE, "quantity": HUGE, "SoTien": str(HUGE)},
        {**payment_request, "items": [{"fee_code": "LLTP", "quantity": HUGE}]},
        {**payment_request, "payer": {"name": "a\u0000b"}},
        {**payment_request, "callback_url": "http://[::1]:9/x"},
        {**payment_request, "dossier_code": 5, "payer": []},
        {"date": "2026-13-45", "action": 7, "note": None, "payment_request_id": HUGE},
        {"client_id": "x\u0000", "client_secret": ["y"]},
        {
            "agencies": [{"code": "000.00.12.H40", "name": "x", "tax_code": "3000123456"}],
            "procedures": [
                {
                    "code": "1.001234",
                    "name": "x",
                    "agency": "000.00.12.H40",
                    "account": "stp-kbnn",
                    "fees": [{"code": "LLTP", "name": "x", "kind": "phi", "amount": HUGE}],
                }
            ],
        },
        [],
        "string",
        None,
        10**300,
    ]
    raw = [json.dumps(b).encode() for b in bodies]
    raw += [
        DEEP.encode(),
        DEEP_OBJECT.encode(),
        b'{"a": "\x00"}',
        b'{"a": "\\u0000"}',
        b'{"a": "\\ud800"}',
        b'{"a": 1' + b"0" * 5000 + b"}",
        b"\xff\xfe not utf-8",
        b"",
    ]
    return raw


def _bank(amount: int, content: str = "TP26ABCDEFGH7") -> dict[str, Any]:
    return {
        "id": uuid.uuid4().int % 10**9,
        "gateway": "Vietcombank",
        "transactionDate": "2026-11-23 09:00:00",
        "accountNumber": "376101234567",
        "code": None,
        "content": content,
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": HUGE,
        "referenceCode": "FT1",
        "description": "",
    }


def _pos(amount: int) -> dict[str, Any]:
    return {
        "terminal_id": "T0001", "merchant_id": "M0001", "batch_no": "1", "trace_no": "2",
        "approval_code": "A", "rrn": "1", "masked_pan": "970436******1234",
        "card_scheme": "NAPAS", "amount": amount, "currency": "VND",
        "transaction_time": "2026-11-23T09:15:02+07:00", "reference": "TP26ABCDEFGH7",
        "status": "approved",
    }  # fmt: skip


def _settlement(amount: int) -> dict[str, Any]:
    return {
        "type": "settlement", "terminal_id": "T0001", "merchant_id": "M0001",
        "batch_no": "1", "settled_at": "2026-11-23T23:00:00+07:00", "count": amount,
        "gross_amount": amount, "fee_amount": 0, "net_amount": amount,
    }  # fmt: skip


def _paygov(amount: str) -> dict[str, Any]:
    message = {
        "LoaiBanTin": "RESULT", "PhienBan": "1.0.6", "MaLoi": "00", "MaDoiTac": "THUPHI",
        "MaThamChieu": "TP26ABCDEFGH7", "SoTien": amount, "MaTienTe": "VND",
        "MaGiaoDich": "GD1", "MaNganHang": "VCB", "ThoiGianGD": "20261123091502",
    }  # fmt: skip
    for name in RESULT_HASH_FIELDS:
        message.setdefault(name, "x")
    return sign_message(message, RESULT_HASH_FIELDS, "paygov-test-secret")


def _callback_bodies() -> list[bytes]:
    """Well-authenticated provider messages with absurd amounts (a compromised or buggy
    provider is still hostile input)."""
    messages: list[Any] = [
        _bank(ABSURD),
        _bank(HUGE),
        _bank(10**13),
        _pos(ABSURD),
        _pos(HUGE * 4),
        _settlement(HUGE),
        _paygov(str(HUGE * 10)),
        _paygov("9" * 15),
        {**_bank(1000), "content": "a\u0000b"},
    ]
    return [json.dumps(m).encode() for m in messages]


@pytest.fixture
def hostile_app(container: Container, catalog: Any) -> Flask:
    return create_app(container=container)


@pytest.fixture
def token(container: Container) -> str:
    creds = create_client(CreateClient("hostile", ALL_SCOPES), uow=container.uow())
    return issue_token(
        creds.client_id, creds.client_secret, uow=container.uow(), settings=container.settings
    ).access_token


@pytest.fixture
def console(hostile_app: Flask, container: Container) -> tuple[FlaskClient, str]:
    create_user(CreateUser("hostile-admin", "admin", "a-long-password"), uow=container.uow())
    client = hostile_app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    answer = client.post(
        "/console/login",
        data={"username": "hostile-admin", "password": "a-long-password", "csrf_token": csrf[1]},
    )
    assert answer.status_code in (200, 302, 303)
    page = client.get("/console/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return client, csrf[1] if csrf else ""


def _urls(app: Flask) -> list[tuple[str, str]]:
    """Every rule of the app with each hostile value in its variables, for each method."""
    out: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for value in PATH_VALUES:
            path = re.sub(r"<(?:[^>:]+:)?[^>]+>", value, rule.rule)
            for method in methods:
                out.append((method, path))
    return out


def _headers(token: str, body: bytes, csrf: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Idempotency-Key": uuid.uuid4().hex,
        "X-CSRF-Token": csrf,
        "X-Signature": signing.sign(body, "pos-test-secret"),
        "X-Request-Id": "hostile \x01 <script>" + "x" * 100,
    }


def test_no_endpoint_answers_5xx_to_hostile_input(
    hostile_app: Flask, token: str, console: tuple[FlaskClient, str]
) -> None:
    client, csrf = console
    server_errors: list[str] = []
    tried = 0

    def send(method: str, path: str, body: bytes | None = None, **kw: Any) -> None:
        nonlocal tried
        tried += 1
        headers = _headers(token, body or b"", csrf)
        if path.startswith("/callbacks/bank"):
            headers["Authorization"] = "Apikey bank-test-key"
        answer = client.open(path, method=method, data=body, headers=headers, **kw)
        # 503 is /readyz saying that no scheduler runs in this test: an answer, not a fault
        if answer.status_code >= 500 and not path.startswith("/readyz"):
            server_errors.append(f"{method} {path[:80]} {(body or b'')[:60]!r}: {answer.status}")

    for method, path in _urls(hostile_app):
        send(method, path)
        for query in QUERY_STRINGS:
            send(method, f"{path}?{query}")
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            for body in _json_bodies():
                send(method, path, body, content_type="application/json")
                # the same bytes without a JSON content type (YAML catalogs, bare callbacks)
                send(method, path, body, content_type="text/plain")
            send(method, path, b"username=%00&password=\x00&csrf_token=" + csrf.encode(),
                 content_type="application/x-www-form-urlencoded")  # fmt: skip
    for path in ("/callbacks/bank/sepay", "/callbacks/pos", "/callbacks/paygov"):
        for body in _callback_bodies():
            send("POST", path, body, content_type="application/json")
    print(f"hostile requests tried: {tried}, 5xx: {len(server_errors)}")
    assert tried > 1000
    assert not server_errors, "\n".join(server_errors[:40])
