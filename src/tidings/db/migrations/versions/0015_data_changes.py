"""PostgreSQL: a log of the transactions that changed data, for the stamp of kept answers

Kept answers (kit/reuse.py) were checked against `pg_current_snapshot()`, which every finished
write moves, the rate limit's count included: at the default limit nothing was ever sent again,
and far from it a report's kept answer was lost every ~100 requests (p99 ~600 ms instead of
~20). A statement trigger on every data table notes the writing transaction in `data_changes`
(`tidings.db.change_log`); the stamp counts those rows. The tables exist on SQLite too, one
schema for both, but only PostgreSQL writes them.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.db.change_log import FUNCTION, TRIGGER, data_tables, trigger_on

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_changes",
        sa.Column("txid", sa.BigInteger, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("txid", name=op.f("pk_data_changes")),
    )
    epochs = op.create_table(
        "data_change_epochs",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_change_epochs")),
    )
    op.bulk_insert(epochs, [{"id": 1, "epoch": 0}])
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in data_tables(op.get_bind()):
        op.execute(trigger_on(table))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in data_tables(op.get_bind()):
            op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS note_data_change()")
    op.drop_table("data_change_epochs")
    op.drop_table("data_changes")
