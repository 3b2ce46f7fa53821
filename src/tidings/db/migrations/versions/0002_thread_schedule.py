"""scheduled sending of draft replies

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("scheduled_for", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("scheduled_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scheduled_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("unschedule_on_customer_reply", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("unschedule_on_customer_reply")
        batch.drop_column("scheduled_at")
        batch.drop_column("scheduled_by")
        batch.drop_column("scheduled_for")
