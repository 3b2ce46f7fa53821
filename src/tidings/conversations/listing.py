"""GET /v2/conversations: the parameters of the source page, their validation, and the SQL.

All parameters are read into one `ListParams` model so that every invalid one is reported in
the same 400. The page is one query for the ids of the page, one COUNT, then one batched load
of everything the page shows (plus one thread query with `embed=threads`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, select
from sqlalchemy.sql.elements import UnaryExpression

from tidings.auth.caller import Caller, CurrentCaller
from tidings.conversations.presenter import conversation_out, load_related
from tidings.conversations.schemas import ApiTimestamp
from tidings.db.tables import (
    conversation_counts,
    conversation_fields,
    conversation_tags,
    conversations,
    folders,
    mailbox_fields,
    tags,
)
from tidings.kit import timefmt
from tidings.kit.errors import FieldError, invalid
from tidings.kit.hal import HalResponse, paged, window
from tidings.kit.schemas import MAX_ID
from tidings.search import QueryError, compile_query, parse_query

PAGE_SIZE = 25
SortField = Literal[
    "createdAt",
    "customerEmail",
    "customerName",
    "mailboxid",
    "modifiedAt",
    "number",
    "score",
    "status",
    "subject",
    "waitingSince",
]
SORT_FIELDS: tuple[str, ...] = get_args(SortField)
StatusFilter = Literal["active", "all", "closed", "open", "pending", "spam"]
_ID_LIST = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)*$")
_CUSTOM_FIELD = re.compile(r"^(\d+):(.*)$", re.S)


class ListParams(BaseModel):
    """The query parameters of the source page, with the contract's rules (behaviour §6)."""

    model_config = ConfigDict(extra="ignore")

    embed: Literal["threads"] | None = None
    mailbox: str | None = Field(default=None, description="Mailbox id, or ids separated by commas")
    folder: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: StatusFilter | None = Field(default=None, description="Defaults to active (to all with `folder`)")
    tag: str | None = Field(
        default=None, max_length=2000, description="Tag name, or names separated by commas"
    )
    assigned_to: int | None = Field(default=None, ge=1, le=MAX_ID)
    modifiedSince: ApiTimestamp | None = None
    number: int | None = Field(default=None, ge=1, le=MAX_ID)
    sortField: SortField = "createdAt"
    sortOrder: Literal["asc", "desc"] = "desc"
    query: str | None = Field(default=None, description="Advanced search query (Lucene syntax)")
    page: int = Field(default=1, ge=1, le=1_000_000)
    customFieldsByIds: list[str] = Field(
        default_factory=list, description="fieldId:value, comma-joined or repeated"
    )

    @field_validator("mailbox")
    @classmethod
    def _mailbox_ids(cls, value: str | None) -> str | None:
        if value is not None and (
            not _ID_LIST.match(value) or any(not 1 <= int(p) <= MAX_ID for p in value.split(","))
        ):
            raise ValueError("expected a mailbox id or ids separated by commas, e.g. 123 or 123,567")
        return value

    @field_validator("customFieldsByIds")
    @classmethod
    def _custom_fields(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and not info.data.get("mailbox"):
            raise ValueError("customFieldsByIds must be accompanied by the mailbox parameter")
        pairs: list[str] = []
        for item in value:
            for piece in _split_custom_fields(item):
                match = _CUSTOM_FIELD.match(piece)
                if not match or not piece.split(":", 1)[1].strip() or not 1 <= int(match.group(1)) <= MAX_ID:
                    raise ValueError(
                        f"expected fieldId:value pairs separated by commas, e.g. 123:blue; got {piece!r}"
                    )
                pairs.append(piece)
        return pairs

    @property
    def mailbox_ids(self) -> list[int]:
        return [int(p) for p in self.mailbox.split(",")] if self.mailbox else []

    @property
    def tag_names(self) -> list[str]:
        return [t.strip().lower() for t in (self.tag or "").split(",") if t.strip()]

    def custom_field_filters(self) -> list[tuple[int, str]]:
        found = []
        for piece in self.customFieldsByIds:
            field_id, value = piece.split(":", 1)
            found.append((int(field_id), value.strip()))
        return found


def _split_custom_fields(item: str) -> list[str]:
    """Split `1:a,2:b` on the commas that start a new `id:` pair (values may hold commas)."""
    return [p for p in re.split(r",(?=\s*\d+:)", item) if p.strip()]


@dataclass
class Compiled:
    condition: ColumnElement[bool]
    order: list[UnaryExpression[Any]]
    # When the filters are only state, mailboxes and statuses, the total comes from the
    # trigger-kept conversation_counts instead of a COUNT over the conversations.
    totals: ColumnElement[bool] | None = None


def _sort_keys(params: ListParams, score: ColumnElement[Any] | None) -> list[UnaryExpression[Any]]:
    c = conversations.c
    columns: dict[str, ColumnElement[Any]] = {
        "createdAt": c.created_at,
        "customerEmail": c.customer_email_sort,
        "customerName": c.customer_name_sort,
        "mailboxid": c.mailbox_id,
        "modifiedAt": c.modified_at,
        "number": c.number,
        "status": c.status,
        "subject": func.lower(c.subject),
        "waitingSince": c.customer_waiting_since,
    }
    descending = params.sortOrder == "desc"
    if params.sortField == "score":
        key: ColumnElement[Any] = score if score is not None else c.created_at
    else:
        key = columns[params.sortField]
    primary = key.desc() if descending else key.asc()
    if params.sortField == "waitingSince":
        primary = primary.nulls_last()
    tie = c.id.desc() if descending else c.id.asc()
    return [primary, tie]


def build(conn: Connection, caller: Caller, params: ListParams, now: datetime) -> Compiled:
    """Every filter as one SQL condition (combined with AND), and the ORDER BY."""
    c = conversations.c
    errors: list[FieldError] = []
    conditions: list[ColumnElement[bool]] = []
    drafts_folder = False
    if params.folder is not None:
        kind = conn.execute(select(folders.c.type).where(folders.c.id == params.folder)).scalar()
        drafts_folder = kind == "drafts"
        conditions.append(c.folder_id == params.folder)
    state = "draft" if drafts_folder else "published"
    totals: list[ColumnElement[bool]] = [conversation_counts.c.state == state]
    conditions.append(c.state == state)
    if caller.mailbox_ids is not None:
        visible = sorted(caller.mailbox_ids)
        conditions.append(c.mailbox_id.in_(visible) if visible else false())
        totals.append(conversation_counts.c.mailbox_id.in_(visible) if visible else false())
    if params.mailbox_ids:
        conditions.append(c.mailbox_id.in_(params.mailbox_ids))
        totals.append(conversation_counts.c.mailbox_id.in_(params.mailbox_ids))
    status = params.status or ("all" if params.folder is not None else "active")
    statuses = {"open": ("active", "pending"), "all": None}.get(status, (status,))
    if statuses is not None:
        conditions.append(c.status.in_(statuses))
        totals.append(conversation_counts.c.status.in_(statuses))
    if params.tag_names:
        # EXISTS, not IN: a common tag must not materialise every conversation id carrying it.
        conditions.append(
            exists().where(
                conversation_tags.c.conversation_id == c.id,
                conversation_tags.c.tag_id.in_(select(tags.c.id).where(tags.c.name.in_(params.tag_names))),
            )
        )
    if params.assigned_to is not None:
        conditions.append(c.assignee_id == params.assigned_to)
    if params.modifiedSince is not None:
        conditions.append(c.modified_at >= params.modifiedSince)
    if params.number is not None:
        conditions.append(c.number == params.number)
    if params.customFieldsByIds:
        conditions += _custom_field_conditions(conn, params, errors)
    score = None
    if params.query:
        try:
            node = parse_query(params.query)
            if node is not None:
                compiled = compile_query(node, dialect=conn.dialect.name, now=now)
                conditions.append(compiled.condition)
                score = compiled.score
        except QueryError as exc:
            errors.append(
                FieldError(
                    "query",
                    f"{exc.message} (at position {exc.position})",
                    "query",
                    params.query,
                    "InvalidQuery",
                )
            )
    if errors:
        raise invalid(*errors)
    simple = not (
        params.folder
        or params.tag_names
        or params.assigned_to
        or params.modifiedSince
        or params.number
        or params.customFieldsByIds
        or params.query
    )
    return Compiled(and_(*conditions), _sort_keys(params, score), and_(*totals) if simple else None)


def _custom_field_conditions(
    conn: Connection, params: ListParams, errors: list[FieldError]
) -> list[ColumnElement[bool]]:
    filters = params.custom_field_filters()
    known = {
        r.id: r.type
        for r in conn.execute(
            select(mailbox_fields.c.id, mailbox_fields.c.type).where(
                mailbox_fields.c.id.in_([f for f, _ in filters]),
                mailbox_fields.c.mailbox_id.in_(params.mailbox_ids),
            )
        )
    }
    conditions: list[ColumnElement[bool]] = []
    for field_id, value in filters:
        kind = known.get(field_id)
        rejected = f"{field_id}:{value}"
        if kind is None:
            errors.append(
                FieldError(
                    "customFieldsByIds", "unknown custom field for the given mailbox", "query", rejected
                )
            )
            continue
        if kind == "multiline":
            errors.append(
                FieldError(
                    "customFieldsByIds", "multi-line custom fields are not searchable", "query", rejected
                )
            )
            continue
        match = conversation_fields.c.value == value
        if kind == "singleline":
            # All words of the value must occur as words of the stored text, case-insensitively.
            padded = " " + func.lower(conversation_fields.c.value) + " "
            words = re.findall(r"\w+", value.lower())
            match = and_(*[padded.like(f"% {w} %") for w in words]) if words else false()
        conditions.append(
            exists().where(
                conversation_fields.c.conversation_id == conversations.c.id,
                conversation_fields.c.field_id == field_id,
                match,
            )
        )
    return conditions


def list_page(conn: Connection, request: Request, caller: Caller, params: ListParams) -> dict[str, Any]:
    compiled = build(conn, caller, params, timefmt.now())
    offset, limit = window(params.page, PAGE_SIZE)
    if compiled.totals is not None:
        counted = select(func.coalesce(func.sum(conversation_counts.c.n), 0)).where(compiled.totals)
    else:
        counted = select(func.count()).select_from(conversations).where(compiled.condition)
    total = int(conn.execute(counted).scalar_one())
    rows: list[dict] = []
    if offset < total:
        page = (
            select(conversations)
            .where(compiled.condition)
            .order_by(*compiled.order)
            .offset(offset)
            .limit(limit)
        )
        rows = [dict(r) for r in conn.execute(page).mappings()]
    related = load_related(conn, rows, embed_threads=params.embed == "threads")
    items = [conversation_out(request, row, related) for row in rows]
    return paged(request, "conversations", items, params.page, PAGE_SIZE, int(total))


async def list_conversations(
    request: Request, caller: CurrentCaller, params: Annotated[ListParams, Query()]
) -> HalResponse:
    return HalResponse(await request.app.state.db.read(list_page, request, caller, params))


__all__ = ["SORT_FIELDS", "ListParams", "list_conversations"]
