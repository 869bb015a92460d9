"""Expiring overdue payment requests: only pending ones past their time, once, with an event."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import make_payment_request
from sqlalchemy import select, update

from payments.auth.services import Principal
from payments.clock import utcnow
from payments.config import Settings
from payments.http import Container
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import PaymentRequest
from payments.payment_requests.services import (
    Payer,
    cancel_payment_request,
    expire_overdue,
)

PRINCIPAL = Principal("cl_expiry_test", frozenset({"payments:write", "payments:read"}), None)

MakeRequest = Callable[..., dict[str, Any]]


@pytest.fixture
def make_request(container: Container, catalog: dict[str, Any], settings: Settings) -> MakeRequest:
    """Create a request for the criminal-record extract: ``make_request(ttl=…, category=…)``."""

    def make(ttl: timedelta = timedelta(hours=1), category: str | None = None) -> dict[str, Any]:
        return make_payment_request(
            container,
            settings=replace(settings, request_ttl=ttl),
            principal=PRINCIPAL,
            payer=Payer("Nguyễn Văn An", category=category),
        )

    return make


def status_of(container: Container, view: dict[str, Any]) -> str:
    with container.uow() as uow:
        status = uow.session.scalar(
            select(PaymentRequest.status).where(PaymentRequest.id == uuid.UUID(view["id"]))
        )
    assert status is not None
    return status


def expired_events(container: Container) -> list[tuple[str, dict[str, Any]]]:
    with container.uow() as uow:
        rows = uow.session.execute(
            select(OutboxEvent.aggregate_id, OutboxEvent.payload)
            .where(OutboxEvent.topic == "payment_request.expired")
            .order_by(OutboxEvent.id)
        )
        return [(aggregate_id, payload) for aggregate_id, payload in rows]


def expiry_of(view: dict[str, Any]) -> datetime:
    expires_at = view["expires_at"]
    assert isinstance(expires_at, datetime) and expires_at.tzinfo is not None
    return expires_at


def test_only_pending_requests_past_their_expiry_are_expired(
    container: Container, make_request: MakeRequest
) -> None:
    overdue = make_request()
    not_yet_due = make_request(ttl=timedelta(hours=72))
    paid = make_request(category="child")  # exempt: paid the moment it is created
    cancelled = make_request()
    cancel_payment_request(
        cancelled["id"], uow=container.uow(), settings=container.settings, principal=None
    )
    partially_paid = make_request()
    with container.uow() as uow:
        uow.session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(partially_paid["id"]))
            .values(status="partially_paid", paid_amount=50_000)
        )
        uow.commit()
    assert paid["status"] == "paid"

    expired = expire_overdue(uow=container.uow(), now=expiry_of(overdue) + timedelta(minutes=1))

    assert expired == 1
    statuses = {
        name: status_of(container, view)
        for name, view in {
            "overdue": overdue,
            "not_yet_due": not_yet_due,
            "paid": paid,
            "cancelled": cancelled,
            "partially_paid": partially_paid,
        }.items()
    }
    assert statuses == {
        "overdue": "expired",
        "not_yet_due": "pending",
        "paid": "paid",
        "cancelled": "cancelled",
        "partially_paid": "partially_paid",
    }


def test_an_expired_request_is_announced_through_the_outbox(
    container: Container, make_request: MakeRequest
) -> None:
    overdue = make_request()
    make_request(ttl=timedelta(hours=72))

    expire_overdue(uow=container.uow(), now=expiry_of(overdue) + timedelta(seconds=1))

    ((aggregate_id, payload),) = expired_events(container)
    assert aggregate_id == overdue["id"]
    assert payload["payment_request_id"] == overdue["id"]
    assert payload["status"] == "expired"
    assert payload["dossier_code"] == overdue["dossier_code"]
    assert payload["reference"] == overdue["reference"]
    assert (payload["total_amount"], payload["paid_amount"]) == (200_000, 0)


def test_expiring_twice_expires_nothing_the_second_time(
    container: Container, make_request: MakeRequest
) -> None:
    overdue = make_request()
    now = expiry_of(overdue) + timedelta(minutes=5)

    assert expire_overdue(uow=container.uow(), now=now) == 1
    assert expire_overdue(uow=container.uow(), now=now) == 0
    assert expire_overdue(uow=container.uow(), now=now + timedelta(days=1)) == 0

    assert status_of(container, overdue) == "expired"
    assert len(expired_events(container)) == 1


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        pytest.param(timedelta(microseconds=-1), "pending", id="a microsecond before expiry"),
        pytest.param(timedelta(microseconds=1), "expired", id="a microsecond after expiry"),
        pytest.param(timedelta(days=365), "expired", id="a year after expiry"),
    ],
)
def test_a_request_expires_once_its_expiry_has_passed(
    container: Container, make_request: MakeRequest, offset: timedelta, status: str
) -> None:
    request = make_request()
    expire_overdue(uow=container.uow(), now=expiry_of(request) + offset)
    assert status_of(container, request) == status


def test_a_later_run_expires_what_has_since_become_due(
    container: Container, make_request: MakeRequest
) -> None:
    short = make_request(ttl=timedelta(hours=1))
    long = make_request(ttl=timedelta(hours=72))

    assert expire_overdue(uow=container.uow(), now=expiry_of(short) + timedelta(hours=1)) == 1
    assert status_of(container, long) == "pending"
    assert expire_overdue(uow=container.uow(), now=expiry_of(long) + timedelta(hours=1)) == 1

    assert [aggregate for aggregate, _ in expired_events(container)] == [short["id"], long["id"]]


def test_more_overdue_requests_than_a_batch_are_all_expired(
    container: Container, make_request: MakeRequest
) -> None:
    requests = [make_request() for _ in range(5)]
    now = max(expiry_of(r) for r in requests) + timedelta(minutes=1)

    assert expire_overdue(uow=container.uow(), now=now, batch=2) == 5

    assert {status_of(container, r) for r in requests} == {"expired"}
    assert len(expired_events(container)) == 5


def test_without_a_time_given_expiry_uses_the_clock(
    container: Container, make_request: MakeRequest
) -> None:
    due = make_request(ttl=timedelta(milliseconds=1))
    later = make_request(ttl=timedelta(hours=72))
    while utcnow() <= expiry_of(due):
        time.sleep(0.005)

    assert expire_overdue(uow=container.uow()) == 1

    assert (status_of(container, due), status_of(container, later)) == ("expired", "pending")
