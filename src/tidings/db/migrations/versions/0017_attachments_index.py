"""conversations with attachments: a partial index in list order for `attachments:true`

`query=attachments:true` had no index to read: its count read every conversation's row (SQLite
at 1M conversations: 572 ms with every status, 75 ms for the active ones). The index holds
only the ~3 % with attachments, keyed like the list's main index (state, status, createdAt, id),
so their count and their page are read from it. The predicate is the query's test as each
dialect writes it (`has_attachments IS 1` on SQLite, `IS true` on PostgreSQL): SQLite uses a
partial index only for a WHERE term written the same way.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PREDICATE = {"sqlite": "has_attachments IS 1", "postgresql": "has_attachments IS true"}


def upgrade() -> None:
    predicate = PREDICATE[op.get_context().dialect.name]
    op.execute(
        "CREATE INDEX ix_conversations_attachments ON conversations (state, status, created_at, id) "
        f"WHERE {predicate}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_conversations_attachments")
