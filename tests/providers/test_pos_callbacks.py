import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from payments.money import Money
from providers import signing
from providers.base import (
    CallbackRejected,
    EventKind,
    HeaderSource,
    ProviderEvent,
    RejectReason,
    Settlement,
    TxnStatus,
)
from providers.fakes.pos import FakePosAcquirer
from providers.fakes.server import CallbackEndpoint
from providers.pos import parse_callback

SECRET = "pos-test-secret"
NOW = datetime(2026, 11, 23, 2, 15, 2, tzinfo=UTC)


@pytest.fixture
def endpoint() -> Iterator[CallbackEndpoint]:
    """Our callback endpoint over real HTTP: verify, parse, answer 200 or 400 with the reason."""

    def handle(raw: bytes, headers: HeaderSource) -> tuple[int, object]:
        parsed = parse_callback(raw, headers, SECRET, datetime.now(UTC))
        return 200, {"ok": True, "provider_txn_id": parsed.provider_txn_id}

    with CallbackEndpoint(handle) as server:
        yield server


@pytest.fixture
def acquirer(endpoint: CallbackEndpoint) -> FakePosAcquirer:
    return FakePosAcquirer(endpoint.url, SECRET, terminal_id="T0001", batch_no="000012")


def parsed(endpoint: CallbackEndpoint) -> ProviderEvent | Settlement:
    """The last callback the endpoint parsed, re-parsed locally from what it recorded."""
    request = endpoint.requests[-1]
    return parse_callback(request.body, request.headers, SECRET, datetime.now(UTC))


def parsed_payment(endpoint: CallbackEndpoint) -> ProviderEvent:
    event = parsed(endpoint)
    assert isinstance(event, ProviderEvent)
    return event


def parse_payment(raw: bytes, headers: HeaderSource, secret: str = SECRET) -> ProviderEvent:
    event = parse_callback(raw, headers, secret, NOW)
    assert isinstance(event, ProviderEvent)
    return event


