"""statements carry what the reader noticed: warnings and an unverified account

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 08:50:00

``recon_statements.warnings`` (JSON list of text): a file whose own lines do not add up to its
balances, another bank's layout on the account, a batch that could not be split, … .
``account_unverified`` on a statement and on its lines: the file named no account (an MT940
without ``:25:``, an export without its title block), so it was imported on the account the
officer chose, unchecked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recon_statements") as batch:
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("account_unverified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.add_column(
            sa.Column("account_unverified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # the default only fills the rows already there; new statements say what they noticed
    with op.batch_alter_table("recon_statements") as batch:
        batch.alter_column("warnings", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("recon_statement_lines") as batch:
        batch.drop_column("account_unverified")
    with op.batch_alter_table("recon_statements") as batch:
        batch.drop_column("account_unverified")
        batch.drop_column("warnings")
