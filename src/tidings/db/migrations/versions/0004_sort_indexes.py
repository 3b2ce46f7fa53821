"""an index led by state for every list sort (every list filters on state)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Columns = list[str | sa.TextClause]

NEW: dict[str, Columns] = {
    "ix_conversations_state_modified": ["state", "modified_at", "id"],
    "ix_conversations_state_created": ["state", "created_at", "id"],
    "ix_conversations_state_mailbox": ["state", "mailbox_id", "id"],
    "ix_conversations_state_status": ["state", "status", "id"],
    "ix_conversations_state_subject": ["state", sa.text("lower(subject)"), "id"],
    "ix_conversations_state_customer_name": ["state", "customer_name_sort", "id"],
    "ix_conversations_state_customer_email": ["state", "customer_email_sort", "id"],
    "ix_conversations_state_waiting": ["state", "customer_waiting_since", "id"],
    "ix_conversations_state_number": ["state", "number", "id"],
}
OLD: dict[str, Columns] = {
    "ix_conversations_modified": ["modified_at", "id"],
    "ix_conversations_subject_lower": [sa.text("lower(subject)"), "id"],
    "ix_conversations_customer_name_sort": ["customer_name_sort", "id"],
    "ix_conversations_customer_email_sort": ["customer_email_sort", "id"],
    "ix_conversations_waiting": ["customer_waiting_since", "id"],
    "ix_conversations_number_id": ["number", "id"],
}


def upgrade() -> None:
    for name, columns in NEW.items():
        op.create_index(name, "conversations", columns)
    for name in OLD:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    for name, columns in OLD.items():
        op.create_index(name, "conversations", columns)
    for name in NEW:
        op.drop_index(name, table_name="conversations")
