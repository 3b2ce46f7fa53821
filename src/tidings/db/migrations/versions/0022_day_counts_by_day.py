"""the counts per day (0020) in day order for a state, whatever the status

A deep page of a list in creation order begins at the day of its first row, found by summing the
days newest first (`tidings.conversations.day_pages`). For one status the key (state, status,
day) gives the days in order; for several, or every status, SQLite grouped and sorted all of the
state's days first (2,924 rows at 1M conversations, ~0.6 ms a page). This index gives them in
day order for any statuses, so the sum stops at the page's day.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversation_day_counts_state_day", "conversation_day_counts", ["state", "day", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_day_counts_state_day", table_name="conversation_day_counts")
