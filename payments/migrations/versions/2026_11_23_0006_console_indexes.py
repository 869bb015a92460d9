"""console indexes: reduced fee lines, receipts not accepted, open requests, requests per agency

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 11:35:00.000000

Partial indexes (PostgreSQL and SQLite both have them) hold only the rows the officer console
counts: a small fraction of each table, so the dashboard reads a few pages instead of a year.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDUCED = sa.text("reduction_policy_id IS NOT NULL")
NOT_ACCEPTED = sa.text("tax_authority_status <> 'accepted'")
OPEN = sa.text("status IN ('pending', 'partially_paid')")


def upgrade() -> None:
    op.create_index(
        "ix_payment_lines_reduced",
        "payment_lines",
        ["payment_request_id"],
        postgresql_where=REDUCED,
        sqlite_where=REDUCED,
    )
    op.create_index(
        "ix_receipts_tax_not_accepted",
        "receipts",
        ["agency_code"],
        postgresql_where=NOT_ACCEPTED,
        sqlite_where=NOT_ACCEPTED,
    )
    op.create_index(
        "ix_payment_requests_open",
        "payment_requests",
        ["agency_code"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index(
        "ix_payment_requests_agency_created", "payment_requests", ["agency_code", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_payment_requests_agency_created", table_name="payment_requests")
    op.drop_index("ix_payment_requests_open", table_name="payment_requests")
    op.drop_index("ix_receipts_tax_not_accepted", table_name="receipts")
    op.drop_index("ix_payment_lines_reduced", table_name="payment_lines")
