"""SQLite: the ids of the active and of the pending conversations, each in an index of its own

FTS5 holds no status, so a text's matches are checked against a list's statuses one by one. The
default list (the active conversations, ~6 % of them at 1M) listed its 58k ids first for that,
an ephemeral B-tree built for every statement (~15 ms), or looked each match's row up in the
table (~1.2 µs a match). A partial index of the ids of one status is a small B-tree that stays
in the page cache: a match is checked in ~0.35 µs and nothing is built
(`tidings.search.compile.status_probe`): ranking `espresso`'s 12,804 matches among the active
conversations 18 -> 8 ms. Closed conversations are most of them, which the ranking checks
through their listed ids or the table as before. PostgreSQL, whose documents carry a lexeme of
their state and status (0023), has no need of them.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# Written out as in `tidings.search.compile.STATUS_ID_INDEXES`, which a migration must not import.
STATUS_ID_INDEXES = {"active": "ix_conversations_active_ids", "pending": "ix_conversations_pending_ids"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for status, name in STATUS_ID_INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON conversations (id) WHERE state = 'published' AND status = '{status}'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in STATUS_ID_INDEXES.values():
        op.execute(f"DROP INDEX {name}")
