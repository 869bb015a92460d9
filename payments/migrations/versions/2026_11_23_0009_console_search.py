"""console search: trigram indexes for the request and receipt searches; paid-online look-ups

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 13:30:00

The console finds requests and receipts by any part of a dossier code, reference or payer name
(ILIKE '%…%'): without an index that reads every row of the agency. On PostgreSQL a GIN index of
pg_trgm trigrams answers it from a few pages; the extension comes with PostgreSQL (contrib) and is
"trusted" (a database owner may create it). Where it cannot be created the migration goes on
without these indexes: searches give the same answers, slower. SQLite has neither, and keeps its
scans. The models declare the two indexes for PostgreSQL only (``ddl_if``).

pg_trgm goes to the schema that already holds it, else ``public``: never into a schema that a test
run or a tenant may drop (``DROP SCHEMA … CASCADE`` would take every trigram index with it).

Both backends get a partial index of the applied national-portal payments, which the dashboard's
"paid online" ratio looks up once per request of the month.

On a database with data (a year of a province: about 4 s per trigram index) the indexes are built
CONCURRENTLY, outside the migration's transaction, so that payments go on meanwhile; CONCURRENTLY
waits for every older transaction of the database, so a new or small one builds them at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYGOV_APPLIED = sa.text("provider = 'paygov' AND state = 'applied'")
SEARCHED = {
    "ix_payment_requests_search": ("payment_requests", ("dossier_code", "reference", "payer_name")),
    "ix_receipts_search": ("receipts", ("dossier_code", "payer_name", "payment_reference")),
}
log = structlog.get_logger(__name__)
TRGM_SCHEMA = sa.text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
    " WHERE e.extname = 'pg_trgm'"
)


def trigram_schema() -> str | None:
    """The schema holding pg_trgm, created if need be; None when it cannot be had."""
    conn = op.get_bind()
    # two databases' worth of migrations at once (parallel test runs): one creates, one waits
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('thuphi:pg_trgm'))"))
    schema = conn.execute(TRGM_SCHEMA).scalar()
    if schema is not None:
        return str(schema)
    target = conn.execute(
        sa.text("SELECT coalesce(to_regnamespace('public')::text, current_schema())")
    ).scalar()
    try:
        with conn.begin_nested():
            conn.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{target}"'))
    except DBAPIError as exc:  # not installed, or not allowed: searches stay correct, and slow
        log.warning(
            "pg_trgm_unavailable", consequence="console searches unindexed", error=str(exc.orig)
        )
        return None
    schema = conn.execute(TRGM_SCHEMA).scalar()
    return None if schema is None else str(schema)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(
            "ix_payment_transactions_paygov_applied",
            "payment_transactions",
            ["payment_request_id"],
            sqlite_where=PAYGOV_APPLIED,
        )
        return
    schema = trigram_schema()
    indexes = [
        "ix_payment_transactions_paygov_applied ON payment_transactions (payment_request_id)"
        " WHERE provider = 'paygov' AND state = 'applied'"
    ]
    if schema is not None:
        for name, (table, columns) in SEARCHED.items():
            ops = ", ".join(f'{c} "{schema}".gin_trgm_ops' for c in columns)
            # fastupdate off: with it, inserts queue in a pending list that the insert which
            # overflows it merges into the index, a stall of hundreds of ms for that one
            # payment (p99 of creation 105 -> 260 ms at 8 connections); without it each insert
            # pays its own few trigram entries
            indexes.append(f"{name} ON {table} USING gin ({ops}) WITH (fastupdate = off)")
    if not any(large(table) for table in ("payment_requests", "payment_transactions", "receipts")):
        for index in indexes:  # a new or small database: at once, inside the transaction
            op.execute(f"CREATE INDEX {index}")
        return
    # a year of a province takes seconds per index: built beside the writers, not in front of
    # them (a build that fails leaves an INVALID index: drop it and upgrade again)
    with op.get_context().autocommit_block():
        for index in indexes:
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index}")


def large(table: str) -> bool:
    """More rows than an index builds in well under a second (the planner's estimate)."""
    rows = op.get_bind().execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    )
    return float(rows.scalar() or 0) > 50_000


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS {name}")  # the extension stays: others may use it
    op.drop_index("ix_payment_transactions_paygov_applied", table_name="payment_transactions")
