"""The engine's pool on PostgreSQL: a connection the server closed is replaced before use,
without the round trip ``pool_pre_ping`` spent on every checkout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from payments.db import driver_first, make_engine
from tests.conftest import require_postgres


@pytest.fixture
def engine(pg_schema_url: str) -> Iterator[Engine]:
    require_postgres()
    engine = make_engine(pg_schema_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    """End backend ``pid`` from another connection, as an administrator would."""
    admin = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with admin.begin() as conn:
            # with a timeout it waits until the backend has gone; without, it only signals it,
            # and on a busy machine the next checkout's check could come first
            stmt = text("SELECT pg_terminate_backend(:pid, 10000)")
            assert conn.execute(stmt, {"pid": pid}).scalar_one() is True
    finally:
        admin.dispose()


def test_a_connection_the_server_terminated_is_replaced_before_the_request_uses_it(
    engine: Engine,
) -> None:
    first = _backend(engine)
    _terminate(engine, first)

    second = _backend(engine)  # would raise "terminating connection" with the dead one

    assert second != first


def test_a_live_pooled_connection_is_reused_without_a_round_trip_before_the_request(
    engine: Engine, tmp_path: Path
) -> None:
    first = _backend(engine)
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.close()  # back to the pool: the next checkout takes it
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        driver.pgconn.trace(out.fileno())  # every protocol message libpq sends and receives
        try:
            assert _backend(engine) == first
        finally:
            driver.pgconn.untrace()

    # timestamp, F(rontend) or B(ackend), length, message, contents
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    queries = [f[4].strip() for f in sent if f[1] == "F" and f[3] in {"Query", "Parse"}]
    # the request's own transaction first: pool_pre_ping sent a SELECT 1 before it
    assert queries[0] == '"BEGIN"', queries


def test_a_statement_sent_through_the_driver_fails_as_sqlalchemy_would_and_drops_a_lost_line(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        with conn.begin():  # as a session's connection is
            assert driver_first(conn, "SELECT %(n)s::int + 1", {"n": 1}) == (2,)
        with pytest.raises(DBAPIError) as failed, conn.begin():
            driver_first(conn, "SELECT 1 / %(n)s::int", {"n": 0})
        assert not failed.value.connection_invalidated
        with conn.begin():
            [pid] = driver_first(conn, "SELECT pg_backend_pid()", {}) or [0]
        _terminate(engine, pid)
        with pytest.raises(DBAPIError) as lost, conn.begin():
            driver_first(conn, "SELECT 1", {})
        assert lost.value.connection_invalidated
    assert _backend(engine) != pid
