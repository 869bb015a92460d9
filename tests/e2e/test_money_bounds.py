"""Money bounds where money enters: an amount above THUPHI_MAX_AMOUNT (or past BIGINT) from any
channel is refused with a 4xx, logged as a rejected message and never applied; amounts at the
ceiling are applied and every sum (the request, the console's daily rollup) stays exact."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests
from channel_kit import ACCOUNT_NUMBER, BANK_KEY, create_request, fetch, outcomes
from sqlalchemy import func, select

from payments.money import BIGINT_MAX, DEFAULT_MAX_AMOUNT, amount_error
from providers import signing
from providers.fakes.bank import FakeBank
from providers.paygov.schemas import RESULT_HASH_FIELDS, sign_message
from reconciliation.console.models import PaymentDay

Api = Callable[..., requests.Session]
CEILING = DEFAULT_MAX_AMOUNT


@pytest.fixture
def bank(live_server: Any) -> FakeBank:
    return FakeBank(
        f"{live_server.url}/callbacks/bank/sepay", BANK_KEY, account_number=ACCOUNT_NUMBER
    )


@pytest.mark.parametrize("amount", [CEILING + 1, BIGINT_MAX, BIGINT_MAX + 1, 2**70])
def test_a_bank_notification_above_the_ceiling_is_refused_logged_and_never_applied(
    bank: FakeBank, api: Api, container: Any, amount: int
) -> None:
    s = api()
    req = create_request(s)

    resp = bank.notify(amount, f"{req['reference']} nop phi")

    assert resp.status_code == 400
    assert resp.json()["success"] is False
    assert outcomes(container, "bank:sepay") == [("rejected", "amount_out_of_range")]
    assert resp.json()["reason"] == "amount_out_of_range"
    after = fetch(s, req["id"])
    assert (after["status"], after["paid_amount"], after["transactions"]) == ("pending", 0, [])
    # and the request still takes a normal payment afterwards
    assert bank.notify(after["total_amount"], f"{req['reference']} nop phi").ok
    assert fetch(s, req["id"])["status"] == "paid"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/callbacks/pos", {"amount": CEILING + 1}),
        ("/callbacks/pos", {"type": "settlement", "gross_amount": 2**64, "net_amount": 2**64}),
    ],
)
def test_a_pos_payment_or_settlement_above_the_ceiling_is_refused(
    live_server: Any, container: Any, path: str, message: dict[str, Any]
) -> None:
    base = {
        "terminal_id": "T0001", "merchant_id": "M0001", "batch_no": "000012",
        "trace_no": "000345", "approval_code": "A1", "rrn": "612345678901",
        "masked_pan": "970436******1234", "card_scheme": "NAPAS", "currency": "VND",
        "transaction_time": "2026-11-23T09:15:02+07:00", "reference": "TP26ABCDEFGH7",
        "status": "approved", "settled_at": "2026-11-23T23:00:00+07:00", "count": 1,
        "fee_amount": 0,
    }  # fmt: skip
    body = json.dumps({**base, **message}).encode()
    resp = requests.post(
        f"{live_server.url}{path}",
        data=body,
        headers={
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.sign(body, "pos-test-secret"),
        },
        timeout=10,
    )

    assert resp.status_code == 400, resp.text
    assert outcomes(container, "pos") == [("rejected", "amount_out_of_range")]


def test_payments_at_the_ceiling_are_applied_and_the_day_rollup_stays_exact(
    bank: FakeBank, api: Api, container: Any
) -> None:
    s = api()
    requests_ = [create_request(s) for _ in range(3)]
    for req in requests_:
        for _ in range(2):
            assert bank.notify(CEILING, f"{req['reference']} nop phi").ok

    for req in requests_:
        after = fetch(s, req["id"])
        assert (after["status"], after["paid_amount"]) == ("overpaid", 2 * CEILING)
        # instants are ISO 8601 with an offset, never an HTTP date
        for txn in after["transactions"]:
            assert datetime.fromisoformat(txn["occurred_at"]).utcoffset() is not None
    with container.uow() as uow:
        rolled = uow.session.scalar(select(func.sum(PaymentDay.amount)))
        counted = uow.session.scalar(select(func.sum(PaymentDay.payments)))
    assert (rolled, counted) == (6 * CEILING, 6)
    # a BIGINT rollup row overflows only after this many payments at the ceiling in one day,
    # agency, account, provider and procedure: a hundred per second for a whole day is 8.6 M
    assert BIGINT_MAX // CEILING > 9_000_000


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (CEILING, ""),
        (CEILING + 1, "above the ceiling of 1000000000000 đồng"),
        (0, "not positive"),
        (-5, "not positive"),
        (True, "not an integer of đồng"),
        (1.5, "not an integer of đồng"),
        (2**63, "above the ceiling of 1000000000000 đồng"),
    ],
)
def test_one_helper_says_what_amount_is_acceptable(value: object, problem: str) -> None:
    assert amount_error(value) == problem
    assert amount_error(2**63, ceiling=2**70) == f"above the ceiling of {BIGINT_MAX} đồng"


def test_a_portal_result_above_the_ceiling_is_refused_with_a_signed_ack(
    live_server: Any, container: Any
) -> None:
    result = {
        "LoaiBanTin": "RESULT", "MaLoi": "00", "MaDoiTac": "THUPHI",
        "MaThamChieu": "TP26ABCDEFGH7", "SoTien": "999999999999999", "MaTienTe": "VND",
        "MaGiaoDich": "GD1", "MaNganHang": "VCB", "ThoiGianGD": "20261123091502",
        "ThongTinGiaoDich": "THANH TOAN HO SO",
    }  # fmt: skip
    signed = sign_message(result, RESULT_HASH_FIELDS, "paygov-test-secret")

    resp = requests.post(f"{live_server.url}/callbacks/paygov", json=signed, timeout=10)

    assert resp.status_code == 400
    assert (resp.json()["MaLoi"], resp.json()["MoTaLoi"]) == ("99", "amount_out_of_range")
    assert outcomes(container, "paygov") == [("rejected", "amount_out_of_range")]
