"""The console searches requests in ``payment_request_search`` (migration 0010), which triggers
keep equal to the searched columns of ``payment_requests`` whatever writes them: the API, a
bulk insert, a hand-run UPDATE, a delete. A payment's update of its request leaves it alone
(that is the point of the table: no trigram index entries per payment)."""

from __future__ import annotations

import uuid
from typing import Any

from alembic import command
from console_kit import JUSTICE, new_request
from sqlalchemy import Engine, delete, insert, select, text, update

from payments.clock import utcnow
from payments.http import Container
from payments.migrate import alembic_config, upgrade
from payments.money import Money
from payments.payment_requests.models import PaymentRequest, PaymentRequestSearch
from payments.reference import new_reference
from payments.transactions.services import record_event
from providers.base import EventKind, ProviderEvent, TxnStatus
from reconciliation.console.services import RequestFilter, search_requests


def copies(engine: Engine, request_id: str, n: int) -> list[dict[str, Any]]:
    """``n`` new requests made of an existing one's row, for one multi-row INSERT."""
    with engine.connect() as conn:
        row = conn.execute(
            select(PaymentRequest.__table__).where(PaymentRequest.id == uuid.UUID(request_id))
        ).one()
    return [
        {
            **row._mapping,
            "id": uuid.uuid4(),
            "reference": new_reference(),
            "checkout_token": uuid.uuid4().hex,
            "dossier_code": f"BULK-{i}",
            "payer_name": f"Phạm Hàng Loạt {i}",
        }
        for i in range(n)
    ]


def columns(engine: Engine, model: Any) -> dict[str, tuple[str, str, str]]:
    """Dossier code, reference and payer name by request id, as ``model``'s table holds them."""
    with engine.connect() as conn:
        rows = conn.execute(select(model.id, model.dossier_code, model.reference, model.payer_name))
        return {str(r.id): (r.dossier_code, r.reference, r.payer_name) for r in rows}


def searched(engine: Engine) -> dict[str, tuple[str, str, str]]:
    return columns(engine, PaymentRequestSearch)


def requested(engine: Engine) -> dict[str, tuple[str, str, str]]:
    return columns(engine, PaymentRequest)


def row_version(engine: Engine, request_id: str) -> Any:
    """PostgreSQL: the search row's xmin (changes on any rewrite); SQLite: its contents."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.execute(
                text("SELECT xmin::text FROM payment_request_search WHERE id = :i"),
                {"i": uuid.UUID(request_id)},
            ).scalar_one()
        return searched(engine)[request_id]


def found(container: Container, words: str) -> set[str]:
    return {r["id"] for r in search_requests(RequestFilter(text=words), None, uow=container.uow())}


def test_every_write_path_keeps_the_search_table_equal_to_the_requests(
    container: Container, catalog: Any
) -> None:
    engine = container.engine
    one = new_request(container, JUSTICE, "Trần Thị Tìm", "TIM")
    two = new_request(container, JUSTICE, "Lê Văn Kiếm", "TIM")
    bulk = copies(engine, two["id"], 3)
    with engine.begin() as conn:
        conn.execute(insert(PaymentRequest), bulk)
    assert len(searched(engine)) == 5
    assert searched(engine) == requested(engine)
    assert found(container, "văn kiếm") == {two["id"]}
    assert len(found(container, "hàng loạt")) == 3

    before = row_version(engine, one["id"])
    event = ProviderEvent(
        provider="bank",
        provider_txn_id=f"search-{uuid.uuid4().hex[:8]}",
        reference=None,
        amount=Money(one["total_amount"]),
        currency="VND",
        status=TxnStatus.PAID,
        occurred_at=utcnow(),
        kind=EventKind.TRANSFER_IN,
        details={"content": f"{one['reference']} nop phi"},
    )
    assert record_event(event, uow=container.uow()).outcome == "applied"
    assert row_version(engine, one["id"]) == before, "a payment rewrote the search row"

    with engine.begin() as conn:  # a hand-run correction of the payer's name
        conn.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(one["id"]))
            .values(payer_name="Trần Thị Đã Sửa", dossier_code="HS-SUA-0001")
        )
    assert searched(engine) == requested(engine)
    assert found(container, "Đã Sửa") == {one["id"]}
    assert found(container, "TUPHAP-TIM") == {two["id"]}

    with engine.begin() as conn:
        conn.execute(delete(PaymentRequest).where(PaymentRequest.id == uuid.UUID(two["id"])))
    assert searched(engine) == requested(engine)
    assert two["id"] not in searched(engine)


def test_the_migration_fills_the_table_from_the_requests_already_there(
    container: Container, catalog: Any
) -> None:
    engine = container.engine
    old = new_request(container, JUSTICE, "Ngô Thị Cũ", "CU")
    bulk = copies(engine, old["id"], 2)
    with engine.begin() as conn:
        conn.execute(insert(PaymentRequest), bulk)
    command.downgrade(alembic_config(engine), "0009")
    try:
        with engine.connect() as conn:
            gone = conn.execute(
                text(
                    "SELECT to_regclass('payment_request_search')::text"
                    if engine.dialect.name == "postgresql"
                    else "SELECT name FROM sqlite_master WHERE name = 'payment_request_search'"
                )
            ).scalar()
        assert gone is None
    finally:
        upgrade(engine)
    assert len(searched(engine)) == 3
    assert searched(engine) == requested(engine)
    assert len(found(container, "Ngô Thị")) == 1
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            indexes = set(
                conn.execute(
                    text(
                        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                        " AND indexname IN ('ix_payment_requests_search',"
                        " 'ix_payment_request_search_text')"
                    )
                ).scalars()
            )
        assert indexes == {"ix_payment_request_search_text"}
