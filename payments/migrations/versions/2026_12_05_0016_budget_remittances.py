"""remitting to the state budget: each fee's budget rule, remittances and what they settled

``fee_items`` gains ``budget`` (JSON, DESIGN §4.3); ``budget_remittances`` records what an agency
paid to the State Treasury (KBNN) and ``budget_allocations`` which obligation (fee and period)
each payment settled, oldest first. Safe while the previous release runs: a nullable column and
new tables only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import payments.db

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("fee_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget", sa.JSON(), nullable=True))
    op.create_table(
        "budget_remittances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("amount", BIGINT, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("order_reference", sa.String(length=64), nullable=False),
        sa.Column("fee_codes", sa.JSON(), nullable=True),
        sa.Column("unallocated", BIGINT, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_budget_remittances_amount_positive")),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_budget_remittances_agency_code_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_remittances")),
        sa.UniqueConstraint(
            "agency_code",
            "order_reference",
            name=op.f("uq_budget_remittances_agency_code_order_reference"),
        ),
    )
    op.create_table(
        "budget_allocations",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("remittance_id", sa.Uuid(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("fee_code", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("amount", BIGINT, nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_budget_allocations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["budget_remittances.id"],
            name=op.f("fk_budget_allocations_remittance_id_budget_remittances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_allocations")),
    )
    op.create_index(
        "ix_budget_allocations_obligation",
        "budget_allocations",
        ["agency_code", "fee_code", "period_start"],
    )


def downgrade() -> None:
    op.drop_index("ix_budget_allocations_obligation", table_name="budget_allocations")
    op.drop_table("budget_allocations")
    op.drop_table("budget_remittances")
    with op.batch_alter_table("fee_items", schema=None) as batch_op:
        batch_op.drop_column("budget")
