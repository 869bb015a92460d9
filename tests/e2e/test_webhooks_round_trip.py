"""Dossier webhooks over real HTTP: status changes reach the request's callback_url through the
outbox, signed, retried with backoff while the receiver is down, each exactly once per delivery."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from channel_kit import ACCOUNT_NUMBER, AMOUNT, BANK_KEY, WEBHOOK_SECRET, create_request
from click.testing import CliRunner, Result
from flask.cli import ScriptInfo

from payments.app import create_app
from payments.cli import cli
from payments.clock import utcnow
from payments.outbox.services import Registry, run_outbox
from providers.fakes.bank import FakeBank
from providers.fakes.webhook_receiver import FakeWebhookReceiver

Api = Callable[..., requests.Session]


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(WEBHOOK_SECRET) as fake:
        yield fake


@pytest.fixture
def bank(live_server: Any) -> FakeBank:
    return FakeBank(
        f"{live_server.url}/callbacks/bank/sepay", BANK_KEY, account_number=ACCOUNT_NUMBER
    )


def thuphi(container: Any, *args: str) -> Result:
    """Run the ``thuphi`` console script in-process against the test's container."""
    info = ScriptInfo(create_app=lambda: create_app(container=container))
    return CliRunner().invoke(cli, list(args), obj=info)


def cancel(s: requests.Session, request_id: str) -> None:
    url = f"{s.base_url}/api/v1/payment-requests/{request_id}/cancel"  # type: ignore[attr-defined]
    assert s.post(url, timeout=10).status_code == 200


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(
    api: Api, bank: FakeBank, receiver: FakeWebhookReceiver, container: Any
) -> None:
    s = api()
    hook = f"{receiver.url}/thuphi/hooks"
    paid = create_request(s, callback_url=hook)
    cancelled = create_request(s, callback_url=hook)
    silent = create_request(s)  # no callback_url: nothing to deliver
    receiver.down = True
    assert bank.notify(150_000, paid["reference"]).ok
    assert bank.notify(50_000, paid["reference"]).ok
    assert bank.notify(AMOUNT, silent["reference"]).ok
    cancel(s, cancelled["id"])

    start = utcnow()
    for minutes in (0, 1, 5, 30):  # retries while the receiver is down: all fail
        run_outbox(container.uow(), container.registry, start + timedelta(minutes=minutes))
    assert receiver.requests and receiver.deliveries == []

    receiver.down = False
    for hours in (2, 3, 4):
        run_outbox(container.uow(), container.registry, start + timedelta(hours=hours))

    got = [(d.event_type, d.payload["data"]["payment_request_id"]) for d in receiver.deliveries]
    assert sorted(got) == sorted(
        [
            ("payment_request.partially_paid", paid["id"]),
            ("payment_request.paid", paid["id"]),
            ("payment_request.cancelled", cancelled["id"]),
        ]
    )
    ids = [d.delivery_id for d in receiver.deliveries]
    assert len(ids) == len(set(ids)) == 3
    for d in receiver.deliveries:
        assert d.payload["id"] == d.delivery_id and d.payload["type"] == d.event_type
        assert "callback_url" not in d.payload["data"]
    last = next(d for d in receiver.deliveries if d.event_type == "payment_request.paid")
    assert (last.payload["data"]["status"], last.payload["data"]["paid_amount"]) == (
        "paid",
        AMOUNT,
    )


def test_a_receiver_that_never_answers_is_parked_listed_and_retried_by_hand(
    api: Api,
    bank: FakeBank,
    receiver: FakeWebhookReceiver,
    container: Any,
) -> None:
    s = api()
    req = create_request(s, callback_url=f"{receiver.url}/hooks")
    assert bank.notify(AMOUNT, req["reference"]).ok
    receiver.down = True
    impatient = Registry(subscribers=container.registry.subscribers, max_attempts=2)
    start = utcnow()
    for hours in (0, 1, 2):
        run_outbox(container.uow(), impatient, start + timedelta(hours=hours))

    listed = thuphi(container, "outbox", "list", "--status", "parked", "--json")
    assert listed.exit_code == 0, listed.output
    [parked] = [
        d for d in json.loads(listed.stdout)["deliveries"] if d["subscriber"] == "dossier_webhook"
    ]
    assert (parked["topic"], parked["status"], parked["attempts"]) == (
        "payment_request.paid",
        "parked",
        2,
    )
    assert "http_503" in parked["last_error"]

    receiver.down = False
    retried = thuphi(container, "outbox", "retry", str(parked["id"]), "--json")
    assert retried.exit_code == 0 and json.loads(retried.stdout) == {"retried": 1}
    run_outbox(container.uow(), impatient, utcnow())
    assert [d.delivery_id for d in receiver.deliveries] == [str(parked["id"])]
    again = thuphi(container, "outbox", "list", "--status", "parked", "--json")
    assert parked["id"] not in [d["id"] for d in json.loads(again.stdout)["deliveries"]]


def test_retry_needs_ids_or_all(container: Any) -> None:
    result = thuphi(container, "outbox", "retry")
    assert result.exit_code == 2 and "--all" in result.output
