"""Migration 0029 gives PostgreSQL statistics of the threads' type, action and workflow taken
together, so that it estimates the manual workflow runs the reports count from their sampled
combinations rather than from three selectivities multiplied as if independent (at 1M
conversations 109 of 56,701 estimated, and the workflow list probed per run instead of hashed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from tidings.db.migrate import upgrade
from tidings.demo.generator import generate

NOW = datetime(2026, 11, 22, tzinfo=UTC)
WORKFLOW_RUNS = "type = 'lineitem' AND action_type = 'manual-workflow' AND workflow_id IS NOT NULL"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_0029_estimates_workflow_runs_from_the_kinds_together(engine: Engine) -> None:
    upgrade(engine)
    generate(engine, conversations=2000, seed=3, now=NOW, batch_size=500)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE threads")
        runs = conn.exec_driver_sql(f"SELECT count(*) FROM threads WHERE {WORKFLOW_RUNS}").scalar_one()
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM threads WHERE {WORKFLOW_RUNS}")
        document = plan.scalar_one()
        estimate = (document if isinstance(document, list) else json.loads(document))[0]["Plan"]["Plan Rows"]
    assert runs >= 50
    assert runs / 2 <= estimate <= runs * 2, (estimate, runs)
