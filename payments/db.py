"""SQLAlchemy 2.0 declarative base, engine creation and column types shared by every package."""

from __future__ import annotations

import select
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from payments.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on PostgreSQL (timestamptz) and SQLite (naive text) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# BIGINT everywhere (money, ids); SQLite only auto-increments an INTEGER PRIMARY KEY, which is
# 64-bit there anyway
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        int: BigInt,
        uuid.UUID: Uuid(),
    }


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def trigram_index(name: str, *columns: str) -> Any:
    """A PostgreSQL trigram GIN index over ``columns`` for the console's ``ILIKE '%…%'``
    searches (pg_trgm, migration 0009); SQLite gets none. ``fastupdate`` off: an insert that
    overflowed the pending list merged it into the index on its own clock (p99 260 ms)."""
    return Index(
        name,
        *columns,
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
        postgresql_ops=dict.fromkeys(columns, "gin_trgm_ops"),
    ).ddl_if(dialect="postgresql")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (file under ``instance/``) or PostgreSQL via psycopg 3."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _server_still_there)
    return engine


def _server_still_there(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: a connection the server has closed (a restart, an administrator's
    ``pg_terminate_backend``, an idle timeout) is discarded and replaced before use.

    Such a connection has something to read, the server's termination notice or end of file;
    a live idle one has nothing. Polling its socket costs a system call, where
    ``pool_pre_ping``'s ``SELECT 1`` cost a round trip on every request (bench/README.md). A
    connection lost silently (no FIN) fails its first statement instead; SQLAlchemy then
    invalidates the pool and the caller's client retries."""
    if dbapi_conn.closed or dbapi_conn.broken:
        raise DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_conn.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # foreign keys are off by default in SQLite; WAL lets readers run beside one writer
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # pysqlite's own implicit BEGIN is turned off so the listener below controls it
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # SQLite is the single-writer development database: take the write lock at BEGIN
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def driver_connection(conn: Connection) -> Any:
    """psycopg's own connection under ``conn``, inside ``conn``'s transaction.

    The hot paths (a payment callback, a create) send their one or two statements through it:
    SQLAlchemy's execution of a statement (compiled-cache look-up, result metadata, row
    processing) cost more CPU than PostgreSQL's work on it (bench/README.md). Values go in and
    come out as psycopg adapts them, without SQLAlchemy's type processing."""
    return conn.connection.driver_connection


class DriverStatement:
    """A Core statement that PostgreSQL runs through ``driver_connection`` (compiled once for
    psycopg; the values SQLAlchemy bound itself, literals in the expression, ride along) and
    SQLite through SQLAlchemy as usual. Rows are plain tuples either way."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=pg_psycopg.dialect())  # type: ignore[attr-defined,no-untyped-call]
        self.sql = str(compiled)
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The statement's first row, or None."""
        if conn.dialect.name != "postgresql":
            row = conn.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        return driver_first(conn, self.sql, {**self.defaults, **params})


def driver_first(conn: Connection, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of ``sql`` run through ``driver_connection``; a failure raises the
    exception SQLAlchemy would have raised (IntegrityError for a unique key, and so on), and a
    lost connection is invalidated as SQLAlchemy would have."""
    try:
        row: tuple[Any, ...] | None = driver_connection(conn).execute(sql, params).fetchone()
    except psycopg.Error as exc:
        dbapi_conn = conn.connection.dbapi_connection
        lost = conn.dialect.is_disconnect(exc, dbapi_conn, None)  # type: ignore[arg-type]
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, dict(params), exc, psycopg.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from exc
    return row


def driver_partitions(
    conn: Connection, statement: Select[*tuple[Any, ...]], size: int
) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of a large read, ``size`` at a time: on PostgreSQL psycopg's own tuples (binary
    transfer, no SQLAlchemy ``Row`` or type processing per row: the statement's columns must
    come out as psycopg gives them), elsewhere SQLAlchemy's rows; a failure raises what
    SQLAlchemy would."""
    if conn.dialect.name != "postgresql":
        yield from conn.execute(statement).partitions(size)
        return
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql, params = str(compiled), compiled.params
    try:
        with driver_connection(conn).cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            while part := cursor.fetchmany(size):
                yield part
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error, dialect=conn.dialect) from exc


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# ---------------------------------------------------------------- portable SQL for set-based work
# The few expressions PostgreSQL and SQLite spell differently; everything else is shared SQL.


class json_object(FunctionElement[Any]):  # noqa: N801 - reads as the SQL function it renders
    """A JSON object built in SQL from (key, value) pairs; keys are code constants, rendered
    inline (PostgreSQL cannot type a bound key of ``json_build_object``)."""

    type = JSON()
    inherit_cache = False

    def __init__(self, **pairs: Any) -> None:
        self.keys = tuple(pairs)
        super().__init__(*pairs.values())


@compiles(json_object)
def _json_object(element: json_object, compiler: Any, **kw: Any) -> str:
    name = "json_build_object" if compiler.dialect.name == "postgresql" else "json_object"
    values = [compiler.process(v, **kw) for v in element.clauses]
    pairs = (f"'{k}', {v}" for k, v in zip(element.keys, values, strict=True))
    return f"{name}({', '.join(pairs)})"


class json_value(FunctionElement[Any]):  # noqa: N801
    """A JSON column as a value inside ``json_object`` (SQLite would embed its text as a
    string) or as a JSON literal (PostgreSQL types a text as text)."""

    type = JSON()
    inherit_cache = True


@compiles(json_value)
def _json_value(element: json_value, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"CAST({inner} AS JSON)" if compiler.dialect.name == "postgresql" else f"json({inner})"


class uuid_text(FunctionElement[str]):  # noqa: N801
    """``str(uuid)`` in SQL: SQLite keeps a UUID as 32 hex digits, PostgreSQL as ``uuid``."""

    type = String()
    inherit_cache = True


@compiles(uuid_text)
def _uuid_text(element: uuid_text, compiler: Any, **kw: Any) -> str:
    c = compiler.process(element.clauses, **kw)
    if compiler.dialect.name == "postgresql":
        return f"CAST({c} AS VARCHAR)"
    parts = " || '-' || ".join(
        f"substr({c}, {a}, {n})" for a, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"lower({parts})"
