"""console rollup: the triggers reinstalled from the Python tables they depend on

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00

0008 typed the counted statuses ('paid', 'overpaid'), the applied state and the business day
(Asia/Ho_Chi_Minh, SQLite's '+7 hours') into its trigger SQL. The same triggers are now written
by ``payments.transactions.rollup`` from ``state.COUNTED``, ``TxnState.APPLIED`` and
``clock.VN_TZ``; this migration drops 0008's and installs those (the sums they keep are the
same, so nothing is backfilled). ``ROLLUP_DIGEST`` records the SQL installed here; a test holds
the module to the newest such record: a change to one of those rules fails it until a migration
like this one reinstalls the triggers.

Safe while the previous release runs: the same names, the same sums; on PostgreSQL the swap is
one transaction holding writers off for milliseconds (a long transaction in the way fails the
migration instead of queueing every payment behind it).
"""

from collections.abc import Sequence

from alembic import op

from payments.transactions import rollup

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ``rollup.digest`` of the SQL this migration was written for: tests/reconciliation/
# test_rollup_triggers.py fails when the module's SQL no longer matches the newest such record,
# until a new migration reinstalls the triggers and records the new digest
ROLLUP_DIGEST = {"postgresql": "8016fb6a6aa8e84a", "sqlite": "bb572f1ba0f7e727"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute(
            "LOCK TABLE payment_requests, payment_lines, payment_transactions"
            " IN SHARE ROW EXCLUSIVE MODE"
        )
        op.execute("SET LOCAL lock_timeout TO DEFAULT")
    for statement in [*rollup.drop_statements(dialect), *rollup.create_statements(dialect)]:
        op.execute(statement)


def downgrade() -> None:
    # the triggers installed above keep the sums 0008's kept, under 0008's names: 0008's
    # downgrade drops them as they are
    pass
