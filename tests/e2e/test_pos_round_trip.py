"""POS card payments over real HTTP: FakePosAcquirer → POST /callbacks/pos → the DB."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from channel_kit import (
    AMOUNT,
    POS_SECRET,
    create_request,
    fetch,
    messages,
    outcomes,
    topics,
    transactions,
)
from sqlalchemy import select

from payments.transactions.models import PosSettlement
from providers.fakes.pos import FakePosAcquirer

Api = Callable[..., requests.Session]


@pytest.fixture
def pos(live_server: Any) -> FakePosAcquirer:
    return FakePosAcquirer(f"{live_server.url}/callbacks/pos", POS_SECRET)


@pytest.fixture
def s(api: Api) -> requests.Session:
    return api(scopes=["payments:write"])


def test_an_approved_card_payment_pays_and_keeps_the_card_trail_only(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    resp = pos.send_payment(req["reference"], AMOUNT)
    assert resp.status_code == 200 and resp.json()["status"] == "applied"
    assert fetch(s, req["id"])["status"] == "paid"
    [txn] = transactions(container)
    sent = pos.sent[-1]
    assert txn.settlement_key == f"{sent['terminal_id']}:{sent['batch_no']}"
    for name in ("terminal_id", "batch_no", "rrn", "approval_code", "masked_pan"):
        assert txn.details[name] == sent[name]
    stored = json.dumps([txn.details, *(m.payload for m in messages(container))])
    assert "970436******1234" in stored
    assert topics(container, req["id"]) == ["payment_request.paid"]


def test_a_void_before_settlement_reverses_the_payment(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    payment = pos.payment(req["reference"], AMOUNT)
    assert pos.send(payment).ok
    resp = pos.send_void(payment)
    assert resp.status_code == 200 and resp.json()["status"] == "reversed"
    after = fetch(s, req["id"])
    assert (after["status"], after["paid_amount"]) == ("pending", 0)
    assert [(t.kind, t.state) for t in transactions(container)] == [
        ("payment", "reversed"),
        ("void", "recorded"),
    ]
    assert topics(container, req["id"]) == ["payment_request.paid", "payment_request.reversed"]
    # the same void again changes nothing more
    assert pos.send_void(payment).json()["status"] == "duplicate"
    assert fetch(s, req["id"])["paid_amount"] == 0


def test_a_void_after_the_batch_settled_is_rejected(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    payment = pos.payment(req["reference"], AMOUNT)
    assert pos.send(payment).ok
    settle = pos.send_settlement(AMOUNT, 2_200, 1)
    assert settle.status_code == 200 and settle.json()["status"] == "settled"
    resp = pos.send_void(payment)
    assert resp.status_code == 422 and resp.json()["reason"] == "batch_already_settled"
    assert fetch(s, req["id"])["status"] == "paid"
    assert [t.state for t in transactions(container)] == ["applied"]


def test_a_batch_settlement_is_kept_once_with_its_account(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    assert pos.send_payment(req["reference"], AMOUNT).ok
    assert pos.send_settlement(AMOUNT, 2_200, 1).json()["status"] == "settled"
    assert pos.send_settlement(AMOUNT, 2_200, 1).json()["status"] == "duplicate"
    with container.uow() as uow:
        [row] = uow.session.scalars(select(PosSettlement)).all()
        assert (row.net_amount, row.fee_amount, row.account_id) == (
            AMOUNT - 2_200,
            2_200,
            "stp-kbnn",
        )


def test_the_same_payment_twice_is_applied_once(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    payment = pos.payment(req["reference"], AMOUNT)
    assert pos.send(payment).json()["status"] == "applied"
    assert pos.send(payment).json()["status"] == "duplicate"
    assert len(transactions(container)) == 1
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT


def test_the_same_trace_with_another_amount_is_a_conflict(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    payment = pos.payment(req["reference"], 150_000)
    assert pos.send(payment).ok
    resp = pos.send({**payment, "amount": AMOUNT})
    assert resp.status_code == 409 and resp.json()["reason"] == "amount_conflict"
    [txn] = transactions(container)
    assert txn.amount == 150_000 and "amount_conflict" in txn.flags
    assert fetch(s, req["id"])["status"] == "partially_paid"


@pytest.mark.parametrize(
    ("amount", "status"), [(150_000, "partially_paid"), (AMOUNT + 1, "overpaid")]
)
def test_a_card_payment_of_another_amount_follows_the_amount_rules(
    pos: FakePosAcquirer, s: requests.Session, amount: int, status: str
) -> None:
    req = create_request(s)
    assert pos.send_payment(req["reference"], amount).ok
    assert fetch(s, req["id"])["status"] == status


def test_a_forged_signature_is_refused_logged_and_changes_nothing(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    resp = pos.send(pos.payment(req["reference"], AMOUNT), secret="not-the-secret")
    assert resp.status_code == 401 and resp.json()["reason"] == "bad_signature"
    assert fetch(s, req["id"])["status"] == "pending"
    assert transactions(container) == []
    assert outcomes(container) == [("rejected", "bad_signature")]


def test_a_stale_timestamp_is_refused_even_with_a_good_signature(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    resp = pos.send(pos.payment(req["reference"], AMOUNT), timestamp=int(time.time()) - 301)
    assert resp.status_code == 401 and resp.json()["reason"] == "stale_timestamp"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container) == [("rejected", "stale_timestamp")]


def test_an_unmasked_card_number_is_refused_and_never_stored(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    # a Luhn-valid full card number, as a misconfigured terminal would send it
    resp = pos.send_payment(req["reference"], AMOUNT, masked_pan="9704360012341234")
    assert resp.status_code == 400
    assert transactions(container) == []
    assert outcomes(container) == [("rejected", "unmasked_pan")]
    # a rejected message is kept as the text we were sent, with the card number masked
    assert "9704360012341234" not in json.dumps([m.payload for m in messages(container)])


def test_an_unknown_status_leaves_the_request_pending(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    resp = pos.send_payment(req["reference"], AMOUNT, status="processing")
    assert resp.status_code == 200 and resp.json()["status"] == "pending"
    assert fetch(s, req["id"])["status"] == "pending"
    assert transactions(container) == []


def test_a_foreign_currency_is_rejected(
    pos: FakePosAcquirer, s: requests.Session, container: Any
) -> None:
    req = create_request(s)
    resp = pos.send_payment(req["reference"], AMOUNT, currency="USD")
    assert resp.status_code == 422 and resp.json()["reason"] == "wrong_currency"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "pos") == [("rejected", "wrong_currency")]


def test_a_card_payment_naming_no_request_is_kept_unmatched(
    pos: FakePosAcquirer, container: Any, catalog: Any
) -> None:
    assert pos.send_payment("", AMOUNT).json()["status"] == "unmatched"
    [txn] = transactions(container)
    assert (txn.state, txn.payment_request_id) == ("unmatched", None)
