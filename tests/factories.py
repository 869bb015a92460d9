"""Factories the tests share: a payment request created over the API, and a bank transfer that
pays it, recorded the way the bank's notification callback records it."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import payment_request_body

from payments.clock import utcnow
from payments.http import Container
from payments.money import Money
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus


def create_request(session: Any, **overrides: Any) -> dict[str, Any]:
    """POST a payment request for the demo catalog (criminal-record extract unless overridden)."""
    resp = session.post(
        f"{session.base_url}/api/v1/payment-requests",
        json=payment_request_body(**overrides),
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def pay(
    container: Container, request: dict[str, Any], amount: int | None = None, txn_id: str = ""
) -> str:
    """A verified bank transfer of ``amount`` (default: the total) for the request; returns the
    request's status after it."""
    event = ProviderEvent(
        provider="bank",
        provider_txn_id=txn_id or f"FT{uuid.uuid4().hex[:12].upper()}",
        reference=request["reference"],
        amount=Money(request["total_amount"] if amount is None else amount),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=utcnow(),
        kind=EventKind.TRANSFER_IN,
        account_number=request["beneficiary"]["account_number"],
        details={"content": f"{request['reference']} chuyen tien"},
    )
    result = record_event(event, uow=container.uow())
    assert result.outcome == "applied", result
    return str(result.status)
