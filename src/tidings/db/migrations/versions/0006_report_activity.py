"""report activity: the days each conversation was active, so the report bucket is a range read

The report bucket (conversations created in the interval or with a thread created in it) was
computed from `threads` on every request, several times per report: 0.2–0.5 s per number at 1M
conversations, 5 s for the overall report. `conversation_activity` holds one row per
conversation per UTC day it was created or had a thread created (first and last instant that
day, last instant before it) and a copy of the conversation columns reports filter, count and
sort by, kept by triggers on `conversations`; `tidings.reports.activity` documents how it is
kept and read. The backfill is one grouped INSERT … SELECT (about 20 s at 1M conversations and
4.5M threads on SQLite, the thread indexes included).

Also partial indexes for the thread-based numbers, so each reads only its own threads in time
order instead of every thread of the interval: saved-reply replies sent, manual workflow runs,
and published customer/chat/phone threads (received messages). The queries repeat the index
predicates literally (`tidings.reports.queries`), which is what lets SQLite use them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.reports.activity import POSTGRES_TRIGGERS, REBUILD_ALL, SQLITE_TRIGGERS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The bucket's range read: the crossing test first, then everything a report filters, counts or
# sorts by, so that the read never leaves the index.
ACTIVITY_INDEX = (
    "CREATE INDEX ix_conversation_activity_day ON conversation_activity (day, previous_at, last_at, "
    "first_at, conversation_id, state, status, mailbox_id, folder_id, type, customer_id, created_at, "
    "modified_at)"
)

THREAD_INDEXES = {
    "ix_threads_reply_sent": "(created_at, saved_reply_id, conversation_id) WHERE type = 'message' "
    "AND state = 'published' AND saved_reply_id IS NOT NULL",
    "ix_threads_workflow_run": "(created_at, workflow_id, conversation_id) WHERE type = 'lineitem' "
    "AND action_type = 'manual-workflow' AND workflow_id IS NOT NULL",
    "ix_threads_received": "(created_at, conversation_id) WHERE type IN ('customer', 'chat', 'phone') "
    "AND state = 'published'",
}


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    op.create_table(
        "conversation_activity",
        sa.Column(
            "conversation_id",
            sa.Integer,
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Integer, primary_key=True),
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
    op.execute(REBUILD_ALL)
    op.execute(ACTIVITY_INDEX)
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)
    for name, definition in THREAD_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON threads {definition}")
    if dialect == "postgresql":
        op.execute("ANALYZE conversation_activity")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS conversation_activity_copy")
    else:
        op.execute("DROP TRIGGER IF EXISTS conversation_activity_copy ON conversations")
        op.execute("DROP FUNCTION IF EXISTS conversation_activity_copy()")
    for name in THREAD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS ix_conversation_activity_day")
    op.drop_table("conversation_activity")
