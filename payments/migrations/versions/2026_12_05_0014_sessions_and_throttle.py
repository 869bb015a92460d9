"""console sessions kept server-side, and failed-credential counters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:00:00

``console_sessions``: a console cookie carries only a session id; the row says who it is, when it
began (absolute lifetime) and when it was last used (idle timeout); logging out or changing the
password deletes it. ``auth_throttle``: one counter per key (user, client, address) bumped by a
single upsert before each credential check, so that parallel guesses cannot race past the limit.
Both are new tables, so the previous release keeps running while this applies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import payments.db

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_sessions_username"), ["username"], unique=False
        )
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("window_start", payments.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttle")),
    )


def downgrade() -> None:
    op.drop_table("auth_throttle")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_username"))
    op.drop_table("console_sessions")
