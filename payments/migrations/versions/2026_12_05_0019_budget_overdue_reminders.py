"""overdue reminders of obligations to the state budget

``budget_overdue_reminders`` records each reminder the scheduler's daily run sent: one per agency,
fee, period and day (the unique key makes the run idempotent). Safe while the previous release
runs: a new table only.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import payments.db

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "budget_overdue_reminders",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("fee_code", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", BIGINT, nullable=False),
        sa.Column("created_at", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_budget_overdue_reminders_agency_code_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_overdue_reminders")),
        sa.UniqueConstraint(
            "agency_code",
            "fee_code",
            "period",
            "day",
            name=op.f("uq_budget_overdue_reminders_agency_code_fee_code_period_day"),
        ),
    )


def downgrade() -> None:
    op.drop_table("budget_overdue_reminders")
