import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers import signing
from providers.base import DeliveryResult
from providers.dossier import deliver_webhook
from providers.dossier.client import MAX_RESPONSE_BYTES, PublicOnlyAdapter
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
        # the receivers of these tests listen on 127.0.0.1
        "allow_private": True,
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

    result = deliver_webhook(
        url, "payment.succeeded", "dlv_1", PAYLOAD, SECRET, (0.5, 0.5), allow_private=True
    )

    assert (result.ok, result.status_code, result.error) == (False, None, "connection_error")


def test_a_slow_receiver_times_out_without_raising(receiver: FakeWebhookReceiver) -> None:
    receiver.delay = 0.6

    result = deliver(receiver, timeout=(1, 0.2))

    assert (result.ok, result.error) == (False, "timeout")


def test_a_redirect_is_not_a_delivery() -> None:
    with CallbackEndpoint(lambda raw, headers: (302, {"moved": True})) as moved:
        result = deliver_webhook(
            f"{moved.url}/hooks", "payment.succeeded", "d", {}, SECRET, 1, allow_private=True
        )

    assert (result.ok, result.status_code) == (False, 302)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost:9/hooks",
        "http://[::1]:9/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/hooks",
        "http://192.168.1.1/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0:9/hooks",
        "http://224.0.0.1/hooks",
    ],
)
def test_a_webhook_to_a_private_or_loopback_address_is_refused_before_any_connection(
    receiver: FakeWebhookReceiver, url: str
) -> None:
    result = deliver(receiver, url=url, allow_private=False)

    assert (result.ok, result.status_code, result.error) == (False, None, "forbidden_address")
    assert receiver.deliveries == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "//x"])
def test_only_http_and_https_callback_urls_are_posted_to(url: str) -> None:
    result = deliver_webhook(url, "payment.succeeded", "d", {}, SECRET, 1)

    assert (result.ok, result.error) == (False, "bad_url")


def test_the_live_receiver_on_loopback_is_refused_without_the_lab_setting(
    receiver: FakeWebhookReceiver,
) -> None:
    refused = deliver(receiver, allow_private=False)
    delivered = deliver(receiver, allow_private=True)

    assert (refused.ok, refused.error) == (False, "forbidden_address")
    assert delivered.ok
    assert len(receiver.deliveries) == 1


def test_the_connection_itself_is_checked_so_a_rebound_name_cannot_reach_loopback(
    receiver: FakeWebhookReceiver,
) -> None:
    # what DNS rebinding would do: the name passed the check, the connection lands on loopback
    session = requests.Session()
    session.mount("http://", PublicOnlyAdapter())

    with pytest.raises(requests.ConnectionError, match="forbidden_address"):
        session.post(f"{receiver.url}/hooks/thuphi", data=b"{}", timeout=2)
    assert receiver.deliveries == []


def test_a_flood_of_an_answer_is_read_no_further_than_the_cap() -> None:
    flood = "x" * (4 * MAX_RESPONSE_BYTES)
    with CallbackEndpoint(lambda raw, headers: (200, {"flood": flood})) as endpoint:
        result = deliver_webhook(f"{endpoint.url}/h", "t", "d", {}, SECRET, 2, allow_private=True)

    assert result.ok
