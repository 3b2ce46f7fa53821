"""Alembic environment: runs on the connection that `tidings.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from tidings.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when invoked through the alembic CLI
    from tidings.kit.db import create_db_engine

    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///tidings.db")
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
