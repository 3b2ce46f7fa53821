"""SQL for customers and their emails and phones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from tidings.db.tables import conversations, customer_emails, customer_phones, customers

CUSTOMER_COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "gender": "gender",
    "jobTitle": "job_title",
    "location": "location",
    "organization": "organization",
    "photoType": "photo_type",
    "photoUrl": "photo_url",
    "background": "background",
    "age": "age",
}


def create(
    conn: Connection,
    values: dict[str, Any],
    emails: Iterable[tuple[str, str]],
    phones: Iterable[tuple[str, str]],
    now: datetime,
) -> int:
    customer_id = int(
        conn.execute(
            customers.insert().values(**values, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
    )
    email_rows = [{"customer_id": customer_id, "value": v.lower(), "type": t} for v, t in emails]
    if email_rows:
        conn.execute(customer_emails.insert(), email_rows)
    phone_rows = [{"customer_id": customer_id, "value": v, "type": t} for v, t in phones]
    if phone_rows:
        conn.execute(customer_phones.insert(), phone_rows)
    return customer_id


def id_by_email(conn: Connection, email: str) -> int | None:
    found = conn.execute(
        select(customer_emails.c.customer_id).where(customer_emails.c.value == email.strip().lower())
    ).scalar()
    return int(found) if found is not None else None


def find_or_create_by_email(conn: Connection, email: str, attrs: dict[str, Any], now: datetime) -> int:
    """The customer owning this address; a new one with `attrs` when nobody does."""
    existing = id_by_email(conn, email)
    if existing is not None:
        return existing
    return create(conn, attrs, [(email, "work")], [], now)


def exists(conn: Connection, customer_id: int) -> bool:
    return conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is not None


def by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict]:
    """Customers with their first (primary) email as `email`, in two queries for any number."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = {
        r["id"]: dict(r) for r in conn.execute(select(customers).where(customers.c.id.in_(wanted))).mappings()
    }
    for c in found.values():
        c["email"] = None
    first_email = (
        select(customer_emails.c.customer_id, func.min(customer_emails.c.id).label("email_id"))
        .where(customer_emails.c.customer_id.in_(wanted))
        .group_by(customer_emails.c.customer_id)
        .subquery()
    )
    rows = conn.execute(
        select(customer_emails.c.customer_id, customer_emails.c.value).join(
            first_email, first_email.c.email_id == customer_emails.c.id
        )
    )
    for r in rows:
        found[r.customer_id]["email"] = r.value
    return found


def sort_keys(customer: dict[str, Any] | None) -> dict[str, str]:
    """The denormalised sort columns a conversation keeps for its primary customer."""
    if customer is None:
        return {"customer_name_sort": "", "customer_email_sort": ""}
    name = f"{customer['first_name']} {customer['last_name']}".strip().lower()
    return {"customer_name_sort": name[:100], "customer_email_sort": (customer.get("email") or "")[:254]}


def refresh_conversation_sort_keys(conn: Connection, customer_id: int) -> None:
    """After a customer's name or emails change, re-sync the conversations that sort by them."""
    customer = by_ids(conn, [customer_id]).get(customer_id)
    conn.execute(
        update(conversations).where(conversations.c.customer_id == customer_id).values(**sort_keys(customer))
    )
