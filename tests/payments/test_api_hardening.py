"""The API's edges: the token endpoint's throttle, a valid OpenAPI document, ``Allow`` on 405,
ISO 8601 instants, and the webhook subscriber refusing loopback outside a lab."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from payments.app import build_container, create_app
from payments.auth.services import TOKEN_FAILURES_PER_CLIENT, TOKEN_FAILURES_PER_IP
from payments.clock import utcnow
from payments.outbox.models import OutboxDelivery, OutboxEvent
from payments.outbox.webhooks import WebhookFailed, webhook_subscriber


@pytest.fixture
def client(container: Any) -> FlaskClient:
    return create_app(container=container).test_client()


def _token(client: FlaskClient, client_id: str, secret: str, ip: str = "203.0.113.9") -> Any:
    return client.post(
        "/api/v1/token",
        json={"client_id": client_id, "client_secret": secret},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_ten_wrong_secrets_lock_a_client_for_minutes_with_retry_after(
    client: FlaskClient, make_client: Any
) -> None:
    creds = make_client()
    for _ in range(TOKEN_FAILURES_PER_CLIENT):
        assert _token(client, creds["client_id"], "wrong").status_code == 401

    locked = _token(client, creds["client_id"], creds["client_secret"])

    assert locked.status_code == 429
    assert locked.mimetype == "application/problem+json"
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    # another client from another address is not affected
    other = make_client()
    assert (
        _token(client, other["client_id"], other["client_secret"], "192.0.2.1").status_code == 200
    )


def test_one_address_guessing_many_client_ids_is_throttled(client: FlaskClient) -> None:
    answers = [_token(client, f"cl_{n:016x}", "guess").status_code for n in range(40)]

    assert answers[:TOKEN_FAILURES_PER_IP] == [401] * TOKEN_FAILURES_PER_IP
    assert set(answers[TOKEN_FAILURES_PER_IP:]) == {429}


def test_an_unknown_client_costs_the_same_work_as_a_known_one(
    client: FlaskClient, make_client: Any
) -> None:
    creds = make_client()

    def timed(client_id: str, ip: str) -> float:
        started = time.thread_time()  # CPU work, not the shared machine's load
        assert _token(client, client_id, "wrong", ip).status_code == 401
        return time.thread_time() - started

    known = min(timed(creds["client_id"], f"192.0.2.{i}") for i in range(4))
    unknown = min(timed(f"cl_nobody{i}", f"192.0.2.{i + 10}") for i in range(4))

    assert 0.5 < unknown / known < 2, (known, unknown)


def test_the_openapi_document_is_valid_openapi_3(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()

    validate(spec)  # raises on any violation
    fee = spec["components"]["schemas"]["FeeIn"]["properties"]["amount"]
    assert isinstance(fee["maximum"], int)


def test_a_405_says_which_methods_are_allowed(client: FlaskClient) -> None:
    answer = client.delete("/api/v1/payment-requests")

    assert answer.status_code == 405
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert answer.mimetype == "application/problem+json"


def test_a_request_id_header_that_is_not_a_plain_token_is_replaced(client: FlaskClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    replaced = client.get("/healthz", headers={"X-Request-Id": "a b <script>"})

    assert kept.headers["X-Request-Id"] == "abc-123"
    assert replaced.headers["X-Request-Id"] not in {"", "a b <script>"}


def test_without_the_lab_setting_a_loopback_callback_url_is_never_posted_to(
    settings: Any,
) -> None:
    subscriber = webhook_subscriber(replace(settings, webhook_allow_private=False))
    event = OutboxEvent(
        id=1,
        topic="payment_request.paid",
        aggregate_id="pr",
        payload={"callback_url": "http://127.0.0.1:9/hooks", "status": "paid"},
        created_at=utcnow(),
    )

    with pytest.raises(WebhookFailed, match="forbidden_address"):
        subscriber.handler(None, event, OutboxDelivery(id=7))  # type: ignore[arg-type]


def test_a_catalog_fee_above_the_configured_ceiling_is_refused(
    container: Any, catalog: Any, make_client: Any
) -> None:
    lowered = replace(container.settings, max_amount=150_000)
    app = create_app(container=build_container(lowered, container.engine))
    client = app.test_client()
    creds = make_client(scopes=["catalog:write"])
    token = _token(client, creds["client_id"], creds["client_secret"]).get_json()["access_token"]

    answer = client.post(
        "/api/v1/catalog",
        json=catalog,  # the demo catalog: its 200,000 đồng fee passes 150,000
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 422
    assert "above the ceiling of 150000" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/callbacks/paygov", b"[" * 1000 + b"]" * 1000, 400),  # no credential needed to send it
        ("/callbacks/bank/sepay", b'{"content": "a\\u0000b"}', 400),
        ("/api/v1/token", b'{"client_id": "' + b"x" * (5 * 1024 * 1024) + b'"}', 413),
        ("/api/v1/payment-requests?dossier_code=%00", b"{}", 400),
    ],
    ids=["1000 deep", "NUL escaped", "5 MiB of JSON", "NUL in the query"],
)
def test_hostile_bodies_are_refused_before_any_view_with_a_problem(
    client: FlaskClient, path: str, body: bytes, status: int
) -> None:
    answer = client.post(path, data=body, content_type="application/json")

    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
