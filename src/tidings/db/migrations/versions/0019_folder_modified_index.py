"""conversations by folder and last modification: a folder's `updatedAt` in one index seek

`GET /v2/mailboxes/{id}/folders` counted each folder's conversations and took the latest
modification among them with one grouped query over the mailbox's conversations: at 1M
conversations 343-358 ms for the largest mailbox (223k conversations) on SQLite. The counts
now come from the trigger-kept `conversation_folder_counts`; the latest modification of a
folder's conversations in each state is the last entry of this index's range.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_folder_state_modified", "conversations", ["folder_id", "state", "modified_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_folder_state_modified", table_name="conversations")
