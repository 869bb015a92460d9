"""Helpers for the payment-channel round trips: requests over the API, and what the DB holds.

Not a conftest (a second ``conftest`` module would shadow ``tests/conftest.py`` for the modules
that import helpers from it); the test modules of this folder import these functions.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import requests
from factories import post_payment_request
from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.http import Container
from payments.outbox.models import OutboxEvent
from payments.payment_requests.models import PaymentRequest
from payments.transactions.models import PaymentTransaction, ProviderMessage

# the demo catalog: Sở Tư pháp's criminal-record extract, 200,000 đồng into account stp-kbnn
PROCEDURE = "1.001234"
AMOUNT = 200_000
ACCOUNT_NUMBER = "376101234567"
OTHER_AGENCY_ACCOUNT = "51010003456789"  # Công an tỉnh's account: in the catalog, not this fee's
BANK_KEY = "bank-test-key"
POS_SECRET = "pos-test-secret"
PAYGOV_SECRET = "paygov-test-secret"
WEBHOOK_SECRET = "webhook-test-secret"
PARTNER = "THUPHI"


def create_request(session: requests.Session, **overrides: Any) -> dict[str, Any]:
    """Create a payment request through the API, at the counter; returns its JSON."""
    counter = {
        "channel": "counter",
        "payer": {"name": "Nguyễn Văn An", "id_number": "040201001234"},
    }
    return post_payment_request(session, **(counter | overrides))


def fetch(session: requests.Session, request_id: str) -> dict[str, Any]:
    resp = session.get(
        f"{session.base_url}/api/v1/payment-requests/{request_id}",  # type: ignore[attr-defined]
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


T = TypeVar("T")


def detached(session: Session, rows: list[T]) -> list[T]:
    """Rows that stay readable after the unit of work rolls back and closes."""
    session.expunge_all()
    return rows


def messages(container: Container, provider: str | None = None) -> list[ProviderMessage]:
    with container.uow() as uow:
        stmt = select(ProviderMessage).order_by(ProviderMessage.id)
        if provider is not None:
            stmt = stmt.where(ProviderMessage.provider == provider)
        return detached(uow.session, list(uow.session.scalars(stmt)))


def outcomes(container: Container, provider: str | None = None) -> list[tuple[str, str | None]]:
    return [(m.outcome, m.reason) for m in messages(container, provider)]


def transactions(container: Container) -> list[PaymentTransaction]:
    with container.uow() as uow:
        rows = uow.session.scalars(select(PaymentTransaction).order_by(PaymentTransaction.id))
        return detached(uow.session, list(rows))


def stored_request(container: Container, request_id: str) -> PaymentRequest:
    with container.uow() as uow:
        found = uow.session.get(PaymentRequest, uuid.UUID(request_id))
        assert found is not None
        return detached(uow.session, [found])[0]


def topics(container: Container, request_id: str) -> list[str]:
    with container.uow() as uow:
        return list(
            uow.session.scalars(
                select(OutboxEvent.topic)
                .where(OutboxEvent.aggregate_id == request_id)
                .order_by(OutboxEvent.id)
            )
        )


def set_reference(container: Container, request_id: str, reference: str) -> None:
    """Give a request a chosen reference (to build one-typo scenarios deterministically)."""
    with container.uow() as uow:
        found = uow.session.get(PaymentRequest, uuid.UUID(request_id))
        assert found is not None
        found.reference = reference
        uow.commit()
