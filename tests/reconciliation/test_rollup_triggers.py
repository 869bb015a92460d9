"""The console rollup's triggers, as installed, against the Python tables that write them.

Migration 0011 installs the triggers ``payments.transactions.rollup`` generates from
``state.COUNTED``, ``TxnState.APPLIED`` and ``clock.VN_TZ``. The database must hold exactly that
SQL: whoever changes one of those rules sees this fail until a migration reinstalls the
triggers. 0008 typed the same rules by hand: its SQL and the module's must say the same.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sqlalchemy import Engine, text

from payments.clock import VN_TZ
from payments.payment_requests.models import RequestStatus
from payments.payment_requests.state import COUNTED, sql_list
from payments.transactions import rollup

VERSIONS = Path(__file__).resolve().parents[2] / "payments" / "migrations" / "versions"


def migration(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def migration_0008() -> ModuleType:
    (path,) = VERSIONS.glob("*_0008_*.py")
    return migration(path)


def rollup_migrations() -> list[ModuleType]:
    """The migrations that (re)installed the triggers from the module, oldest first."""
    found = [migration(p) for p in sorted(VERSIONS.glob("*.py"))]
    return sorted((m for m in found if hasattr(m, "ROLLUP_DIGEST")), key=lambda m: m.revision)


def test_the_newest_rollup_migration_installed_what_the_module_writes() -> None:
    newest = rollup_migrations()[-1]

    assert {d: rollup.digest(d) for d in ("postgresql", "sqlite")} == newest.ROLLUP_DIGEST, (
        "the rollup's rules changed: add a migration that reinstalls the triggers"
        " (rollup.drop_statements + rollup.create_statements) and records the new digest"
    )


def test_the_installed_triggers_are_the_ones_the_python_tables_write(
    migrated_engine: Engine,
) -> None:
    dialect = migrated_engine.dialect.name
    with migrated_engine.connect() as conn:
        if dialect == "postgresql":
            installed = dict(
                conn.execute(
                    text(
                        "SELECT p.proname, p.prosrc FROM pg_proc p"
                        " JOIN pg_namespace n ON n.oid = p.pronamespace"
                        " WHERE n.nspname = current_schema() AND p.proname LIKE 'console\\_%'"
                    )
                ).all()
            )
            assert installed == rollup.function_bodies()
        else:
            installed = dict(
                conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master"
                        " WHERE type = 'trigger' AND name LIKE 'console\\_%' ESCAPE '\\'"
                    )
                ).all()
            )
            expected = {
                name: rollup.sqlite_trigger(name, head, statements)
                for name, head, statements in rollup.sqlite_triggers(rollup.DAY["sqlite"])
            }
            assert installed == expected


def test_the_generated_sql_names_the_counted_statuses_and_the_business_day() -> None:
    sql = " ".join(rollup.create_statements("postgresql") + rollup.create_statements("sqlite"))

    assert f"r.status IN {sql_list(COUNTED)}" in sql
    others = set(RequestStatus) - COUNTED
    assert not any(f"'{status}'" in sql for status in others)
    assert f"AT TIME ZONE '{VN_TZ.key}'" in sql
    assert "'+7 hours'" in sql  # Vietnam keeps UTC+7 all year


def test_0008_typed_what_the_python_tables_say() -> None:
    old = migration_0008()

    def frozen(statement: str) -> str:
        return statement.replace(old.COUNTED, sql_list(COUNTED))

    for dialect in ("postgresql", "sqlite"):
        assert [
            (name, *rest[:-1], [frozen(s) for s in rest[-1]])
            for name, *rest in (
                old.pg_statement_triggers(old.DAY[dialect])
                if dialect == "postgresql"
                else old.sqlite_triggers(old.DAY[dialect])
            )
        ] == [
            (name, *rest)
            for name, *rest in (
                rollup.pg_statement_triggers(rollup.DAY[dialect])
                if dialect == "postgresql"
                else rollup.sqlite_triggers(rollup.DAY[dialect])
            )
        ]
    assert old.DAY == rollup.DAY
