"""The migrated schema is the models' schema, on both backends.

Whoever adds or changes a model must add the migration that makes it so, and register the model
in ``payments.models_all`` (the metadata Alembic compares); these tests notice when they do not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from payments.migrate import current_is_head, head_revisions, objects_for
from payments.models_all import metadata

# run in a fresh interpreter: importing a model module here would add its tables to the shared
# metadata of this test session (and to every fixture that truncates "all" tables)
TABLES_SCRIPT = """
import importlib, json, pkgutil, sys
import payments.models_all as registry
if sys.argv[1] == "everything":
    for package in ("payments", "providers", "receipts", "reconciliation"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            parts = info.name.split(".")
            if "models" in parts[1:]:
                importlib.import_module(info.name)
print(json.dumps(sorted(registry.metadata.tables)))
"""


def tables_when_importing(which: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", TABLES_SCRIPT, which],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout))


def describe(difference: Any) -> str:
    """``add_table recon_runs`` rather than a page of reprs."""
    if isinstance(difference, list):  # column modifications come grouped
        return "; ".join(describe(d) for d in difference)
    op, *args = difference
    return " ".join([op, *(str(getattr(a, "name", a)) for a in args if a is not None)])


def test_the_migrated_database_matches_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": objects_for(conn.dialect.name),
            },
        )
        differences = [describe(d) for d in compare_metadata(context, metadata)]
    assert differences == []


def test_the_migrated_database_is_at_head(migrated_engine: Engine) -> None:
    assert head_revisions()
    assert current_is_head(migrated_engine) is True


def test_every_model_module_is_registered_where_alembic_looks() -> None:
    registered = tables_when_importing("models_all")
    assert {"agencies", "payment_requests", "outbox_events", "outbox_deliveries"} <= registered
    unregistered = sorted(tables_when_importing("everything") - registered)
    assert unregistered == [], "models not imported by payments.models_all (so never migrated)"
