"""an index for `modifiedSince` within a status: (state, status, modified_at, id)

An integration syncing with `modifiedSince` counted its matches through (state, modified_at),
reading each matching conversation's row for its status: 425 ms for the active conversations
modified since January at 1M conversations (36k of 537k). With the status in the index the count
reads only the matching entries (2 ms).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_state_status_modified", "conversations", ["state", "status", "modified_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_state_status_modified", table_name="conversations")