def test_an_approved_payment_is_a_paid_event_keyed_by_terminal_batch_trace(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    response = acquirer.send_payment("TP26ABCDEFGH7", 200_000)

    assert response.status_code == 200
    event = parsed_payment(endpoint)
    assert event.provider_txn_id == "T0001:000012:000001"
    assert (event.provider, event.kind, event.status) == ("pos", EventKind.PAYMENT, TxnStatus.PAID)
    assert (event.reference, event.amount, event.currency) == (
        "TP26ABCDEFGH7",
        Money(200_000),
        "VND",
    )
    assert event.details["masked_pan"] == "970436******1234"
    assert event.details["rrn"] == "612300000001"
    assert event.occurred_at.tzinfo is UTC


def test_a_void_gets_its_own_id_pointing_at_the_payment(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    payment = acquirer.payment("TP26ABCDEFGH7", 200_000)
    acquirer.send(payment)

    assert acquirer.send_void(payment).status_code == 200
    event = parsed_payment(endpoint)
    assert (event.kind, event.status) == (EventKind.VOID, TxnStatus.VOIDED)
    assert event.provider_txn_id == "T0001:000012:000001:void"
    assert event.details["original_txn_id"] == "T0001:000012:000001"


def test_a_settlement_checks_out_and_is_keyed_by_terminal_and_batch(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    assert acquirer.send_settlement(gross=2_400_000, fee=26_400, count=12).status_code == 200

    settlement = parsed(endpoint)
    assert isinstance(settlement, Settlement)
    assert settlement.provider_txn_id == "T0001:000012"
    assert (settlement.gross_amount, settlement.fee_amount, settlement.net_amount) == (
        Money(2_400_000),
        Money(26_400),
        Money(2_373_600),
    )
    assert settlement.count == 12


def test_a_settlement_whose_net_is_not_gross_minus_fee_is_rejected(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    response = acquirer.send(acquirer.settlement(2_400_000, 26_400, 12, net_amount=2_400_000))

    assert (response.status_code, response.json()) == (400, {"reason": "malformed"})


def test_a_forged_signature_is_rejected(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    response = acquirer.send(acquirer.payment("TP26ABCDEFGH7", 200_000), secret="guessed")

    assert (response.status_code, response.json()) == (400, {"reason": "bad_signature"})


def test_an_unsigned_callback_is_rejected(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer
) -> None:
    response = acquirer.send(acquirer.payment("TP26ABCDEFGH7", 200_000), signature="")

    assert response.status_code == 400


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_callback_signed_more_than_300_seconds_away_is_stale(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer, skew: int
) -> None:
    response = acquirer.send(
        acquirer.payment("TP26ABCDEFGH7", 200_000), timestamp=int(time.time()) + skew
    )

    assert (response.status_code, response.json()) == (400, {"reason": "stale_timestamp"})


@pytest.mark.parametrize("pan", ["9704360012341234", "970436001234**34", "9704 3600 1234 1234"])
def test_a_card_number_that_is_not_masked_is_rejected_without_echoing_it(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer, pan: str
) -> None:
    response = acquirer.send(acquirer.payment("TP26ABCDEFGH7", 200_000, masked_pan=pan))

    assert (response.status_code, response.json()) == (400, {"reason": "unmasked_pan"})
    [rejection] = endpoint.results
    assert pan not in str(rejection)


@pytest.mark.parametrize("pan", ["970436******1234", "4111 11** **** 1111", "************1234"])
def test_properly_masked_card_numbers_are_accepted(
    endpoint: CallbackEndpoint, acquirer: FakePosAcquirer, pan: str
) -> None:
    assert acquirer.send(acquirer.payment("TP26ABCDEFGH7", 1, masked_pan=pan)).status_code == 200


def sign_now(payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload).encode()
    t = int(NOW.timestamp())
    return raw, {"x-signature": signing.sign(raw, SECRET, timestamp=t)}


def good_payment(**overrides: Any) -> dict[str, Any]:
    payment = FakePosAcquirer("http://unused", SECRET).payment("TP26ABCDEFGH7", 200_000)
    return {**payment, "transaction_time": "2026-11-23T09:15:02+07:00", **overrides}


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": "200000"},
        {"amount": 0},
        {"amount": True},
        {"amount": 200000.0},
        {"trace_no": None},
        {"transaction_time": "2026-11-23T09:15:02"},
        {"transaction_time": "yesterday"},
    ],
    ids=["string-amount", "zero", "bool", "float", "no-trace", "naive-time", "bad-time"],
)
def test_malformed_payments_are_rejected_after_the_signature_check(
    overrides: dict[str, Any],
) -> None:
    raw, headers = sign_now(good_payment(**overrides))

    with pytest.raises(CallbackRejected) as caught:
        parse_callback(raw, headers, SECRET, NOW)
    assert caught.value.reason is RejectReason.MALFORMED


def test_a_lower_case_header_name_and_an_offset_time_are_understood() -> None:
    raw, headers = sign_now(good_payment())

    event = parse_payment(raw, headers)

    assert event.occurred_at == NOW


def test_an_unknown_status_is_pending_never_paid() -> None:
    raw, headers = sign_now(good_payment(status="reversal_pending"))

    assert parse_payment(raw, headers).status is TxnStatus.PENDING


def test_a_signed_body_that_is_not_a_json_object_is_malformed() -> None:
    raw = b"[]"
    headers = {"X-Signature": signing.sign(raw, SECRET, timestamp=int(NOW.timestamp()))}

    with pytest.raises(CallbackRejected) as caught:
        parse_callback(raw, headers, SECRET, NOW)
    assert caught.value.reason is RejectReason.MALFORMED


def test_a_callback_signed_with_the_old_secret_is_accepted_during_rotation() -> None:
    raw = json.dumps(good_payment()).encode()
    headers = {"X-Signature": signing.sign(raw, "old-pos", timestamp=int(NOW.timestamp()))}

    assert parse_payment(raw, headers, f"{SECRET},old-pos").status is TxnStatus.PAID
