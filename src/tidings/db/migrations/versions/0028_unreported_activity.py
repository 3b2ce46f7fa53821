"""the activity rows of conversations no report counts (drafts, deleted, spam), in day order

The saved-reply and workflow lists of an unfiltered report counted threads whose conversation
is published and not spam by looking each thread's conversation up (1M conversations, saved
replies over 30 days: 13.5k lookups, ~55 of PostgreSQL's ~65 ms; a year 154k). A thread made in
an interval has its conversation's activity row for that day, which carries the conversation's
state and status; the few rows of the conversations that do not count (~6 % at 1M) are now
indexed by day, so the report leaves out the threads of those conversations instead
(`tidings.reports.queries.thread_counts`). The predicate is written as the query writes it,
so that SQLite uses the index.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

NAME = "ix_conversation_activity_unreported"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX {NAME} ON conversation_activity (day, conversation_id, state, status) "
        "WHERE state != 'published' OR status = 'spam'"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {NAME}")
