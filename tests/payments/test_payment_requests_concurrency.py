"""Concurrent creates with one Idempotency-Key on PostgreSQL give one request."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from factories import payment_request_body
from sqlalchemy import func, select

from payments.payment_requests.models import PaymentRequest


@pytest.mark.postgres_only
def test_concurrent_creates_with_one_key_make_one_request(
    api: Any, backend: str, container: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("the race needs PostgreSQL's concurrent writers; SQLite serialises them")
    s = api()
    body = payment_request_body()

    def call(_: int) -> Any:
        return s.post(
            f"{s.base_url}/api/v1/payment-requests",
            json=body,
            headers={"Idempotency-Key": "race"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(call, range(32)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    with container.uow() as uow:
        count = uow.session.scalar(
            select(func.count()).where(PaymentRequest.dossier_code == body["dossier_code"])
        )
    assert count == 1
