"""Several writes in one PostgreSQL statement, on the service's own tables."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from sqlalchemy import Table, text

from payments.onetrip import OneTrip
from payments.outbox.models import OutboxEvent
from payments.transactions.models import ProviderMessage

MESSAGES = cast(Table, ProviderMessage.__table__)
EVENTS = cast(Table, OutboxEvent.__table__)


@pytest.fixture
def pg(backend: str, container: Any) -> Any:
    if backend != "postgresql":
        pytest.skip("data-modifying WITH queries are PostgreSQL's; SQLite has none")
    return container.engine


def test_parts_run_together_with_python_defaults_and_json(pg: Any) -> None:
    aggregate = uuid.uuid4().hex
    trip = OneTrip()
    trip.insert(
        "ev",
        EVENTS,
        [{"topic": "t.one", "aggregate_id": aggregate, "payload": {"đồng": 15_555, "n": [1]}}],
        returning="id",
    )
    trip.insert(
        "msg",
        MESSAGES,
        [{"provider": "bank", "outcome": "applied", "payload": {"memo": "TPH nộp phí"}}],
        when="ev",
    )
    with pg.begin() as conn:
        row = trip.run(conn, "SELECT id FROM ev")
    assert row is not None
    with pg.connect() as conn:
        event = conn.execute(
            text("SELECT topic, payload, created_at, fanned_out FROM outbox_events WHERE id = :i"),
            {"i": row[0]},
        ).one()
        message = conn.execute(
            text("SELECT payload, received_at FROM provider_messages WHERE provider = 'bank'")
        ).one()
    assert event.topic == "t.one" and event.payload == {"đồng": 15_555, "n": [1]}
    # the columns' Python defaults, which SQLAlchemy would have filled in
    assert event.fanned_out is False and event.created_at.tzinfo is not None
    assert message.payload == {"memo": "TPH nộp phí"} and message.received_at is not None


def test_a_part_that_waits_on_a_conflicting_insert_writes_nothing(pg: Any) -> None:
    aggregate = uuid.uuid4().hex

    def once() -> Any:
        trip = OneTrip()
        trip.insert(
            "ev",
            EVENTS,
            [{"id": 424242, "topic": "t.once", "aggregate_id": aggregate, "payload": {}}],
            unless_conflict=("id",),
            returning="id",
        )
        trip.insert(
            "msg",
            MESSAGES,
            [{"provider": "once", "outcome": "applied", "payload": {}}],
            when="ev",
        )
        trip.update(
            "upd",
            EVENTS,
            {"id": 424242},
            {"topic": "t.changed"},
            when="ev",
        )
        with pg.begin() as conn:
            return trip.run(conn, "SELECT id FROM ev")

    assert once() is not None
    assert once() is None  # the second insert met the first: nothing else ran
    with pg.connect() as conn:
        messages = conn.scalar(
            text("SELECT count(*) FROM provider_messages WHERE provider = 'once'")
        )
        topic = conn.scalar(text("SELECT topic FROM outbox_events WHERE id = 424242"))
    assert messages == 1
    # the UPDATE ran once, in the first statement, on one snapshot: it did not see the row
    # its own statement inserted
    assert topic == "t.once"
