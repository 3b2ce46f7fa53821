"""tag activity: the report bucket's rows once per tag, so a tag's share is a range read

The fields-drilldown by tag read the whole report bucket and probed `conversation_tags` for each
of its conversations: at 1M conversations, 52,733 probes for a 30-day interval, ~30 ms of SQL
(p99 435 ms on SQLite and 613 ms on PostgreSQL under 16 connections). `conversation_tag_activity`
holds each `conversation_activity` row again for each tag of its conversation, indexed from the
tag like the activity index from the day, kept by triggers on both tables
(`tidings.reports.activity`). The backfill is one INSERT … SELECT of the join.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.reports.activity import POSTGRES_TAG_TRIGGERS, REBUILD_TAGS, SQLITE_TAG_TRIGGERS, TAG_TRIGGERS

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TAG_ACTIVITY_INDEX = (
    "CREATE INDEX ix_conversation_tag_activity_tag ON conversation_tag_activity (tag_id, day, previous_at, "
    "last_at, first_at, conversation_id, state, status, mailbox_id, folder_id, type, customer_id, "
    "created_at, modified_at)"
)


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    op.create_table(
        "conversation_tag_activity",
        sa.Column("conversation_id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("tag_id", sa.Integer, primary_key=True),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.BigInteger, nullable=False),
        sa.Column("previous_at", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("mailbox_id", sa.Integer, nullable=False),
        sa.Column("folder_id", sa.Integer, nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("customer_id", sa.Integer),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("modified_at", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    op.execute(REBUILD_TAGS)
    op.execute(TAG_ACTIVITY_INDEX)
    for statement in SQLITE_TAG_TRIGGERS if dialect == "sqlite" else POSTGRES_TAG_TRIGGERS:
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("ANALYZE conversation_tag_activity")


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    for name, table in TAG_TRIGGERS:
        op.execute(
            f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgres else f"DROP TRIGGER IF EXISTS {name}"
        )
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP INDEX IF EXISTS ix_conversation_tag_activity_tag")
    op.drop_table("conversation_tag_activity")
