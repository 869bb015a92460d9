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
from typing import Any

from sqlalchemy import JSON, Column, Connection, Row, Table
from sqlalchemy.dialects import postgresql

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


def _with_defaults(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with the columns' Python-side defaults filled in (SQLAlchemy applies them only
    to statements it builds itself)."""
    out = dict(row)
    for column in table.columns:
        default = column.default
        if column.key in out or default is None or not hasattr(default, "arg"):
            continue
        arg = default.arg
        out[column.key] = arg(None) if callable(arg) else arg
    return out


class OneTrip:
    """Collects INSERT and UPDATE parts, then sends them with ``run`` as one statement."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.params: dict[str, Any] = {}

    def _bind(self, part: str, column: Column[Any], value: Any) -> str:
        name = f"{part}_{len(self.params)}"
        cast, is_json = _cast(column)
        self.params[name] = json.dumps(value) if is_json else value
        return f"%({name})s{cast}"

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
        keys = dict.fromkeys(key for row in filled for key in row)
        columns = [table.c[key] for key in keys]
        values = [[self._bind(name, c, row.get(c.key)) for c in columns] for row in filled]
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
        self._parts.append(f"{name} AS ({sql})")

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
        sets = ", ".join(self._equals(name, table.c[k], v) for k, v in values.items())
        where = [self._equals(name, table.c[k], v) for k, v in key.items()]
        if when is not None:
            where.append(f"EXISTS (SELECT FROM {when})")
        condition = " AND ".join(where)
        self._parts.append(f"{name} AS (UPDATE {table.name} SET {sets} WHERE {condition})")

    def _equals(self, part: str, column: Column[Any], value: Any) -> str:
        return f"{column.name} = {self._bind(part, column, value)}"

    def run(self, conn: Connection, select: str) -> Row[Any] | None:
        """Send every part, then ``select`` (which may read a part's RETURNING); its first row."""
        sql = f"WITH {', '.join(self._parts)} {select}"
        return conn.exec_driver_sql(sql, self.params).first()
