"""deferred indexes: the secondary indexes a bulk load drops and recreates, recorded as it drops them

A fresh load of a million conversations spent most of its time keeping 20-odd secondary indexes
of `conversations`, `threads` and their link tables in order, row by row with keys in random
order; building each index once at the end sorts instead. The statement that recreates an index
is written here in the transaction that drops it, so a load killed half-way leaves a record
that the next start acts on (`tidings.db.deferred_indexes.restore`), never a silently slower
database.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_indexes",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("ddl", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deferred_indexes")
