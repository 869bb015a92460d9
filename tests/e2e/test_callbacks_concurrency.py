"""Concurrent deliveries on PostgreSQL: row locks, not luck, keep every payment exactly once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import requests
from channel_kit import (
    ACCOUNT_NUMBER,
    AMOUNT,
    BANK_KEY,
    PARTNER,
    PAYGOV_SECRET,
    create_request,
    fetch,
    outcomes,
    topics,
    transactions,
)
from factories import token_of

from payments.config import Settings
from providers.fakes.bank import FakeBank
from providers.fakes.paygov import FakePayGov

Api = Callable[..., requests.Session]


@pytest.fixture(autouse=True)
def _postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("the races need PostgreSQL's concurrent writers; SQLite serialises them")


@pytest.fixture
def paygov() -> Iterator[FakePayGov]:
    with FakePayGov(PAYGOV_SECRET, partner_code=PARTNER) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, paygov: FakePayGov) -> Settings:
    return replace(settings, paygov_url=paygov.url, paygov_partner_code=PARTNER)


@pytest.fixture
def bank(live_server: Any) -> FakeBank:
    return FakeBank(
        f"{live_server.url}/callbacks/bank/sepay", BANK_KEY, account_number=ACCOUNT_NUMBER
    )


def post_together(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.postgres_only
def test_a_hundred_concurrent_deliveries_of_one_notification_pay_once(
    api: Api, bank: FakeBank, container: Any
) -> None:
    s = api()
    req = create_request(s)
    body = json.dumps(bank.notification(AMOUNT, req["reference"])).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Apikey {BANK_KEY}"}

    def deliver() -> requests.Response:
        return requests.post(bank.target_url, data=body, headers=headers, timeout=60)

    responses = post_together([deliver] * 100)
    assert {r.status_code for r in responses} == {200}
    assert len(transactions(container)) == 1
    after = fetch(s, req["id"])
    assert (after["status"], after["paid_amount"]) == ("paid", AMOUNT)
    assert topics(container, req["id"]) == ["payment_request.paid"]
    kinds = [o for o, _ in outcomes(container, "bank")]
    assert (kinds.count("applied"), kinds.count("duplicate")) == (1, 99)


@pytest.mark.postgres_only
@pytest.mark.parametrize("round_", range(3))
def test_two_notifications_of_one_transfer_racing_a_portal_result_pay_once_and_flag_the_rest(
    api: Api, bank: FakeBank, paygov: FakePayGov, live_server: Any, container: Any, round_: int
) -> None:
    s = api()
    req = create_request(s)
    go = requests.post(
        f"{live_server.url}/pay/{token_of(req)}/paygov", allow_redirects=False, timeout=10
    )
    ref = go.headers["Location"].rsplit("/pay/", 1)[1]
    paygov.complete(ref)  # no callback_url yet: only the platform's state changes
    result = paygov.result_message(ref)
    note = json.dumps(bank.notification(AMOUNT, req["reference"])).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Apikey {BANK_KEY}"}

    def transfer() -> requests.Response:
        return requests.post(bank.target_url, data=note, headers=headers, timeout=30)

    def portal() -> requests.Response:
        return requests.post(f"{live_server.url}/callbacks/paygov", json=result, timeout=30)

    responses = post_together([transfer, portal, transfer])
    assert [r.status_code for r in responses] == [200, 200, 200]
    txns = transactions(container)
    assert sorted(t.provider for t in txns) == ["bank", "paygov"]
    assert all(t.state == "applied" for t in txns)
    # whichever came second found the request paid: a duplicate payment, flagged for refund
    second = max(txns, key=lambda t: t.id)
    assert {"duplicate_payment", "overpayment", "refund_due"} <= set(second.flags)
    after = fetch(s, req["id"])
    assert (after["status"], after["paid_amount"]) == ("overpaid", 2 * AMOUNT)
    assert sum(t.amount for t in txns) == after["paid_amount"]
    assert "refund_due" in after["flags"]
    assert topics(container, req["id"]) == ["payment_request.paid", "payment_request.overpaid"]
