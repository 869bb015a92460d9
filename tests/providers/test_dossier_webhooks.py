import json
from collections.abc import Iterator
from typing import Any

import pytest

from providers import signing
from providers.base import DeliveryResult
from providers.dossier import deliver_webhook
from providers.fakes.server import CallbackEndpoint
from providers.fakes.webhook_receiver import FakeWebhookReceiver

SECRET = "webhook-test-secret"
PAYLOAD = {
    "payment_request_id": "pr_1",
    "status": "paid",
    "dossier_code": "000.00.12.H40-261123-0001",
}


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(SECRET) as server:
        yield server


def deliver(receiver: FakeWebhookReceiver, **overrides: Any) -> DeliveryResult:
    options: dict[str, Any] = {
        "url": f"{receiver.url}/hooks/thuphi",
        "event_type": "payment.succeeded",
        "delivery_id": "dlv_42",
        "payload": PAYLOAD,
        "secret": SECRET,
        "timeout": (1, 2),
        **overrides,
    }
    return deliver_webhook(**options)


def test_a_signed_webhook_is_delivered_and_verified_by_the_receiver(
    receiver: FakeWebhookReceiver,
) -> None:
    result = deliver(receiver)

    assert (result.ok, result.status_code, result.error) == (True, 200, None)
    [delivery] = receiver.deliveries
    assert (delivery.event_type, delivery.delivery_id, delivery.payload) == (
        "payment.succeeded",
        "dlv_42",
        PAYLOAD,
    )


def test_the_signature_covers_the_exact_body_sent(receiver: FakeWebhookReceiver) -> None:
    deliver(receiver, payload={"payer": "Nguyễn Văn A"})

    request = receiver.requests[0]
    assert json.loads(request.body) == {"payer": "Nguyễn Văn A"}
    assert signing.verify(request.body, request.headers["X-Signature"], SECRET)


def test_during_rotation_the_first_secret_signs(receiver: FakeWebhookReceiver) -> None:
    assert deliver(receiver, secret=f"{SECRET},old-secret").ok


def test_a_receiver_with_another_secret_refuses_and_the_delivery_is_not_ok(
    receiver: FakeWebhookReceiver,
) -> None:
    result = deliver(receiver, secret="not-theirs")

    assert (result.ok, result.status_code, result.error) == (False, 401, "http_401")
    assert receiver.rejected == ["bad_signature"]


def test_a_receiver_that_is_down_for_a_while_gives_not_ok_then_ok(
    receiver: FakeWebhookReceiver,
) -> None:
    receiver.fail_next = 2

    outcomes = [deliver(receiver).ok for _ in range(3)]

    assert outcomes == [False, False, True]
    assert len(receiver.deliveries) == 1


def test_an_unreachable_receiver_gives_not_ok_without_raising(
    receiver: FakeWebhookReceiver,
) -> None:
    url = receiver.url
    receiver.stop()

    result = deliver_webhook(url, "payment.succeeded", "dlv_1", PAYLOAD, SECRET, (0.5, 0.5))

    assert (result.ok, result.status_code, result.error) == (False, None, "connection_error")


def test_a_slow_receiver_times_out_without_raising(receiver: FakeWebhookReceiver) -> None:
    receiver.delay = 0.6

    result = deliver(receiver, timeout=(1, 0.2))

    assert (result.ok, result.error) == (False, "timeout")


def test_a_redirect_is_not_a_delivery() -> None:
    with CallbackEndpoint(lambda raw, headers: (302, {"moved": True})) as moved:
        result = deliver_webhook(f"{moved.url}/hooks", "payment.succeeded", "d", {}, SECRET, 1)

    assert (result.ok, result.status_code) == (False, 302)
