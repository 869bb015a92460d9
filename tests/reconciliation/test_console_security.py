"""The console's session and headers: server-side revocation (logout, password change), idle and
absolute limits, an atomic lockout, the same work for unknown users, CSP without inline script."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from payments.app import create_app
from payments.auth.models import ConsoleSession
from payments.auth.services import (
    MAX_FAILURES_PER_USER,
    CreateUser,
    authenticate_user,
    create_user,
)
from payments.clock import utcnow
from payments.errors import TooManyAttempts, Unauthorized

PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parents[2] / "reconciliation" / "console" / "templates"


@pytest.fixture
def client(container: Any) -> FlaskClient:
    create_user(CreateUser("admin1", "admin", PASSWORD), uow=container.uow())
    return create_app(container=container).test_client()


def _csrf(client: FlaskClient, path: str = "/console/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(True))
    assert match
    return match[1]


def _sign_in(client: FlaskClient, password: str = PASSWORD) -> Any:
    return client.post(
        "/console/login",
        data={"username": "admin1", "password": password, "csrf_token": _csrf(client)},
    )


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _dashboard_with(client: FlaskClient, cookie: str) -> int:
    client.set_cookie("session", cookie)
    return client.get("/console/").status_code


def test_console_pages_carry_a_csp_without_inline_script_and_refuse_framing(
    client: FlaskClient,
) -> None:
    _sign_in(client)
    for path in ("/console/login", "/console/", "/console/static/console.css"):
        with client.get(path) as answer:
            headers = answer.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert (headers["X-Frame-Options"], headers["X-Content-Type-Options"]) == (
            "DENY",
            "nosniff",
        )


def test_no_console_template_holds_an_inline_script_or_event_handler() -> None:
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name


def test_a_cookie_copied_before_logout_opens_nothing_after_it(client: FlaskClient) -> None:
    _sign_in(client)
    copied = _cookie(client)
    assert _dashboard_with(client, copied) == 200

    client.post("/console/logout", data={"csrf_token": _csrf(client, "/console/")})

    assert _dashboard_with(client, copied) == 302


def test_a_password_change_ends_the_sessions_signed_in_with_the_old_one(
    client: FlaskClient, container: Any
) -> None:
    _sign_in(client)
    copied = _cookie(client)

    create_user(CreateUser("admin1", "admin", "a brand new password"), uow=container.uow())

    assert _dashboard_with(client, copied) == 302


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", timedelta(minutes=31)), ("created_at", timedelta(hours=12, minutes=1))],
    ids=["idle 31 minutes", "signed in 12 hours ago"],
)
def test_an_idle_or_too_old_session_ends(
    client: FlaskClient, container: Any, column: str, age: timedelta
) -> None:
    _sign_in(client)
    assert client.get("/console/").status_code == 200

    with container.uow() as uow:
        uow.session.execute(update(ConsoleSession).values({column: utcnow() - age}))
        uow.commit()

    assert client.get("/console/").status_code == 302


def test_forty_parallel_guesses_let_no_more_than_the_limit_reach_the_password_check(
    client: FlaskClient, container: Any, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("concurrency runs on PostgreSQL")

    def guess(_: int) -> str:
        try:
            authenticate_user("admin1", "wrong guess", uow=container.uow(), ip="198.51.100.7")
        except TooManyAttempts:
            return "throttled"
        except Unauthorized:
            return "checked"
        return "signed in"

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(guess, range(40)))

    assert answers.count("checked") == MAX_FAILURES_PER_USER
    assert answers.count("throttled") == 40 - MAX_FAILURES_PER_USER
    # locked: even the right password waits now
    with pytest.raises(TooManyAttempts) as locked:
        authenticate_user("admin1", PASSWORD, uow=container.uow())
    assert locked.value.retry_after is not None and locked.value.retry_after > 0


def test_a_throttled_sign_in_answers_429(client: FlaskClient) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        assert _sign_in(client, "wrong").status_code == 401
    assert _sign_in(client, "wrong").status_code == 429
    assert _sign_in(client).status_code == 429


def test_a_success_gives_its_try_back(client: FlaskClient, container: Any) -> None:
    for _ in range(MAX_FAILURES_PER_USER - 1):
        with pytest.raises(Unauthorized):
            authenticate_user("admin1", "wrong", uow=container.uow())
    for _ in range(3):
        authenticate_user("admin1", PASSWORD, uow=container.uow())  # never locks itself out


def test_an_unknown_username_costs_the_same_work_as_a_known_one(
    client: FlaskClient, container: Any
) -> None:
    def timed(username: str) -> float:
        started = time.thread_time()  # CPU work, not the shared machine's load
        with pytest.raises(Unauthorized):
            authenticate_user(username, "wrong", uow=container.uow())
        return time.thread_time() - started

    known = min(timed("admin1") for _ in range(4))
    unknown = min(timed(f"nobody{i}") for i in range(4))

    # both run one scrypt (tens of ms); before, an unknown name answered about 10x faster
    assert 0.5 < unknown / known < 2, (known, unknown)
