"""Customer writes: validation that needs the database, address uniqueness, and keeping the
conversations' denormalised customer sort keys in step with names and emails.

Each function runs inside one write transaction, so a request changes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError

from tidings.customers import repository
from tidings.customers.schemas import (
    CustomerCreate,
    CustomerScalars,
    EmailIn,
    PhoneIn,
    stored_scalars,
    stored_value,
)
from tidings.db.tables import customer_emails, customer_phones
from tidings.kit.errors import ApiError, FieldError, invalid, invalid_field, not_found
from tidings.webhooks import outbox

PATCH_OPS = ("replace", "add", "remove")
PATCH_PATHS = {f"/{key}": key for key in repository.CUSTOMER_COLUMNS}
NAME_OR_EMAIL = "a customer needs a firstName or at least one email"


def existing_customer(conn: Connection, customer_id: int) -> dict:
    customer = repository.get(conn, customer_id)
    if customer is None:
        raise not_found("Customer")
    return customer


def _conflict(value: str, owner_id: int) -> ApiError:
    return ApiError(409, f"The email address {value} already belongs to customer {owner_id}")


@contextmanager
def _unique_addresses(value: str) -> Iterator[None]:
    """A concurrent writer may take an address between our check and our insert."""
    try:
        yield
    except IntegrityError:
        raise ApiError(409, f"The email address {value} already belongs to a customer") from None


def create_customer(conn: Connection, body: CustomerCreate, now: datetime) -> int:
    errors: list[FieldError] = []
    if not body.firstName and not body.emails:
        errors.append(FieldError("firstName", NAME_OR_EMAIL, "JSON", code="NotEmpty"))
    seen: set[str] = set()
    for index, email in enumerate(body.emails):
        lowered = email.value.lower()
        if lowered in seen:
            errors.append(
                FieldError(f"emails[{index}].value", "the address is listed twice", "JSON", email.value)
            )
        seen.add(lowered)
    if errors:
        raise invalid(*errors)
    owners = repository.email_owners(conn, seen)
    if owners:
        value, owner = sorted(owners.items())[0]
        raise _conflict(value, owner["customer_id"])
    with _unique_addresses(", ".join(sorted(seen))):
        customer_id = repository.create(
            conn,
            stored_scalars(body, only_set=False),
            [(e.value, e.type) for e in body.emails],
            [(p.value, p.type) for p in body.phones],
            now,
        )
    outbox.customer_event(conn, "customer.created", customer_id)
    return customer_id


def _require_name_or_email(conn: Connection, customer_id: int, first_name: str, path: str) -> None:
    if not first_name and not repository.emails_of(conn, [customer_id])[customer_id]:
        raise invalid_field(path, NAME_OR_EMAIL, "JSON", code="NotEmpty")


def replace_customer(conn: Connection, customer_id: int, body: CustomerScalars, now: datetime) -> None:
    """PUT: every scalar field takes the body's value; fields left out are cleared."""
    existing_customer(conn, customer_id)
    values = stored_scalars(body, only_set=False)
    _require_name_or_email(conn, customer_id, values["first_name"], "firstName")
    repository.update_customer(conn, customer_id, values, now)
    repository.refresh_conversation_sort_keys(conn, customer_id)
    outbox.customer_event(conn, "customer.updated", customer_id)


def _validate_op(op: dict[str, Any], where: str) -> tuple[list[FieldError], tuple[str, Any] | None]:
    """The error list, or the (API key, stored value) the operation sets."""
    errors: list[FieldError] = []
    kind, path = op.get("op"), op.get("path")
    if kind not in PATCH_OPS:
        errors.append(
            FieldError(
                f"{where}op",
                "Expected one of these: " + ", ".join(f"'{o}'" for o in PATCH_OPS),
                "JSON",
                kind,
                "EnumValue",
            )
        )
    if not isinstance(path, str) or path not in PATCH_PATHS:
        errors.append(
            FieldError(
                f"{where}path",
                "Expected one of these: " + ", ".join(f"'{p}'" for p in PATCH_PATHS),
                "JSON",
                path,
                "EnumValue",
            )
        )
    if errors:
        return errors, None
    key = PATCH_PATHS[str(path)]
    value = None if kind == "remove" else op.get("value")
    try:
        checked = CustomerScalars.model_validate({key: value})
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return [FieldError(f"{where}value", message, "JSON", value)], None
    return [], (key, stored_value(key, getattr(checked, key)))


