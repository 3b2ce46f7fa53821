"""Token issuing and first-start bootstrap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from tidings.auth import repository
from tidings.auth.secrets import verify_secret
from tidings.db.tables import users
from tidings.kit import timefmt
from tidings.kit.config import Settings

GRANTS = ("client_credentials", "refresh_token", "authorization_code")


def exchange(conn: Connection, fields: dict[str, str], settings: Settings) -> dict[str, Any] | None:
    """Answer a token request, or None for wrong credentials (the route turns that into 401).

    Every grant answers a rotating refresh token besides the access token; the service sends
    one only for the code and refresh grants, but clients ignore keys they do not use, and it
    makes the refresh grant usable with an app's own credentials.
    """
    app = repository.app_by_client_id(conn, fields["client_id"])
    if app is None or not verify_secret(fields["client_secret"], app["secret_hash"]):
        return None
    now = timefmt.now()
    grant = fields["grant_type"]
    if grant == "client_credentials":
        user_id = int(app["user_id"])
    elif grant == "refresh_token":
        found = repository.consume_refresh_token(conn, fields["refresh_token"], app["id"], now)
        if found is None:
            return None
        user_id = found
    else:
        # Tidings has no interactive consent screen, so no authorization code is ever issued.
        return None
    access = repository.issue_token(conn, app["id"], user_id, "access", settings.token_ttl_seconds, now)
    refresh = repository.issue_token(
        conn, app["id"], user_id, "refresh", settings.refresh_token_ttl_seconds, now
    )
    return {
        "token_type": "bearer",
        "access_token": access,
        "expires_in": settings.token_ttl_seconds,
        "refresh_token": refresh,
    }


def bootstrap(conn: Connection, settings: Settings) -> bool:
    """On first start, create the owner and an app with the configured credentials."""
    if not (settings.bootstrap_app_id and settings.bootstrap_app_secret):
        return False
    if conn.execute(select(func.count()).select_from(users)).scalar_one():
        return False
    now = timefmt.now()
    email = settings.bootstrap_email
    user_id = conn.execute(
        users.insert().values(
            first_name=email.split("@")[0][:40] or "Owner",
            last_name="",
            email=email,
            role="owner",
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    repository.create_app(
        conn, int(user_id), settings.bootstrap_app_id, settings.bootstrap_app_secret, "Bootstrap", now
    )
    return True
