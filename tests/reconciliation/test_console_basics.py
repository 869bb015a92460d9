"""Console sign-in, CSRF, throttling and agency isolation over real HTTP."""

from __future__ import annotations

from typing import Any

import requests
from console_kit import PASSWORD, csrf_of, make_user
from factories import payment_request_body

JUSTICE, POLICE = "000.00.12.H40", "000.00.30.H40"


def sign_in(base: str, username: str, password: str = PASSWORD) -> tuple[requests.Session, Any]:
    s = requests.Session()
    token = csrf_of(s.get(f"{base}/console/login", timeout=10).text)
    resp = s.post(
        f"{base}/console/login",
        data={"username": username, "password": password, "csrf_token": token},
        timeout=10,
    )
    return s, resp


def test_login_page_is_vietnamese_with_labelled_fields(live_server: Any) -> None:
    html = requests.get(f"{live_server.url}/console/login", timeout=10).text
    assert '<html lang="vi">' in html
    assert 'for="username"' in html and 'for="password"' in html
    assert "Đăng nhập" in html
    assert csrf_of(html)


def test_officer_signs_in_and_sees_the_dashboard(live_server: Any, catalog: Any) -> None:
    make_user(live_server.container, "ketoan")
    s, resp = sign_in(live_server.url, "ketoan")
    assert resp.status_code == 200
    assert "Số thu theo kênh" in resp.text
    english = s.get(f"{live_server.url}/console/?lang=en", timeout=10).text
    assert "Collections by channel" in english


def test_a_form_without_the_csrf_token_is_refused(live_server: Any, catalog: Any) -> None:
    make_user(live_server.container, "ketoan")
    s = requests.Session()
    s.get(f"{live_server.url}/console/login", timeout=10)
    resp = s.post(
        f"{live_server.url}/console/login",
        data={"username": "ketoan", "password": PASSWORD},
        timeout=10,
    )
    assert resp.status_code == 400
    assert "Số thu theo kênh" not in resp.text


def test_repeated_wrong_passwords_lock_the_account_for_a_while(
    live_server: Any, catalog: Any
) -> None:
    make_user(live_server.container, "ketoan")
    for _ in range(5):
        _, resp = sign_in(live_server.url, "ketoan", "wrong-password")
        assert resp.status_code == 401
    _, resp = sign_in(live_server.url, "ketoan")
    assert resp.status_code == 429
    assert "15 phút" in resp.text


def test_pages_need_a_session(live_server: Any) -> None:
    resp = requests.get(
        f"{live_server.url}/console/payment-requests", timeout=10, allow_redirects=False
    )
    assert resp.status_code == 302
    assert "/console/login" in resp.headers["Location"]


def test_an_officer_never_sees_another_agencys_requests(api: Any, live_server: Any) -> None:
    client = api()
    ours = client.post(
        f"{client.base_url}/api/v1/payment-requests",
        json=payment_request_body(dossier_code="OURS-1"),
        headers={"Idempotency-Key": "a"},
        timeout=10,
    ).json()
    theirs = client.post(
        f"{client.base_url}/api/v1/payment-requests",
        json=payment_request_body(dossier_code="THEIRS-1", procedure_code="2.002163"),
        headers={"Idempotency-Key": "b"},
        timeout=10,
    ).json()
    make_user(live_server.container, "ketoan")
    s, _ = sign_in(live_server.url, "ketoan")
    listing = s.get(f"{live_server.url}/console/payment-requests", timeout=10).text
    assert "OURS-1" in listing and "THEIRS-1" not in listing
    assert (
        s.get(f"{live_server.url}/console/payment-requests/{ours['id']}", timeout=10).status_code
        == 200
    )
    assert (
        s.get(f"{live_server.url}/console/payment-requests/{theirs['id']}", timeout=10).status_code
        == 404
    )
    make_user(live_server.container, "boss", role="admin", agency=None)
    admin, _ = sign_in(live_server.url, "boss")
    everything = admin.get(f"{live_server.url}/console/payment-requests", timeout=10).text
    assert "OURS-1" in everything and "THEIRS-1" in everything


def test_the_request_list_filters_by_every_status_of_the_state_enum(
    live_server: Any, catalog: Any
) -> None:
    from payments.payment_requests.models import RequestStatus

    make_user(live_server.container, "ketoan")
    s, _ = sign_in(live_server.url, "ketoan")
    listing = s.get(f"{live_server.url}/console/payment-requests", timeout=10).text
    offered = [status for status in RequestStatus if f'<option value="{status}"' in listing]
    assert offered == list(RequestStatus)
    assert ">Thanh toán một phần</option>" in listing  # in words, never the code
