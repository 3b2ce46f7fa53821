"""replies by user: a partial index for `replyUserIds:`

`query=replyUserIds:N` finds the conversations user N replied to from their message threads,
which had no index by author: every request read all the threads (5M at 1M conversations,
0.9 s a statement on SQLite, two statements a page). The index holds only users' messages,
by author, with their conversation. The query writes the predicate's values into its SQL
(`tidings.search.compile._Compiler._reply_user_id`), so that SQLite reads the conversation ids
from the index alone instead of testing each thread's row again.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_threads_reply_user ON threads (created_by_id, conversation_id) "
        "WHERE type = 'message' AND created_by_type = 'user'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_threads_reply_user")
