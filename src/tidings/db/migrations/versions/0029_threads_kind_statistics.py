"""PostgreSQL: statistics of the threads' kinds taken together, for the workflow runs' estimate

The reports count manual workflow runs from a partial index over `type = 'lineitem' AND
action_type = 'manual-workflow' AND workflow_id IS NOT NULL`. PostgreSQL multiplied the three
conditions' selectivities as if they were independent, which they are not (a workflow id is set
only on a workflow's line item): at 1M conversations it estimated 109 such threads of 56,701,
6 over 30 days of 3,147, and probed the activity rows once per run instead of hashing them (the
workflow list 14.5 ms instead of 5.4). Multivariate MCV statistics over the three columns give
it their combinations as sampled (10,374 estimated; it then hashes). SQLite has no statistics
here and plans by its rules.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

NAME = "threads_kinds"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE STATISTICS {NAME} (mcv) ON type, action_type, workflow_id FROM threads")
    # A sample (at most 30,000 rows at the default target): seconds even at millions of threads.
    op.execute("ANALYZE threads (type, action_type, workflow_id)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP STATISTICS {NAME}")
