"""request search off the paid row: the searched columns in a table of their own, kept by triggers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:30:00

A payment updates its request (amount, status), and a status is indexed, so the update is never
a HOT update: PostgreSQL writes the new row version into every index of ``payment_requests``,
the trigram GIN of 0009 among them, some thirty trigram entries per payment for columns that
never change (dossier code, reference, payer name). That was about a third of PostgreSQL's time
per bank notification. ``payment_request_search`` holds those three columns, written once when the
request is created, and carries the trigram index instead; the console searches it.

Triggers fill it from every write path (the API, bulk inserts, COPY, a hand-run INSERT): on
PostgreSQL a statement trigger with a transition table (a bulk insert is one INSERT … SELECT),
on SQLite a row trigger. An update that sets one of the three columns copies them over; a
deleted request's row goes with it. No foreign key: its check would lock the new request's row
on every creation, a write of its own, for a table nothing else writes.

``ix_payment_requests_agency_code`` goes too: ``ix_payment_requests_agency_created`` starts
with the same column and serves every look-up it served, one index fewer to write per payment.

On PostgreSQL writers wait while the triggers are created and the table filled (a year of a
province: a few seconds); a large database gets the new trigram index built CONCURRENTLY after
that, searches reading the new table unindexed meanwhile (the same answers, slower). Without
pg_trgm (0009 then made no trigram index) the new table gets none either.
"""

# ruff: noqa: S608 - every statement here is built from this file's constants, nothing else

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("dossier_code", "reference", "payer_name")
OLD_INDEX = "ix_payment_requests_search"
NEW_INDEX = "ix_payment_request_search_text"
FILL = (
    f"INSERT INTO payment_request_search (id, {', '.join(COLUMNS)})"
    f" SELECT id, {', '.join(COLUMNS)} FROM {{}}"
)
DROP = "DELETE FROM payment_request_search WHERE id IN ({})"
COPY_OVER = (
    "UPDATE payment_request_search SET "
    + ", ".join(f"{c} = NEW.{c}" for c in COLUMNS)
    + " WHERE id = NEW.id"
)
UPDATE_OF = ", ".join(COLUMNS)
TRIGGERS = [f"payment_request_search_{event}" for event in ("insert", "update", "delete")]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # a long transaction in the way fails the migration instead of queueing writers behind it
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("LOCK TABLE payment_requests IN SHARE ROW EXCLUSIVE MODE")
        op.execute("SET LOCAL lock_timeout TO DEFAULT")
    op.create_table(
        "payment_request_search",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=19), nullable=False),
        sa.Column("payer_name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_request_search")),
    )
    op.drop_index("ix_payment_requests_agency_code", table_name="payment_requests")
    if conn.dialect.name != "postgresql":
        op.execute(
            "CREATE TRIGGER payment_request_search_insert AFTER INSERT ON payment_requests BEGIN\n"
            + FILL.format(
                "(SELECT NEW.id AS id, " + ", ".join(f"NEW.{c} AS {c}" for c in COLUMNS) + ")"
            )
            + ";\nEND"
        )
        op.execute(
            f"CREATE TRIGGER payment_request_search_update AFTER UPDATE OF {UPDATE_OF}"
            f" ON payment_requests BEGIN\n{COPY_OVER};\nEND"
        )
        op.execute(
            "CREATE TRIGGER payment_request_search_delete AFTER DELETE ON payment_requests"
            f" BEGIN\n{DROP.format('OLD.id')};\nEND"
        )
        op.execute(FILL.format("payment_requests"))
        return
    op.execute(function("payment_request_search_insert", FILL.format("new_rows"), "NULL"))
    op.execute(
        "CREATE TRIGGER payment_request_search_insert AFTER INSERT ON payment_requests"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION payment_request_search_insert()"
    )
    # a transition table cannot go with a column list: a row trigger, which a payment's update
    # (it sets none of these columns) never fires
    op.execute(function("payment_request_search_update", COPY_OVER, "NULL"))
    op.execute(
        f"CREATE TRIGGER payment_request_search_update AFTER UPDATE OF {UPDATE_OF}"
        " ON payment_requests FOR EACH ROW EXECUTE FUNCTION payment_request_search_update()"
    )
    op.execute(
        function("payment_request_search_delete", DROP.format("SELECT id FROM old_rows"), "NULL")
    )
    op.execute(
        "CREATE TRIGGER payment_request_search_delete AFTER DELETE ON payment_requests"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION payment_request_search_delete()"
    )
    op.execute(FILL.format("payment_requests"))
    old = conn.execute(sa.text("SELECT to_regclass(:i)"), {"i": OLD_INDEX}).scalar()
    if old is None:  # no pg_trgm here (0009): searches stay unindexed
        return
    ops = conn.execute(
        sa.text(
            "SELECT opc.opcname, n.nspname FROM pg_index i JOIN pg_opclass opc"
            " ON opc.oid = i.indclass[0] JOIN pg_namespace n ON n.oid = opc.opcnamespace"
            " WHERE i.indexrelid = to_regclass(:i)"
        ),
        {"i": OLD_INDEX},
    ).one()
    opclass = f'"{ops.nspname}".{ops.opcname}'  # gin_trgm_ops where 0009 found pg_trgm
    columns = ", ".join(f"{c} {opclass}" for c in COLUMNS)
    index = f"{NEW_INDEX} ON payment_request_search USING gin ({columns}) WITH (fastupdate = off)"
    rows = conn.execute(sa.text("SELECT count(*) FROM payment_request_search")).scalar()
    if (rows or 0) <= 50_000:  # new or small: at once, inside the transaction
        op.execute(f"CREATE INDEX {index}")
        op.execute(f"DROP INDEX {OLD_INDEX}")
        return
    with op.get_context().autocommit_block():
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index}")
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")


def function(name: str, statement: str, returns: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{statement};\n"
        f"RETURN {returns};\nEND\n$$"
    )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        schema = conn.execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar()
        if (
            schema is not None
            and conn.execute(sa.text("SELECT to_regclass(:i)"), {"i": NEW_INDEX}).scalar()
        ):
            columns = ", ".join(f'{c} "{schema}".gin_trgm_ops' for c in COLUMNS)
            op.execute(
                f"CREATE INDEX {OLD_INDEX} ON payment_requests USING gin ({columns})"
                " WITH (fastupdate = off)"
            )
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON payment_requests")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.create_index(
        "ix_payment_requests_agency_code", "payment_requests", ["agency_code"], unique=False
    )
    op.drop_table("payment_request_search")
