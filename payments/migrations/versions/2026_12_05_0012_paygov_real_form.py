"""national platform as real clients speak it: the INIT's ThoiGianGD and the receipt PDF per
attempt, content-addressed receipts, a procedure's national service code (MaDVC)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:00:00

Only additions: nullable columns and a new table, safe while the previous release runs (it
neither reads nor writes them). Attempts started before this release have no stored
``init_time``; the poller falls back to their creation time, which is what that release sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import payments.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "paygov_bills",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_paygov_bills")),
    )
    op.add_column("paygov_attempts", sa.Column("init_time", sa.String(length=14), nullable=True))
    op.add_column("paygov_attempts", sa.Column("bill_sha256", sa.String(length=64), nullable=True))
    op.add_column("procedures", sa.Column("dvc_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("procedures", "dvc_code")
    op.drop_column("paygov_attempts", "bill_sha256")
    op.drop_column("paygov_attempts", "init_time")
    op.drop_table("paygov_bills")
