"""fee tiers and caps, declared payer categories, several categories per payer; 01/TH-BLĐT
sendings (first and supplements, late, signed); 04/SS-CTĐT notices' tax-authority status;
a replacement's money consequence

``fee_items`` gains ``tiers`` (JSON, DESIGN §4.3) and ``cap``; ``payer_categories`` lists the
codes policies and payers may use (catalog ``payer_categories``), watched by the catalog-state
triggers of 0007 so that cached quotes see a change; ``payment_requests`` keeps every category a
payer claimed. Safe while the previous release runs: nullable columns and a new table only.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import payments.db

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("fee_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tiers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("cap", BIGINT, nullable=True))
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payer_categories", sa.JSON(), nullable=True))
    # 01/TH-BLĐT: a first sending and supplements per day and series, late catch-ups, signed
    with op.batch_alter_table("receipt_summaries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sequence", BIGINT, nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("signed_xml", sa.LargeBinary(), nullable=True))
        batch_op.drop_constraint(
            "uq_receipt_summaries_agency_code_template_series_day", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_receipt_summaries_agency_code_template_series_day_sequence",
            ["agency_code", "template", "series", "day", "sequence"],
        )
    with op.batch_alter_table("receipt_summaries", schema=None) as batch_op:
        # the defaults only filled the rows already there; the models set every value
        batch_op.alter_column("sequence", server_default=None)
        batch_op.alter_column("late", server_default=None)
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("money_consequence", sa.JSON(), nullable=True))
    # 04/SS-CTĐT notices go to the tax authority through the outbox, their answer kept
    with op.batch_alter_table("receipt_error_notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tax_authority_status",
                sa.String(length=16),
                nullable=False,
                server_default="pending",
            )
        )
        batch_op.add_column(sa.Column("tax_authority_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("tax_accepted_at", payments.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("receipt_error_notices", schema=None) as batch_op:
        batch_op.alter_column("tax_authority_status", server_default=None)
    op.create_table(
        "payer_categories",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_payer_categories")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # the function catalog_touched() of 0007
        op.execute(
            "CREATE TRIGGER catalog_touched AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON payer_categories FOR EACH STATEMENT EXECUTE FUNCTION catalog_touched()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER catalog_touched_payer_categories_{event.lower()} AFTER {event} "  # noqa: S608
            "ON payer_categories BEGIN INSERT OR REPLACE INTO catalog_state (id, token) "
            "VALUES (1, lower(hex(randomblob(16)))); END"
        )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite ≥ 3.35 has it): a batch copy of a table other tables refer to
    # would fail on their foreign keys once it holds rows
    op.drop_table("payer_categories")  # its triggers go with it
    op.drop_column("receipts", "money_consequence")
    op.drop_column("receipt_error_notices", "tax_accepted_at")
    op.drop_column("receipt_error_notices", "tax_authority_id")
    op.drop_column("receipt_error_notices", "tax_authority_status")
    op.execute("DELETE FROM receipt_summaries WHERE sequence > 0")
    with op.batch_alter_table("receipt_summaries", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_receipt_summaries_agency_code_template_series_day_sequence", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_receipt_summaries_agency_code_template_series_day",
            ["agency_code", "template", "series", "day"],
        )
        batch_op.drop_column("signed_xml")
        batch_op.drop_column("late")
        batch_op.drop_column("sequence")
    op.drop_column("payment_requests", "payer_categories")
    op.drop_column("fee_items", "cap")
    op.drop_column("fee_items", "tiers")
