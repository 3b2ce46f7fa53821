"""SQL for customers and their emails and phones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    delete,
    false,
    func,
    insert,
    select,
    update,
)

from tidings.db.tables import conversations, customer_emails, customer_phones, customers
from tidings.kit.db import insert_or_existing
from tidings.kit.prepared import Prepared, Together, any_id, id_list

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


def find_or_create_by_email(
    conn: Connection,
    email: str,
    attrs: dict[str, Any],
    now: datetime,
    phones: Iterable[tuple[str, str]] = (),
) -> tuple[int, bool]:
    """The customer owning this address; a new one with `attrs` (and phones) when nobody does
    (True: this call made it)."""
    existing = id_by_email(conn, email)
    if existing is not None:
        return existing, False

    def made_meanwhile() -> tuple[int, bool] | None:
        found = id_by_email(conn, email)
        return None if found is None else (found, False)

    return insert_or_existing(
        conn, lambda: (create(conn, attrs, [(email, "work")], phones, now), True), made_meanwhile
    )


def exists(conn: Connection, customer_id: int) -> bool:
    return conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is not None


_FIRST_EMAIL = (
    select(customer_emails.c.value)
    .where(customer_emails.c.customer_id == customers.c.id)
    .order_by(customer_emails.c.id)
    .limit(1)
    .scalar_subquery()
)
# What the short form of a customer (in conversations and threads) and the sort keys read; the
# rest of the row was fetched and converted for each of a list page's ~25 customers.
_CUSTOMERS_BY_ID = Prepared(
    select(
        customers.c.id,
        customers.c.first_name,
        customers.c.last_name,
        customers.c.photo_url,
        _FIRST_EMAIL.label("email"),
    ).where(any_id(customers.c.id))
)


def by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict]:
    """Customers' names, photo and first (primary) email as `email`, in one query for any number."""
    batch = Together(conn)
    found = by_ids_in(batch, ids)
    batch.run()
    return found()


def by_ids_in(batch: Together, ids: Iterable[int]) -> Callable[[], dict[int, dict]]:
    """`by_ids`, read with the batch's other statements: call the result once `batch.run()` has."""
    wanted = id_list(ids)
    pending = batch.add(_CUSTOMERS_BY_ID, ids=wanted) if wanted else None
    return lambda: {c["id"]: c for c in pending.dicts()} if pending else {}


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


# -- reads for the customers API -------------------------------------------------------------


def get(conn: Connection, customer_id: int) -> dict | None:
    row = conn.execute(select(customers).where(customers.c.id == customer_id)).mappings().first()
    return dict(row) if row else None


def _contacts_of(conn: Connection, table: Table, customer_ids: Iterable[int]) -> dict[int, list[dict]]:
    wanted = sorted(set(customer_ids))
    found: dict[int, list[dict]] = {i: [] for i in wanted}
    if not wanted:
        return found
    rows = conn.execute(
        select(table.c.id, table.c.customer_id, table.c.value, table.c.type)
        .where(table.c.customer_id.in_(wanted))
        .order_by(table.c.customer_id, table.c.id)
    ).mappings()
    for r in rows:
        found[r["customer_id"]].append(dict(r))
    return found


def emails_of(conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Emails of many customers in one query, oldest (the primary one) first."""
    return _contacts_of(conn, customer_emails, customer_ids)


def phones_of(conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Phones of many customers in one query."""
    return _contacts_of(conn, customer_phones, customer_ids)


def list_page(
    conn: Connection,
    *,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    mailbox_id: int | None,
    modified_since: datetime | None,
    visible_mailboxes: frozenset[int] | None,
    sort_field: str,
    descending: bool,
    offset: int,
    limit: int,
    query: ColumnElement[bool] | None = None,
) -> tuple[list[dict], int]:
    """One page of customers and the total; `visible_mailboxes` limits to customers of those,
    `query` is the compiled `query=` (`tidings.customers.query`)."""
    c = customers.c
    conditions: list[ColumnElement[bool]] = [] if query is None else [query]
    if first_name is not None:
        conditions.append(func.lower(c.first_name) == first_name.strip().lower())
    if last_name is not None:
        conditions.append(func.lower(c.last_name) == last_name.strip().lower())
    if email is not None:
        conditions.append(
            c.id.in_(
                select(customer_emails.c.customer_id).where(customer_emails.c.value == email.strip().lower())
            )
        )
    if modified_since is not None:
        conditions.append(c.updated_at >= modified_since)
    if mailbox_id is not None:
        conditions.append(_has_conversation_in(frozenset([mailbox_id])))
    if visible_mailboxes is not None:
        conditions.append(_has_conversation_in(visible_mailboxes))
    total = conn.execute(select(func.count()).select_from(customers).where(*conditions)).scalar_one()
    if offset >= total:
        return [], int(total)
    keys: dict[str, ColumnElement[Any]] = {
        "firstName": func.lower(c.first_name),
        "lastName": func.lower(c.last_name),
        "modifiedAt": c.updated_at,
    }
    order: list[ColumnElement[Any]] = []
    if sort_field in keys:
        order.append(keys[sort_field].desc() if descending else keys[sort_field].asc())
    # `score` has no text query to rank by: the service then lists newest customers first.
    order.append(c.id.desc() if descending else c.id.asc())
    rows = conn.execute(
        select(customers).where(*conditions).order_by(*order).offset(offset).limit(limit)
    ).mappings()
    return [dict(r) for r in rows], int(total)


def _has_conversation_in(mailbox_ids: frozenset[int]) -> ColumnElement[bool]:
    if not mailbox_ids:
        return false()
    return sa.exists().where(
        conversations.c.customer_id == customers.c.id,
        conversations.c.mailbox_id.in_(sorted(mailbox_ids)),
        conversations.c.state != "deleted",
    )


# -- writes for the customers API ------------------------------------------------------------


def update_customer(conn: Connection, customer_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(customers).where(customers.c.id == customer_id).values(**values, updated_at=now))


def email_owners(conn: Connection, values: Iterable[str]) -> dict[str, dict]:
    """`{address: {id, customer_id}}` for the addresses (any case) that someone already owns."""
    wanted = sorted({v.strip().lower() for v in values})
    if not wanted:
        return {}
    rows = conn.execute(
        select(customer_emails.c.id, customer_emails.c.customer_id, customer_emails.c.value).where(
            customer_emails.c.value.in_(wanted)
        )
    ).mappings()
    return {r["value"]: {"id": r["id"], "customer_id": r["customer_id"]} for r in rows}


def get_contact(conn: Connection, table: Table, customer_id: int, contact_id: int) -> dict | None:
    """One email or phone row of this customer."""
    row = (
        conn.execute(select(table).where(table.c.id == contact_id, table.c.customer_id == customer_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def add_contact(conn: Connection, table: Table, customer_id: int, value: str, kind: str) -> int:
    return int(
        conn.execute(
            insert(table).values(customer_id=customer_id, value=value, type=kind)
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def update_contact(conn: Connection, table: Table, contact_id: int, value: str, kind: str) -> None:
    conn.execute(update(table).where(table.c.id == contact_id).values(value=value, type=kind))


def delete_contact(conn: Connection, table: Table, contact_id: int) -> None:
    conn.execute(delete(table).where(table.c.id == contact_id))
