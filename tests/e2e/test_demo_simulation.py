"""Demo mode: the checkout page's "simulate" buttons make the fakes send real signed callbacks;
outside demo mode none of it exists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from channel_kit import PARTNER, PAYGOV_SECRET, create_request, fetch, transactions
from factories import token_of

from payments.app import build_container, create_app
from payments.config import Settings
from payments.demo.fakes import DemoPayGov

Api = Callable[..., requests.Session]
SIMULATIONS = ["transfer", "card", "portal"]


@pytest.fixture
def platform() -> Iterator[DemoPayGov]:
    with DemoPayGov(PAYGOV_SECRET, partner_code=PARTNER, public_url="http://unset") as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, platform: DemoPayGov) -> Settings:
    return replace(settings, demo=True, paygov_url=platform.url, paygov_partner_code=PARTNER)


@pytest.fixture
def s(api: Api, live_server: Any, platform: DemoPayGov) -> requests.Session:
    platform.public_url = live_server.url
    platform.callback_url = f"{live_server.url}/callbacks/paygov"
    return api()


def simulate(s: requests.Session, req: dict[str, Any], kind: str) -> requests.Response:
    return requests.post(
        f"{s.base_url}/pay/{token_of(req)}/simulate/{kind}",  # type: ignore[attr-defined]
        allow_redirects=False,
        timeout=20,
    )


@pytest.mark.parametrize(("kind", "provider"), [("transfer", "bank"), ("card", "pos")])
def test_a_simulated_transfer_or_card_payment_pays_through_the_real_callback(
    s: requests.Session, container: Any, kind: str, provider: str
) -> None:
    req = create_request(s)
    resp = simulate(s, req, kind)
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/pay/{token_of(req)}")
    assert fetch(s, req["id"])["status"] == "paid"
    assert [t.provider for t in transactions(container)] == [provider]


def test_a_simulated_portal_payment_walks_the_platform_page_and_comes_back_paid(
    s: requests.Session, platform: DemoPayGov
) -> None:
    req = create_request(s)
    resp = simulate(s, req, "portal")
    assert resp.status_code == 303 and resp.headers["Location"].startswith(platform.url)
    page = requests.get(resp.headers["Location"], timeout=10)
    assert "Thanh toán thành công" in page.text
    paid = requests.post(
        resp.headers["Location"], data={"outcome": "success"}, allow_redirects=False, timeout=10
    )
    assert paid.status_code == 303
    back = requests.get(paid.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 303 and back.headers["Location"] == f"/pay/{token_of(req)}"
    assert fetch(s, req["id"])["status"] == "paid"


def test_simulating_a_paid_request_is_a_conflict(s: requests.Session) -> None:
    req = create_request(s)
    assert simulate(s, req, "transfer").status_code == 303
    resp = simulate(s, req, "card")
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"


@pytest.mark.parametrize("kind", SIMULATIONS)
def test_outside_demo_mode_the_simulations_do_not_exist(
    container: Any, settings: Settings, catalog: Any, kind: str
) -> None:
    plain = build_container(replace(settings, demo=False), container.engine)
    client = create_app(container=plain).test_client()
    assert client.post(f"/pay/any-token/simulate/{kind}").status_code == 404
    assert client.get("/demo/paygov-return/TPH1G01").status_code == 404


@pytest.mark.parametrize(("kind", "provider"), [("transfer", "bank"), ("card", "pos")])
def test_five_simulations_in_a_row_each_pay_a_different_request(
    s: requests.Session, container: Any, kind: str, provider: str
) -> None:
    requests_ = [create_request(s) for _ in range(5)]
    for req in requests_:
        resp = simulate(s, req, kind)
        assert resp.status_code == 303
        assert resp.headers["Location"] == f"/pay/{token_of(req)}"  # no failure message
    assert [fetch(s, req["id"])["status"] for req in requests_] == ["paid"] * 5
    txns = transactions(container)
    assert [t.provider for t in txns] == [provider] * 5
    assert len({t.provider_txn_id for t in txns}) == 5
    assert {str(t.payment_request_id) for t in txns} == {req["id"] for req in requests_}


def test_a_refused_simulation_says_so_on_the_checkout_page(
    s: requests.Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payments.demo import services

    req = create_request(s)
    monkeypatch.setattr(services, "split_secret", lambda _: ("a-wrong-key",))
    resp = simulate(s, req, "transfer")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("?demo=failed")
    page = requests.get(f"{s.base_url}{resp.headers['Location']}", timeout=10)  # type: ignore[attr-defined]
    assert 'id="demo-message"' in page.text and "không thành công" in page.text
    assert fetch(s, req["id"])["status"] == "pending"