def patch_customer(
    conn: Connection, customer_id: int, ops: list[dict[str, Any]], single: bool, now: datetime
) -> None:
    """JSON-patch-like updates of scalar fields; every bad operation is reported at once."""
    customer = existing_customer(conn, customer_id)
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    for index, op in enumerate(ops):
        op_errors, change = _validate_op(op, "" if single else f"[{index}].")
        errors += op_errors
        if change is not None:
            changes[repository.CUSTOMER_COLUMNS[change[0]]] = change[1]
    if not ops:
        errors.append(FieldError("body", "expected at least one operation", "JSON", code="NotEmpty"))
    if errors:
        raise invalid(*errors)
    first_name = changes.get("first_name", customer["first_name"])
    _require_name_or_email(conn, customer_id, first_name, "firstName")
    repository.update_customer(conn, customer_id, changes, now)
    repository.refresh_conversation_sort_keys(conn, customer_id)
    outbox.customer_event(conn, "customer.updated", customer_id)


# -- emails and phones ----------------------------------------------------------------------


def _contact(conn: Connection, table: Table, customer_id: int, contact_id: int, what: str) -> dict:
    existing_customer(conn, customer_id)
    row = repository.get_contact(conn, table, customer_id, contact_id)
    if row is None:
        raise not_found(what)
    return row


def _check_address_free(conn: Connection, value: str, own_email_id: int | None = None) -> None:
    owner = repository.email_owners(conn, [value]).get(value.lower())
    if owner is not None and owner["id"] != own_email_id:
        raise _conflict(value.lower(), owner["customer_id"])


def _touched(conn: Connection, customer_id: int, now: datetime, *, sort_keys: bool = True) -> None:
    """A contact changed: the customer's updatedAt moves and `customer.updated` is told."""
    repository.update_customer(conn, customer_id, {}, now)
    if sort_keys:
        repository.refresh_conversation_sort_keys(conn, customer_id)
    outbox.customer_event(conn, "customer.updated", customer_id)


def add_email(conn: Connection, customer_id: int, body: EmailIn, now: datetime) -> int:
    existing_customer(conn, customer_id)
    _check_address_free(conn, body.value)
    with _unique_addresses(body.value):
        email_id = repository.add_contact(conn, customer_emails, customer_id, body.value.lower(), body.type)
    _touched(conn, customer_id, now)
    return email_id


def update_email(conn: Connection, customer_id: int, email_id: int, body: EmailIn, now: datetime) -> None:
    _contact(conn, customer_emails, customer_id, email_id, "Email")
    _check_address_free(conn, body.value, email_id)
    with _unique_addresses(body.value):
        repository.update_contact(conn, customer_emails, email_id, body.value.lower(), body.type)
    _touched(conn, customer_id, now)


def delete_email(conn: Connection, customer_id: int, email_id: int, now: datetime) -> None:
    _contact(conn, customer_emails, customer_id, email_id, "Email")
    repository.delete_contact(conn, customer_emails, email_id)
    _touched(conn, customer_id, now)


def add_phone(conn: Connection, customer_id: int, body: PhoneIn, now: datetime) -> int:
    existing_customer(conn, customer_id)
    phone_id = repository.add_contact(conn, customer_phones, customer_id, body.value, body.type)
    _touched(conn, customer_id, now, sort_keys=False)
    return phone_id


def update_phone(conn: Connection, customer_id: int, phone_id: int, body: PhoneIn, now: datetime) -> None:
    _contact(conn, customer_phones, customer_id, phone_id, "Phone")
    repository.update_contact(conn, customer_phones, phone_id, body.value, body.type)
    _touched(conn, customer_id, now, sort_keys=False)


def delete_phone(conn: Connection, customer_id: int, phone_id: int, now: datetime) -> None:
    _contact(conn, customer_phones, customer_id, phone_id, "Phone")
    repository.delete_contact(conn, customer_phones, phone_id)
    _touched(conn, customer_id, now, sort_keys=False)
