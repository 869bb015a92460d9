"""Several writes in one PostgreSQL statement: data-modifying ``WITH`` queries.

The hot paths (a create, a payment callback) write three to five rows. Sent one statement at a
time, each costs more CPU in SQLAlchemy and the driver than in PostgreSQL; sent as the parts of
one ``WITH … SELECT`` they cost one. PostgreSQL runs every part exactly once, on one snapshot,
and checks foreign keys at the end of the statement, so the parts may come in any order. A part
may run only ``when`` another part returned a row (``EXISTS (SELECT FROM name)``).

Every value is a bound parameter cast to its column's type; table and column names come from the
SQLAlchemy metadata. PostgreSQL only: SQLite has no data-modifying ``WITH``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table
from sqlalchemy.dialects import postgresql

from payments.db import driver_first

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_CASTS: dict[Column[Any], tuple[str, bool]] = {}


def _cast(column: Column[Any]) -> tuple[str, bool]:
    """The cast a placeholder of ``column`` takes, and whether its values go in as JSON text."""
    found = _CASTS.get(column)
    if found is None:
        found = _CASTS[column] = (
            "::" + column.type.compile(dialect=_DIALECT),
            isinstance(column.type, JSON),
        )
    return found


@lru_cache(maxsize=64)
def _defaults(table: Table) -> tuple[tuple[str, Any], ...]:
    """(column key, the default's ``arg``) of every column with a Python-side default."""
    return tuple(
        (column.key, column.default.arg)
        for column in table.columns
        if column.default is not None and hasattr(column.default, "arg")
    )


def _with_defaults(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with the columns' Python-side defaults filled in (SQLAlchemy applies them only
    to statements it builds itself)."""
    out = dict(row)
    for key, arg in _defaults(table):
        if key not in out:
            out[key] = arg(None) if callable(arg) else arg
    return out


@lru_cache(maxsize=256)
def _json_columns(table: Table, keys: tuple[str, ...]) -> tuple[bool, ...]:
    """Whether each of ``keys`` goes in as JSON text (per shape, as the SQL)."""
    return tuple(_cast(table.c[key])[1] for key in keys)


def _placeholder(name: str, column: Column[Any]) -> str:
    return f"%({name})s{_cast(column)[0]}"


@lru_cache(maxsize=256)
def _insert_sql(
    name: str,
    table: Table,
    keys: tuple[str, ...],
    rows: int,
    when: str | None,
    unless_conflict: tuple[str, ...],
    returning: str | None,
) -> str:
    """The part ``name AS (INSERT …)`` for ``rows`` rows of ``keys``; the value of row r,
    column c is the parameter ``{name}_{r}_{c}``. Built once per shape: a hot path sends the
    same shapes again and again."""
    columns = [table.c[key] for key in keys]
    values = [
        [_placeholder(f"{name}_{r}_{c}", column) for c, column in enumerate(columns)]
        for r in range(rows)
    ]
    names = ", ".join(c.name for c in columns)
    if when is None:
        source = "VALUES " + ", ".join(f"({', '.join(v)})" for v in values)
    else:
        selects = [f"SELECT {', '.join(v)} WHERE EXISTS (SELECT FROM {when})" for v in values]
        source = " UNION ALL ".join(selects)
    sql = f"INSERT INTO {table.name} ({names}) {source}"
    if unless_conflict:
        sql += f" ON CONFLICT ({', '.join(unless_conflict)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    return f"{name} AS ({sql})"


@lru_cache(maxsize=256)
def _update_sql(
    name: str, table: Table, keys: tuple[str, ...], sets: tuple[str, ...], when: str | None
) -> str:
    """The part ``name AS (UPDATE …)``: column ``sets[i]`` takes the parameter ``{name}_s{i}``,
    the row is the one whose ``keys[i]`` equals ``{name}_k{i}``."""
    assignments = ", ".join(
        f"{table.c[k].name} = {_placeholder(f'{name}_s{i}', table.c[k])}"
        for i, k in enumerate(sets)
    )
    where = [
        f"{table.c[k].name} = {_placeholder(f'{name}_k{i}', table.c[k])}"
        for i, k in enumerate(keys)
    ]
    if when is not None:
        where.append(f"EXISTS (SELECT FROM {when})")
    return f"{name} AS (UPDATE {table.name} SET {assignments} WHERE {' AND '.join(where)})"


class OneTrip:
    """Collects INSERT and UPDATE parts, then sends them with ``run`` as one statement."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.params: dict[str, Any] = {}

    def _bind(self, name: str, column: Column[Any], value: Any) -> None:
        self.params[name] = json.dumps(value) if _cast(column)[1] else value

    def insert(
        self,
        name: str,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        when: str | None = None,
        unless_conflict: Sequence[str] = (),
        returning: str | None = None,
    ) -> None:
        """INSERT ``rows`` (each with the same keys) into ``table``; ``unless_conflict`` names
        the columns of a unique constraint whose conflict inserts nothing."""
        filled = [_with_defaults(table, row) for row in rows]
        keys = tuple(dict.fromkeys(key for row in filled for key in row))
        self._parts.append(
            _insert_sql(name, table, keys, len(filled), when, tuple(unless_conflict), returning)
        )
        as_json = _json_columns(table, keys)
        params = self.params
        for r, row in enumerate(filled):  # the hot paths' values, bound without a call each
            for c, key in enumerate(keys):
                value = row.get(key)
                params[f"{name}_{r}_{c}"] = json.dumps(value) if as_json[c] else value

    def update(
        self,
        name: str,
        table: Table,
        key: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        when: str | None = None,
    ) -> None:
        """UPDATE the row of ``table`` whose columns equal ``key``."""
        self._parts.append(_update_sql(name, table, tuple(key), tuple(values), when))
        for i, (k, v) in enumerate(values.items()):
            self._bind(f"{name}_s{i}", table.c[k], v)
        for i, (k, v) in enumerate(key.items()):
            self._bind(f"{name}_k{i}", table.c[k], v)

    def run(self, conn: Connection, select: str) -> tuple[Any, ...] | None:
        """Send every part, then ``select`` (which may read a part's RETURNING); its first row.
        Through the driver itself: SQLAlchemy's execution of it cost more than the statement."""
        sql = f"WITH {', '.join(self._parts)} {select}"
        return driver_first(conn, sql, self.params)
