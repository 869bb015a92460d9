import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from payments.money import Money
from providers.bank import ACK, parse_notification
from providers.base import (
    CallbackRejected,
    EventKind,
    HeaderSource,
    ProviderEvent,
    RejectReason,
    TxnStatus,
)
from providers.fakes.bank import FakeBank
from providers.fakes.server import CallbackEndpoint

API_KEY = "bank-test-key"


@pytest.fixture
def events() -> list[ProviderEvent]:
    return []


@pytest.fixture
def endpoint(events: list[ProviderEvent]) -> Iterator[CallbackEndpoint]:
    def handle(raw: bytes, headers: HeaderSource) -> tuple[int, object]:
        events.append(parse_notification(raw, headers, f"{API_KEY},previous-key", source="sepay"))
        return 200, ACK

    with CallbackEndpoint(handle) as server:
        yield server


@pytest.fixture
def bank(endpoint: CallbackEndpoint) -> FakeBank:
    return FakeBank(endpoint.url, API_KEY, account_number="0903488125")


def test_an_incoming_transfer_becomes_a_transfer_in_event_with_its_free_text(
    endpoint: CallbackEndpoint, bank: FakeBank, events: list[ProviderEvent]
) -> None:
    notification = bank.notification(115_000, "TP26ABCDEFGH7 nop phi")
    response = bank.send(notification)

    assert (response.status_code, response.json()) == (200, {"success": True})
    [event] = events
    assert (event.provider, event.kind, event.status) == (
        "bank",
        EventKind.TRANSFER_IN,
        TxnStatus.PAID,
    )
    assert event.provider_txn_id == str(notification["id"])
    assert (event.amount, event.currency, event.reference) == (Money(115_000), "VND", None)
    assert event.account_number == "0903488125"
    assert event.details["content"] == "TP26ABCDEFGH7 nop phi"
    assert event.details["source"] == "sepay"
    assert event.details["gateway"] == "Vietcombank"


def test_an_outgoing_transfer_is_a_transfer_out_event(
    endpoint: CallbackEndpoint, bank: FakeBank, events: list[ProviderEvent]
) -> None:
    bank.notify(5_000, "phi dich vu", transferType="out")

    assert events[0].kind is EventKind.TRANSFER_OUT


def test_the_transaction_date_is_vietnam_local_time() -> None:
    raw = json.dumps(
        FakeBank("http://unused", API_KEY).notification(
            1_000, "x", transactionDate="2024-05-25 21:11:02"
        )
    ).encode()

    event = parse_notification(raw, {"Authorization": f"Apikey {API_KEY}"}, API_KEY)

    assert event.occurred_at == datetime(2024, 5, 25, 14, 11, 2, tzinfo=UTC)


def test_the_previous_key_still_works_during_rotation(
    endpoint: CallbackEndpoint, bank: FakeBank
) -> None:
    assert bank.notify(1_000, "x").status_code == 200
    assert bank.send(bank.notification(1_000, "y"), api_key="previous-key").status_code == 200


@pytest.mark.parametrize("key", ["wrong-key", "", "bank-test-key-but-longer"])
def test_a_wrong_api_key_is_unauthorized(
    endpoint: CallbackEndpoint, bank: FakeBank, key: str, events: list[ProviderEvent]
) -> None:
    response = bank.send(bank.notification(115_000, "TP26ABCDEFGH7"), api_key=key or " ")

    assert (response.status_code, response.json()) == (400, {"reason": "unauthorized"})
    assert events == []


@pytest.mark.parametrize("authorization", [None, "Bearer bank-test-key", "bank-test-key"])
def test_other_authorization_schemes_are_unauthorized(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    with pytest.raises(CallbackRejected) as caught:
        parse_notification(b"{}", headers, API_KEY)
    assert caught.value.reason is RejectReason.UNAUTHORIZED


@pytest.mark.parametrize(
    "overrides",
    [
        {"transferAmount": "115000"},
        {"transferAmount": 0},
        {"transferAmount": 1.5},
        {"transferType": "sideways"},
        {"transactionDate": "25/05/2024 21:11"},
        {"id": None},
        {"accountNumber": None},
        {"description": 42},
    ],
)
def test_malformed_notifications_are_rejected(
    endpoint: CallbackEndpoint, bank: FakeBank, overrides: dict[str, Any]
) -> None:
    response = bank.send(bank.notification(115_000, "TP26ABCDEFGH7", **overrides))

    assert (response.status_code, response.json()) == (400, {"reason": "malformed"})


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_malformed(
    endpoint: CallbackEndpoint, bank: FakeBank, raw: bytes
) -> None:
    assert bank.send(raw).json() == {"reason": "malformed"}
