"""The `query=` of `GET /v2/customers`: the conversation query language (`tidings.search`) over
customer fields.

Fields, as the service documents them: `firstName`, `lastName`, `email`, `emailDomain`,
`modifiedAt`; a bare value is a first, last or full name or an email address, as in a
conversation query. Names and addresses compare case-insensitively and whole; `value*` makes a
prefix. Decided here (the service's page calls `email` "contains"): `email` matches whole
addresses, or their beginning with `*`, so that a lookup by address is exact and uses the
index; `emailDomain:acme.com` matches addresses at that domain, through an index of domains.
`modifiedAt` takes a date, date math or a range, as in conversation queries. AND, OR, NOT and
parentheses as there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.db.tables import customer_emails, customers
from tidings.kit.errors import invalid_field
from tidings.search import (
    And,
    Node,
    Not,
    Or,
    QueryError,
    QueryValueError,
    Range,
    bare_term_customers,
    parse_query,
)
from tidings.search.compile import date_range, during, like_prefix, value_error

FIELDS = ("firstName", "lastName", "email", "emailDomain", "modifiedAt")
Condition = ColumnElement[bool]


def compiled_query(text: str | None, now: datetime) -> Condition | None:
    """The `query=` parameter as a condition (None: no filter); a bad query is a 400 on `query`."""
    if not text:
        return None
    try:
        node = parse_query(text, FIELDS)
        return customer_condition(node, now) if node is not None else None
    except QueryError as exc:
        raise invalid_field(
            "query", f"{exc.message} (at position {exc.position})", "query", text, "InvalidQuery"
        ) from None


def customer_condition(node: Node, now: datetime) -> Condition:
    """The condition on `customers` that the parsed query stands for. Raises QueryValueError."""
    if isinstance(node, And):
        return and_(*(customer_condition(child, now) for child in node.children))
    if isinstance(node, Or):
        return or_(*(customer_condition(child, now) for child in node.children))
    if isinstance(node, Not):
        return not_(customer_condition(node.child, now))
    if isinstance(node, Range):
        if node.field != "modifiedAt":
            problem = f"does not accept a range (at position {node.position}); ranges work on modifiedAt"
            raise QueryValueError(f"{node.field} {problem}", node.position)
        return date_range(customers.c.updated_at, node, now)
    if node.field == "modifiedAt":
        if node.prefix:
            raise value_error(node, "does not support wildcards")
        return during(customers.c.updated_at, node, now)
    value = node.value.strip()
    if not value:
        raise value_error(node, "needs a value")
    if node.field is None:
        return customers.c.id.in_(bare_term_customers(value, node.prefix))
    return _FIELD_CONDITIONS[node.field](value.lower(), node.prefix)


def _name(column: ColumnElement[str]) -> Callable[[str, bool], Condition]:
    def matches(value: str, prefix: bool) -> Condition:
        lowered = func.lower(column)
        return lowered.like(like_prefix(value), escape="!") if prefix else lowered == value

    return matches


def _email(value: str, prefix: bool) -> Condition:
    address = customer_emails.c.value
    return _with_email(address.like(like_prefix(value), escape="!") if prefix else address == value)


class EmailDomain(FunctionElement[str]):
    """What follows the first `@` of an address, written exactly as the index
    `ix_customer_emails_domain` (migration 0009) is, so that both databases use it."""

    type = String()
    inherit_cache = True
    name = "email_domain"


@compiles(EmailDomain)
def _email_domain_sqlite(element: EmailDomain, compiler: SQLCompiler, **kw: Any) -> str:
    address = compiler.process(element.clauses, **kw)
    return f"substr({address}, instr({address}, '@') + 1)"


@compiles(EmailDomain, "postgresql")
def _email_domain_postgresql(element: EmailDomain, compiler: SQLCompiler, **kw: Any) -> str:
    address = compiler.process(element.clauses, **kw)
    return f"substr({address}, strpos({address}, '@') + 1)"


def _email_domain(value: str, prefix: bool) -> Condition:
    """Addresses at the domain: through the index, or for `gm*` a pass over every domain."""
    domain = EmailDomain(customer_emails.c.value)
    wanted = value.removeprefix("@")
    return _with_email(domain.like(like_prefix(wanted), escape="!") if prefix else domain == wanted)


def _with_email(condition: Condition) -> Condition:
    owners: Select[tuple[int]] = select(customer_emails.c.customer_id).where(condition)
    return customers.c.id.in_(owners)


_FIELD_CONDITIONS: dict[str, Callable[[str, bool], Condition]] = {
    "firstName": _name(customers.c.first_name),
    "lastName": _name(customers.c.last_name),
    "email": _email,
    "emailDomain": _email_domain,
}
