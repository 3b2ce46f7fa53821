"""First start: the owner and an app with exactly the configured credentials."""

from __future__ import annotations

from sqlalchemy import func, select

from tidings.auth.service import bootstrap
from tidings.db.tables import apps, users
from tidings.kit.config import Settings
from tidings.kit.db import Database


def test_bootstrap_creates_owner_once(db_url: str) -> None:
    settings = Settings(
        database_url=db_url,
        bootstrap_app_id="boot-id",
        bootstrap_app_secret="boot-secret",
        bootstrap_email="boss@example.com",
    )
    db = Database(db_url)
    try:
        assert db.write_sync(bootstrap, settings) is True
        assert db.write_sync(bootstrap, settings) is False
        with db.engine.connect() as conn:
            owner = conn.execute(select(users)).mappings().one()
            app = conn.execute(select(apps)).mappings().one()
        assert (owner["email"], owner["role"]) == ("boss@example.com", "owner")
        assert app["client_id"] == "boot-id" and app["user_id"] == owner["id"]
    finally:
        db.dispose()


def test_no_bootstrap_without_credentials(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert db.write_sync(bootstrap, Settings(database_url=db_url)) is False
        with db.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0
    finally:
        db.dispose()
