"""National-portal payments over real HTTP: checkout → POST /pay/<token>/paygov → FakePayGov →
RESULT to POST /callbacks/paygov, and the status poll for results that never arrived."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from channel_kit import (
    AMOUNT,
    PARTNER,
    PAYGOV_SECRET,
    create_request,
    fetch,
    messages,
    outcomes,
    token_of,
    topics,
    transactions,
)
from sqlalchemy import select

from payments.clock import utcnow
from payments.config import Settings
from payments.paygov.errors import PaygovNotConfigured
from payments.paygov.jobs import poll_paygov
from payments.paygov.services import start_paygov_payment
from payments.transactions.models import PaygovAttempt
from providers.fakes.paygov import FakePayGov
from providers.paygov.schemas import RESULT_HASH_FIELDS, hash_fields, sign_message

Api = Callable[..., requests.Session]


@pytest.fixture
def paygov() -> Iterator[FakePayGov]:
    with FakePayGov(PAYGOV_SECRET, partner_code=PARTNER) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, paygov: FakePayGov) -> Settings:
    return replace(settings, paygov_url=paygov.url, paygov_partner_code=PARTNER)


@pytest.fixture
def s(api: Api, live_server: Any, paygov: FakePayGov) -> requests.Session:
    paygov.callback_url = f"{live_server.url}/callbacks/paygov"
    return api(scopes=["payments:write"])


def start(s: requests.Session, req: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{s.base_url}/pay/{token_of(req)}/paygov",  # type: ignore[attr-defined]
        allow_redirects=False,
        timeout=10,
    )


def started(s: requests.Session, req: dict[str, Any]) -> str:
    """Start a portal payment; return its MaThamChieu."""
    resp = start(s, req)
    assert resp.status_code == 303, resp.text
    return resp.headers["Location"].rsplit("/pay/", 1)[1]


def post_result(live_server: Any, message: dict[str, Any]) -> requests.Response:
    return requests.post(f"{live_server.url}/callbacks/paygov", json=message, timeout=10)


def poll(container: Any, settings: Settings, after: timedelta = timedelta(hours=1)) -> Any:
    return poll_paygov(container.uow(), settings, utcnow() + after)


def test_the_checkout_button_redirects_to_the_platform_with_a_fresh_reference(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    resp = start(s, req)
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith(f"{paygov.url}/pay/{req['reference']}G")
    ref = resp.headers["Location"].rsplit("/", 1)[1]
    assert paygov.payments[ref].amount == str(AMOUNT)
    with container.uow() as uow:
        [attempt] = uow.session.scalars(select(PaygovAttempt)).all()
        assert (attempt.provider_ref, attempt.amount, attempt.status) == (ref, AMOUNT, "pending")
        assert attempt.payment_url == resp.headers["Location"]


def test_a_second_click_reuses_the_platform_page(s: requests.Session, paygov: FakePayGov) -> None:
    req = create_request(s)
    assert started(s, req) == started(s, req)
    assert len(paygov.payments) == 1


def test_a_paid_result_pays_the_request_and_is_acknowledged_in_the_platform_format(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref)
    assert resp is not None and resp.status_code == 200
    ack = resp.json()
    assert (ack["MaLoi"], ack["MaDoiTac"], ack["MaThamChieu"]) == ("00", PARTNER, ref)
    assert ack["MaXacThuc"]
    assert fetch(s, req["id"])["status"] == "paid"
    [txn] = transactions(container)
    assert (txn.provider, txn.provider_txn_id, txn.amount) == (
        "paygov",
        paygov.payments[ref].txn_id,
        AMOUNT,
    )
    assert "MaXacThuc" not in json.dumps([m.payload for m in messages(container)])
    assert topics(container, req["id"]) == ["payment_request.paid"]


def test_a_failed_result_leaves_the_request_open_and_closes_the_attempt(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref, success=False)
    assert resp is not None and resp.status_code == 200
    assert fetch(s, req["id"])["status"] == "pending"
    assert transactions(container) == []
    assert outcomes(container, "paygov") == [("failed", None)]
    # a new click starts a new attempt with a new MaThamChieu
    assert started(s, req) != ref


def test_an_unknown_result_code_stays_pending(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    resp = paygov.complete(ref, ma_loi="77")
    assert resp is not None and resp.status_code == 200
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("pending", None)]


def test_the_same_result_twice_pays_once(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.complete(ref)
    again = post_result(live_server, paygov.result_message(ref))
    assert again.status_code == 200 and again.json()["MaLoi"] == "00"
    assert len(transactions(container)) == 1
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT
    assert [o for o, _ in outcomes(container, "paygov")] == ["applied", "duplicate"]


def test_a_forged_result_is_refused_logged_and_changes_nothing(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    forged = sign_message(paygov.result_message(ref), RESULT_HASH_FIELDS, "guessed-secret")
    resp = post_result(live_server, forged)
    assert resp.status_code == 401 and resp.json()["MaLoi"] != "00"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container) == [("rejected", "bad_signature")]


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"SoTien": "1000"}, "amount_mismatch"), ({"MaTienTe": "840"}, "wrong_currency")],
)
def test_a_signed_result_with_another_amount_or_currency_is_rejected(
    s: requests.Session,
    paygov: FakePayGov,
    live_server: Any,
    container: Any,
    change: dict[str, str],
    reason: str,
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    message = {**paygov.result_message(ref), **change}
    message["MaXacThuc"] = hash_fields(message, RESULT_HASH_FIELDS, PAYGOV_SECRET)
    resp = post_result(live_server, message)
    assert resp.status_code == 409 and resp.json()["MaLoi"] != "00"
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("rejected", reason)]


def test_a_result_for_a_reference_we_never_started_is_rejected(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    message = {**paygov.result_message(ref), "MaThamChieu": "TPH000000000000G01"}
    message["MaXacThuc"] = hash_fields(message, RESULT_HASH_FIELDS, PAYGOV_SECRET)
    assert post_result(live_server, message).status_code == 409
    assert outcomes(container, "paygov") == [("rejected", "unknown_reference")]


def test_a_payment_whose_result_never_came_is_found_by_the_poll(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None  # the platform's RESULT is lost
    paygov.complete(ref)
    assert fetch(s, req["id"])["status"] == "pending"
    summary = poll(container, settings)
    assert (summary.polled, summary.applied) == (1, 1)
    assert fetch(s, req["id"])["status"] == "paid"
    assert poll(container, settings).polled == 0  # the attempt is closed


def test_a_result_arriving_after_the_poll_found_the_payment_is_acknowledged_once(
    s: requests.Session, paygov: FakePayGov, live_server: Any, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    poll(container, settings)
    late = post_result(live_server, paygov.result_message(ref))
    assert late.status_code == 200 and late.json()["MaLoi"] == "00"
    assert len(transactions(container)) == 1
    assert fetch(s, req["id"])["paid_amount"] == AMOUNT
    assert topics(container, req["id"]) == ["payment_request.paid"]


def test_a_payment_pending_at_the_platform_stays_pending_then_is_polled_paid(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    assert poll(container, settings).still_pending == 1
    assert fetch(s, req["id"])["status"] == "pending"
    paygov.callback_url = None
    paygov.complete(ref)
    assert poll(container, settings).applied == 1
    assert fetch(s, req["id"])["status"] == "paid"


def test_the_poll_leaves_attempts_younger_than_30_minutes_or_older_than_3_days(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    started(s, create_request(s))
    assert poll(container, settings, timedelta(minutes=10)).polled == 0
    assert poll(container, settings, timedelta(days=3, minutes=1)).polled == 0
    assert poll(container, settings, timedelta(hours=2)).polled == 1


def test_a_poll_reply_with_a_bad_hash_changes_nothing(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    paygov.forge_replies = True
    assert poll(container, settings).errors == 1
    assert fetch(s, req["id"])["status"] == "pending"


def test_a_poll_reply_claiming_paid_for_another_amount_is_rejected(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.callback_url = None
    paygov.complete(ref)
    paygov.payments[ref].amount = "1000"
    assert poll(container, settings).errors == 1
    assert fetch(s, req["id"])["status"] == "pending"
    assert outcomes(container, "paygov") == [("rejected", "poll_amount_mismatch")]


def test_a_poll_reply_with_an_unknown_status_stays_pending(
    s: requests.Session, paygov: FakePayGov, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    ref = started(s, req)
    paygov.outcomes[ref] = "9"
    assert poll(container, settings).still_pending == 1
    assert fetch(s, req["id"])["status"] == "pending"


def test_a_paid_request_cannot_start_a_portal_payment(
    s: requests.Session, paygov: FakePayGov
) -> None:
    req = create_request(s)
    paygov.complete(started(s, req))
    resp = start(s, req)
    assert resp.status_code == 409
    assert resp.json()["code"] == "request-not-payable"


def test_an_unknown_checkout_token_is_not_found(s: requests.Session) -> None:
    resp = requests.post(f"{s.base_url}/pay/nope/paygov", timeout=10)  # type: ignore[attr-defined]
    assert resp.status_code == 404 and resp.json()["code"] == "not-found"


def test_without_platform_settings_a_portal_payment_is_not_offered(
    s: requests.Session, container: Any, settings: Settings
) -> None:
    req = create_request(s)
    with pytest.raises(PaygovNotConfigured):
        start_paygov_payment(
            token_of(req),
            "127.0.0.1",
            uow=container.uow(),
            settings=replace(settings, paygov_url=""),
        )


def test_a_platform_that_is_down_answers_502_and_leaves_nothing_half_started(
    s: requests.Session, paygov: FakePayGov, container: Any
) -> None:
    req = create_request(s)
    paygov.down = True
    resp = start(s, req)
    assert resp.status_code == 502 and resp.json()["code"] == "paygov-unavailable"
    paygov.down = False
    assert start(s, req).status_code == 303
