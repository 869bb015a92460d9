"""catalog state: a token that changes with every write to a catalog table

Web workers cache procedures, fees, accounts and reduction policies per process and compare the
token (read in a statement they send anyway) before using the cache. Triggers rather than the
import service change it, so that no write path (an admin's edit, a hand-run UPDATE) can leave a
stale cache behind. Safe while the previous release runs: it only adds a table and triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOG_TABLES = (
    "agencies",
    "beneficiary_accounts",
    "procedures",
    "fee_items",
    "reduction_policies",
)

PG_FUNCTION = """
CREATE FUNCTION catalog_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_state (id, token) VALUES (1, gen_random_uuid()::text)
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "catalog_state",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
    )
    # a random token, never a counter: a database rebuilt from scratch must not reuse a token
    # that a running process has cached under
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in CATALOG_TABLES:
            op.execute(
                f"CREATE TRIGGER catalog_touched AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_touched()"
            )
        op.execute("INSERT INTO catalog_state (id, token) VALUES (1, gen_random_uuid()::text)")
        return
    for table in CATALOG_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            # table names and events are the constants above
            op.execute(
                f"CREATE TRIGGER catalog_touched_{table}_{event.lower()} AFTER {event} "  # noqa: S608
                f"ON {table} BEGIN INSERT OR REPLACE INTO catalog_state (id, token) "
                "VALUES (1, lower(hex(randomblob(16)))); END"
            )
    op.execute("INSERT INTO catalog_state (id, token) VALUES (1, lower(hex(randomblob(16))))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CATALOG_TABLES:
            op.execute(f"DROP TRIGGER catalog_touched ON {table}")
        op.execute("DROP FUNCTION catalog_touched()")
    else:
        for table in CATALOG_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER catalog_touched_{table}_{event}")
    op.drop_table("catalog_state")
