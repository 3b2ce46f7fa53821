"""GET /v2/conversations: the parameters of the source page, their validation, and the SQL.

All parameters are read into one `ListParams` model so that every invalid one is reported in
the same 400. A plain list's page and total are one statement (`SimpleList`); with other
filters, the page is one query for its ids and one COUNT. Then one batched load of everything
the page shows (plus one thread query with `embed=threads`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any, Literal, NamedTuple, get_args

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import (
    CTE,
    ClauseElement,
    Column,
    ColumnElement,
    Connection,
    Exists,
    Integer,
    Select,
    SelectBase,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    select,
    true,
    union,
)
from sqlalchemy.sql.elements import BindParameter, True_, UnaryExpression
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from starlette.responses import Response

from tidings.auth.caller import Caller, bearer_token, caller_and_stamp, known_caller_and_stamp
from tidings.conversations import repository
from tidings.conversations.created_days import created_days_total, state_and_statuses
from tidings.conversations.day_pages import DAY_PAGES_FROM, DayPages, day_pages, read_day_page
from tidings.conversations.deep_pages import ANCHORED_FROM, DeepStatements, Seek, deep_statements, read_page
from tidings.conversations.presenter import Related, conversation_out, load_related
from tidings.conversations.schemas import ApiTimestamp
from tidings.conversations.sparse_lists import SparseChoice, SparseStatements
from tidings.db.tables import (
    conversation_assignee_counts,
    conversation_counts,
    conversation_fields,
    conversation_folder_counts,
    conversation_tag_counts,
    conversation_tags,
    conversations,
    folders,
    mailbox_fields,
    tags,
)
from tidings.kit import timefmt
from tidings.kit.cache import TtlCache
from tidings.kit.db import explained, postgres_settings, rows_in_plan
from tidings.kit.errors import FieldError, invalid
from tidings.kit.hal import HAL_JSON, base_url, json_bytes, paged, web_base_url, window
from tidings.kit.prepared import Prepared, any_id, windowed, with_values_inline
from tidings.kit.query_model import openapi_parameters, read_query_model
from tidings.kit.reuse import DataStamp, ResponseReuse
from tidings.kit.schemas import MAX_ID
from tidings.kit.sql import ReadFirst, materialized, out_of_reach
from tidings.search import (
    CompiledQuery,
    IdList,
    QueryError,
    Sampled,
    TextDriver,
    bare_term_customers,
    compile_query,
    names_a_customer,
    parse_query,
    probes_statuses,
    status_indexes_exist,
    status_probe,
    tag_ids_by_name,
    tag_names,
)
from tidings.search.parse import Term

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
    # What `order` ranks by for sortField=score (None: createdAt), to write it again when few
    # matches are sorted (see `FEW_MATCHES`).
    score: ColumnElement[Any] | None
    # Text terms ANDed at the top of `query`, and every other filter: see `_text_page`.
    driver: TextDriver | None = None
    filters: ColumnElement[bool] | None = None
    # A plain list's page and total, compiled once per shape (see `_simple_compiled`).
    prepared: SimpleList | None = None
    # `condition` as a page with many matches reads it while walking the sort's index, where it
    # differs (see `_modified_since`).
    walked: ColumnElement[bool] | None = None
    # `condition` as the COUNT reads it, where it differs (see `_tags_drive`, `_lists_first`): a
    # page walking the sort's index keeps probing, and stops after 25 matches.
    counted_by: ColumnElement[bool] | None = None
    # The compiled `query=` (kept by `compile_query`): what the statements kept for this search
    # are keyed by (see `_kept_statement`).
    query: CompiledQuery | None = None
    # The state, mailboxes and statuses the filters allow, as the kept counts count them.
    counted: list[tuple[str, Any]] = field(default_factory=list)
    # The request's filters without `query=` (see `_range_walk`).
    requested: ColumnElement[bool] | None = None
    # Which of the query's id lists is read first (see `_leading_list`; None: none), and how
    # many conversations the state, mailboxes and statuses allow (None: not asked).
    lead: int | None = None
    allowed: int | None = None
    # Whether the other conjuncts' texts are tested per conversation beside it (SQLite, see
    # `_probes_beside_the_lead`).
    lead_probes: bool = False
    # With a list read first: the condition as a page walking the sort's index reads it (no
    # list read first, the state in the indexes' reach), for a page dense in matches (see
    # `walks_to_the_page`).
    unled: ColumnElement[bool] | None = None
    # With a list read first whose length is known: about how many of its conversations the
    # state, mailboxes and statuses allow (see `_few_led_matches`).
    lead_expected: int | None = None
    # SQLite: a query of one bare term that also names customers (see `NamedText`).
    named: NamedText | None = None


class NamedText(NamedTuple):
    """SQLite: a query of one bare term (`re*`, `bill`) that also names customers: the driver
    of its text and the customers' ids, whose conversations' page by createdAt merges with the
    text's (`_named_text_page`)."""

    driver: TextDriver
    customers: Select[Any]


@dataclass(frozen=True)
class SimpleList:
    """A list whose filters are only state, mailboxes, statuses and one tag, assignee or folder.

    Its total comes from the trigger-kept conversation_counts (or those per tag, assignee or
    folder) and rides along with the page's rows: one statement, where there were three (total,
    ids, rows) and as many round trips to PostgreSQL. Only an empty page asks for the total alone.
    """

    total: Prepared
    page: Prepared
    # PostgreSQL's page 1: see `_simple_compiled`.
    first_page: Prepared | None = None
    # Pages from ANCHORED_FROM on, which may begin at an anchor (None: a sort with NULLs).
    deep: DeepStatements | None = None
    # Pages from DAY_PAGES_FROM on of a list of state and statuses in creation order, begun at
    # the day of their first row (`day_pages`).
    by_day: DayPages | None = None
    # With a tag, assignee or folder: its matches listed and sorted, when they are few
    # (`sparse_lists`).
    sparse: SparseStatements | None = None
    choice: SparseChoice = field(default_factory=SparseChoice, compare=False)

    def run(self, conn: Connection, offset: int, seek: Seek | None = None) -> tuple[int, list[dict]]:
        sparse = self.sparse
        if sparse is not None and self.choice.lists_the_matches(conn, sparse.census, offset + PAGE_SIZE):
            first = sparse.first_page if offset == 0 else None
            rows = first.dicts(conn) if first is not None else sparse.page.dicts(conn, offset=offset)
        elif offset == 0 and self.first_page is not None:
            rows = self.first_page.dicts(conn)
        elif (
            self.by_day is not None
            and offset >= DAY_PAGES_FROM[conn.dialect.name]
            and (from_day := read_day_page(conn, self.by_day, offset, seek)) is not None
        ):
            rows = from_day
        elif self.deep is not None and seek is not None and offset + PAGE_SIZE >= ANCHORED_FROM:
            rows = read_page(conn, self.deep, self, offset, seek)
        else:
            rows = self.page.dicts(conn, offset=offset)
        if not rows:
            return int(self.total.rows(conn)[0][0]), []
        total = 0
        for row in rows:
            total = int(row.pop(_LIST_TOTAL))
        return total, rows


_LIST_TOTAL = "list_total"


_TEXT_SORTS = frozenset({"customerEmail", "customerName", "status", "subject"})


def _sort_keys(
    params: ListParams, score: ColumnElement[Any] | None, *, past_indexes: bool = False
) -> list[UnaryExpression[Any]]:
    """The ORDER BY; `past_indexes` writes the keys so that no index can give their order
    (`key + 0`, `key || ''`), which makes the database find the matches first, then sort them."""
    if params.sortField != "score":
        return list(_column_sort_keys(params.sortField, params.sortOrder, past_indexes))
    return _built_sort_keys(params.sortField, params.sortOrder, score, past_indexes)


@lru_cache(maxsize=64)
def _column_sort_keys(
    sort_field: str, sort_order: str, past_indexes: bool
) -> tuple[UnaryExpression[Any], ...]:
    """A column's ORDER BY, built once (expressions are immutable): ~0.05 ms a request."""
    return tuple(_built_sort_keys(sort_field, sort_order, None, past_indexes))


def _built_sort_keys(
    sort_field: str, sort_order: str, score: ColumnElement[Any] | None, past_indexes: bool
) -> list[UnaryExpression[Any]]:
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
    descending = sort_order == "desc"
    if sort_field == "score":
        key: ColumnElement[Any] = score if score is not None else c.created_at
    else:
        key = columns[sort_field]
    if past_indexes:
        key = key.concat("") if sort_field in _TEXT_SORTS else key + 0
    primary = key.desc() if descending else key.asc()
    if sort_field == "waitingSince":
        primary = primary.nulls_last()
    tie = c.id.desc() if descending else c.id.asc()
    return [primary, tie]


def _is_simple(params: ListParams) -> bool:
    """Only mailboxes, status, and at most one of a tag, an assignee or a folder: totals from the
    kept counts."""
    return _kept_counts_cover(params) and not params.query


def _kept_counts_cover(params: ListParams) -> bool:
    """Whether the kept counts (`_kept_total`) count the conversations of every filter besides
    `query=`: mailboxes, status, and at most one of a tag, an assignee or a folder."""
    kept_by = (params.tag_names, params.assigned_to is not None, params.folder is not None)
    return not (
        len(params.tag_names) > 1
        or sum(map(bool, kept_by)) > 1
        or params.modifiedSince
        or params.number
        or params.customFieldsByIds
    )


def _visibility(caller: Caller) -> tuple[int, ...] | None:
    return tuple(sorted(caller.mailbox_ids)) if caller.mailbox_ids is not None else None


def _common_filters(
    params: ListParams,
    visible: tuple[int, ...] | None,
    state: str,
    tag_ids: list[int] | None = None,
    *,
    tags_drive: bool = False,
) -> tuple[list[ColumnElement[bool]], list[tuple[str, Any]]]:
    """State, visibility, mailboxes, status, assignee, folder and tags: the conditions, and what
    kept counts need. `tag_ids`: the tags' ids, looked up for this request (see `search.tag_ids_by_name`);
    without them the condition finds the tags by name, as a statement kept across requests must.
    `tags_drive`: the tagged conversations are listed first (see `_tags_drive`)."""
    c = conversations.c
    conditions: list[ColumnElement[bool]] = [c.state == state]
    counted: list[tuple[str, Any]] = [("state", state)]
    if visible is not None:
        conditions.append(c.mailbox_id.in_(visible) if visible else false())
        counted.append(("mailbox_id", list(visible)))
    if params.mailbox_ids:
        conditions.append(c.mailbox_id.in_(params.mailbox_ids))
        counted.append(("mailbox_id", params.mailbox_ids))
    status = params.status or ("all" if params.folder is not None else "active")
    statuses = {"open": ("active", "pending"), "all": None}.get(status, (status,))
    if statuses is not None:
        conditions.append(c.status.in_(statuses))
        counted.append(("status", statuses))
    if params.assigned_to is not None:
        conditions.append(c.assignee_id == params.assigned_to)
        counted.append(("assignee_id", params.assigned_to))
    if params.folder is not None:
        conditions.append(c.folder_id == params.folder)
        counted.append(("folder_id", params.folder))
    if params.tag_names:
        carrying = conversation_tags.c.tag_id.in_(
            tag_ids if tag_ids is not None else select(tags.c.id).where(tags.c.name.in_(params.tag_names))
        )
        if tags_drive:
            conditions.append(c.id.in_(select(conversation_tags.c.conversation_id).where(carrying)))
        else:
            # EXISTS by default: a common tag must not materialise every conversation id carrying
            # it when the other filters leave few conversations to probe.
            conditions.append(exists().where(conversation_tags.c.conversation_id == c.id, carrying))
    return conditions, counted


def _request_filters(
    params: ListParams, visible: tuple[int, ...] | None, state: str, tag_ids: list[int] | None
) -> tuple[list[ColumnElement[bool]], list[tuple[str, Any]]]:
    """`_common_filters` for this request; without tags, built once per combination of values
    (expressions are immutable; building them took ~0.05 ms of every search)."""
    if tag_ids is not None:
        return _common_filters(params, visible, state, tag_ids)
    conditions, counted = _kept_common_filters(
        visible, params.mailbox, params.status, params.assigned_to, params.folder, state
    )
    return list(conditions), list(counted)


@lru_cache(maxsize=1024)
def _kept_common_filters(
    visible: tuple[int, ...] | None,
    mailbox: str | None,
    status: str | None,
    assigned_to: int | None,
    folder: int | None,
    state: str,
) -> tuple[tuple[ColumnElement[bool], ...], tuple[tuple[str, Any], ...]]:
    params = ListParams.model_construct(
        mailbox=mailbox, status=status, assigned_to=assigned_to, folder=folder
    )
    conditions, counted = _common_filters(params, visible, state)
    return tuple(conditions), tuple(counted)


@lru_cache(maxsize=4096)
def _simple_compiled(
    dialect: str,
    visible: tuple[int, ...] | None,
    mailbox: str | None,
    status: str | None,
    tag: str | None,
    assigned_to: int | None,
    folder: int | None,
    state: str,
    sort_field: str,
    sort_order: str,
) -> Compiled:
    """A simple list's statements (total, page, and PostgreSQL's page 1), built and compiled once
    per shape and dialect: through SQLAlchemy's execution, building and running them cost
    ~0.2 ms more than the SQL itself."""
    params = ListParams.model_construct(
        mailbox=mailbox,
        status=status,
        tag=tag,
        assigned_to=assigned_to,
        folder=folder,
        sortField=sort_field,
        sortOrder=sort_order,
    )
    conditions, counted = _common_filters(params, visible, state)
    condition, order = and_(*conditions), _sort_keys(params, None)
    total = _kept_total(counted, params.tag_names)
    offset = bindparam("offset", type_=Integer)
    limit = _rows_left(total, offset) if dialect == "sqlite" else literal(PAGE_SIZE, Integer)
    page_ids = (
        select(conversations.c.id)
        .where(condition)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
        .correlate(None)
    )
    columns = (*repository.LISTED_COLUMNS, total.scalar_subquery().label(_LIST_TOTAL))
    page = select(*columns).where(conversations.c.id.in_(page_ids))
    # A LIMIT it cannot read when planning made PostgreSQL plan for a tenth of the matches (42 ms
    # instead of 0.8 ms for a large folder at 100k conversations); there the total stops a page
    # past the last match as a one-time filter instead.
    guard = total.scalar_subquery() > offset if dialect == "postgresql" else None
    deep = None
    if sort_field != "waitingSince":  # NULLs sort apart from the key's other values
        deep = deep_statements(
            columns, page_ids, condition, order, order[0].element, sort_order == "desc", limit, guard, dialect
        )
    sparse = _sparse_statements(
        dialect, params, visible, state, counted, total, columns, order, offset, limit, guard
    )
    by_day = None
    if sort_field == "createdAt" and tag is None:  # a tag is not among the kept counts' keys
        by_day = day_pages(
            dialect, counted, columns, condition, order, sort_order == "desc", PAGE_SIZE, guard
        )
    if guard is None:
        page = page.order_by(*order)
        return Compiled(
            condition,
            order,
            None,
            prepared=SimpleList(Prepared(total), Prepared(page), deep=deep, by_day=by_day, sparse=sparse),
        )
    page = page.where(guard).order_by(*order)
    # Nor can a generic plan read the offset or the filter's values: for a mailbox + status +
    # tag list at 1M conversations it took 100-150 ms where the plan made for the values took
    # 1-2 ms. Page 1 is therefore one statement with every value written in, planned once for
    # them and kept; other pages are planned on each run.
    first_page = with_values_inline(page, offset=0)
    return Compiled(
        condition,
        order,
        None,
        prepared=SimpleList(
            Prepared(total),
            Prepared(page, server_prepared=False),
            Prepared(first_page),
            deep=deep,
            by_day=by_day,
            sparse=sparse,
        ),
    )


def _sparse_statements(
    dialect: str,
    params: ListParams,
    visible: tuple[int, ...] | None,
    state: str,
    counted: list[tuple[str, Any]],
    total: Select[Any],
    columns: tuple[ColumnElement[Any], ...],
    order: list[UnaryExpression[Any]],
    offset: BindParameter[int],
    limit: ColumnElement[int],
    guard: ColumnElement[bool] | None,
) -> SparseStatements | None:
    """A simple list's page read from its tag's, assignee's or folder's matches, sorted (None:
    a list of mailboxes and statuses only, whose sort index holds nothing but matches). The
    matches are a subquery and the keys are out of the indexes' reach, as for `FEW_MATCHES`."""
    if not (params.tag_names or params.assigned_to is not None or params.folder is not None):
        return None
    c = conversations.c
    driving, _ = _common_filters(params, visible, state, tags_drive=True)
    condition = and_(*driving)
    if dialect == "sqlite":
        # Without statistics SQLite walked all of `state = ?` and probed each conversation for
        # the tag (180 ms for 975 tagged at 1M) rather than look the tagged ones up.
        condition = replacement_traverse(condition, {}, _counted_columns_out_of_reach)
    matches = select(c.id).where(condition).correlate(None)
    ids = (
        select(c.id)
        .where(c.id.in_(matches))
        .order_by(*_sort_keys(params, None, past_indexes=True))
        .offset(offset)
        .limit(limit)
        .correlate(None)
    )
    page = select(*columns).where(c.id.in_(ids))
    if guard is not None:
        page = page.where(guard)
    page = page.order_by(*order)
    census = Prepared(select(total.scalar_subquery(), _allowed_total(counted).scalar_subquery()))
    if guard is None:
        return SparseStatements(Prepared(page), census)
    return SparseStatements(
        Prepared(page, server_prepared=False), census, Prepared(with_values_inline(page, offset=0))
    )


def _rows_left(total: Select[Any], offset: BindParameter[int]) -> ColumnElement[int]:
    """SQLite's page LIMIT: as many of the kept total as are left past the offset, at most a page.

    The LIMIT is read before the first row, so a page past the last match (an empty folder or
    status, a page too far) reads none, and a last page stops at its last match instead of
    walking the rest of the index for more: at 1M conversations a status that no conversation
    of a large folder had took 73 ms, a page past the end of a mailbox 380 ms. A condition on
    the total in WHERE did not do it: SQLite checks a subquery row by row.
    """
    counted = total.subquery()
    left = next(iter(counted.c)) - offset
    return select(case((left >= PAGE_SIZE, PAGE_SIZE), (left > 0, left), else_=0)).scalar_subquery()


# SQLite's COUNT lists a filter's matches first when they are fewer than this share of the
# conversations the other filters allow (see `_tags_drive`, `_lists_first`).
LISTED_FIRST_SHARE = 0.5


def _listed(counted: Sequence[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The (state, status) pairs a list keeps, when it names its statuses (see `TextDriver.ids`);
    none for every status, whose lexemes would narrow nothing."""
    state = next(value for name, value in counted if name == "state")
    statuses = next((value for name, value in counted if name == "status"), None)
    return [(state, status) for status in statuses] if statuses else []


# SQLite looks a text's matches up in the indexes of the ids of the list's statuses (0027,
# `search.compile.status_probe`) while they are at most this many times the conversations the
# statuses hold; past it, listing those conversations' ids first costs less (per match ~0.35 µs
# looked up, ~0.13 listed, plus ~0.26 µs a listed id). At 1M conversations, among the 58k
# active ones: counting `espresso`'s 12,804 matches 18 -> 9 ms, `upgrade`'s 57,400 26 -> 21
# but ranking them no faster (64-74 against 68-72 ms a request), `refund`'s 467k 168 against
# 178 looked up; hence half of them, short of where the two ways meet.
PROBED_PER_ALLOWED = 0.5


def _statuses_alone(compiled: Compiled, params: ListParams) -> list[tuple[str, str]]:
    """The (state, status) pairs of a text search that nothing else filters (no other request
    filter, nothing in `query=` beside its text), when each status has an index of its ids
    (SQLite's `status_probe`); else none."""
    pairs = _only_statuses(compiled, params)
    return pairs if probes_statuses(pairs) else []


def _only_statuses(
    compiled: Compiled, params: ListParams, driver: TextDriver | None = None
) -> list[tuple[str, str]]:
    """The (state, status) pairs of a text search that nothing else filters, when it names its
    statuses (see `_listed`); else none. `driver`: the text, when not the query's own driver
    (`query=NOT text`'s)."""
    driver = driver if driver is not None else compiled.driver
    if driver is None or not isinstance(driver.rest, True_) or state_and_statuses(compiled.counted) is None:
        return []
    if params.tag_names or params.customFieldsByIds or params.modifiedSince or params.number is not None:
        return []
    return _listed(compiled.counted)


def _looks_up_statuses(
    conn: Connection, driver: TextDriver, statuses: Sequence[tuple[str, str]], matched: int | None = None
) -> bool:
    """Whether the text's matches are looked up in the indexes of ids of `statuses` (see
    `PROBED_PER_ALLOWED`) rather than checked against their conversations' ids listed first.
    `matched`: how many the text matches, when counted already; else counted up to the bar."""
    if not statuses or not status_indexes_exist(conn):
        return False
    bar = int(PROBED_PER_ALLOWED * _allowed_of_statuses(conn, statuses))
    if matched is None:
        matched = _count(conn, driver.ids().limit(bar + 1))
    return matched <= bar


def _matches_many(conn: Connection, matched: int, statuses: Sequence[tuple[str, str]]) -> bool:
    """Whether a text whose matches among these (state, status) pairs alone are `matched` matches
    over `SMALL_TEXT_MATCH` conversations in all, by those statuses' share of every one: its
    total is then kept as any large text's (`LARGE_TOTAL_SECONDS`), as when its every match was
    counted. Recounting `espresso`'s 863 active ones (12,804 in all) on each request took
    PostgreSQL's CPU from 5-6 to 8-10 ms a request under load."""
    return matched * _allowed(conn, []) > SMALL_TEXT_MATCH * max(_allowed_of_statuses(conn, statuses), 1)


def _allowed_of_statuses(conn: Connection, statuses: Sequence[tuple[str, str]]) -> int:
    """How many conversations these (state, status) pairs of one state hold, from the kept counts."""
    return _allowed(conn, [("state", statuses[0][0]), ("status", tuple(status for _, status in statuses))])


def _allowed(conn: Connection, counted: list[tuple[str, Any]]) -> int:
    """How many conversations the state, mailboxes and statuses allow, from the kept counts."""
    return int(conn.execute(_allowed_total(counted)).scalar_one())


def _allowed_total(counted: list[tuple[str, Any]]) -> Select[Any]:
    """`_kept_total` of the state, mailboxes and statuses alone."""
    return _kept_total([(name, value) for name, value in counted if name in _COUNTED_ALWAYS], [])


def _tags_drive(conn: Connection, tag_ids: list[int], allowed: int) -> bool:
    """SQLite: whether a COUNT lists the tagged conversations first (`id IN (tagged)`) rather
    than probe each of the `allowed` conversations for a tag (EXISTS).

    Chosen from the kept counts: the probe costs per allowed conversation, the list per tagged
    row. Two common tags at 1M (274k tagged rows): `status=all` (1M conversations) 719 -> 372 ms
    for the count; `status=active` (70k) stays with the probe (49 ms, against 258 listed first).
    PostgreSQL picks a hash join itself once it knows the tags' ids.
    """
    tagged = select(func.coalesce(func.sum(conversation_tag_counts.c.n), 0)).where(
        conversation_tag_counts.c.tag_id.in_(tag_ids)
    )
    return int(conn.execute(tagged).scalar_one()) < LISTED_FIRST_SHARE * allowed


def _lists_first(conn: Connection, listed: Select[Any], allowed: int) -> bool:
    """SQLite: whether a COUNT lists `listed` (conversation ids, read through an index) first,
    as `_tags_drive` decides for tags; with no kept count for them, the matches are counted up
    to the share that decides, so this costs at most what listing them would."""
    cap = int(LISTED_FIRST_SHARE * allowed)
    if cap == 0:
        return False
    return _count(conn, listed.limit(cap)) < cap


_COUNTED_ALWAYS = frozenset({"state", "mailbox_id", "status"})


def _query_as_tag(params: ListParams) -> ListParams:
    """`query=tag:vip` alone as `tag=vip`, whose total the trigger-kept counts give: as a query,
    its conversations were counted one by one (SQLite, 33k for `tag:vip` with every status:
    140 ms at 1M conversations, against ~5). Only where both mean the same: no other tag
    asked for (several in `tag=` are ORed, `query=` ANDs), and a value that `tag=` would not
    split at a comma or trim."""
    if not params.query or params.tag:
        return params
    try:
        node = parse_query(params.query)
    except QueryError:
        return params
    if not isinstance(node, Term) or node.field != "tag" or node.prefix:
        return params
    value = node.value
    if not value or "," in value or value != value.strip():
        return params
    return params.model_copy(update={"tag": value, "query": None})


def build(conn: Connection, caller: Caller, params: ListParams, now: datetime) -> Compiled:
    """Every filter as one SQL condition (combined with AND), and the ORDER BY."""
    state = _folder_state(conn, params.folder) if params.folder is not None else "published"
    params = _query_as_tag(params)
    if _is_simple(params):
        return _simple_compiled(
            conn.dialect.name,
            _visibility(caller),
            params.mailbox,
            params.status,
            params.tag,
            params.assigned_to,
            params.folder,
            state,
            params.sortField,
            params.sortOrder,
        )
    c = conversations.c
    errors: list[FieldError] = []
    tag_ids = list(tag_ids_by_name(conn, params.tag_names).values()) if params.tag_names else None
    conditions, counted = _request_filters(params, _visibility(caller), state, tag_ids)
    # What the COUNT reads (`Compiled.counted_by`): on SQLite, a filter whose matches are listed
    # more cheaply than the other filters' conversations are probed is listed first.
    counting = list(conditions)
    choosing = (
        conn.dialect.name == "sqlite" and not params.query and bool(tag_ids or params.customFieldsByIds)
    )
    allowed = _allowed(conn, counted) if choosing else 0
    if choosing and tag_ids and _tags_drive(conn, tag_ids, allowed):
        counting, _ = _common_filters(params, _visibility(caller), state, tag_ids, tags_drive=True)
    since = None
    if params.modifiedSince is not None:
        since = c.modified_at >= params.modifiedSince
        conditions.append(since)
        counting.append(since)
    if params.number is not None:
        conditions.append(c.number == params.number)
        counting.append(conditions[-1])
    if params.customFieldsByIds:
        for probe, listed in _custom_field_conditions(conn, params, errors):
            conditions.append(probe)
            if choosing and listed is not None and _lists_first(conn, listed, allowed):
                counting.append(c.id.in_(listed))
            else:
                counting.append(probe)
    counted_by = None
    if any(a is not b for a, b in zip(counting, conditions, strict=True)):
        counted_by = and_(*counting)
    score = None
    driver: TextDriver | None = None
    query: CompiledQuery | None = None
    others = list(conditions)
    if params.query:
        try:
            node = parse_query(params.query)
            if node is not None:
                named = tag_names(node)
                known = tag_ids_by_name(conn, named) if named else {}
                query = compile_query(node, dialect=conn.dialect.name, now=now, tag_ids=known)
                conditions.append(query.condition)
                score = query.score
                driver = query.driver
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
    named_text = None
    if driver is not None and _names_a_customer(conn, driver):
        named_text = _named_text(conn, node, driver, query)
        driver = None
    lead = allowed_by_counts = lead_expected = None
    lead_probes = False
    unled: list[ColumnElement[bool]] | None = None
    if query is not None and driver is None and query.lists:
        leading = _leading_list(conn, query, counted)
        lead, allowed_by_counts = leading.number, leading.allowed
        if lead is not None:
            lead_expected = _expected_beside(conn, leading)
            unled = list(conditions)
            conditions[-1] = query.leading[lead]
            probed_beside = query.leading_probed[lead]
            if probed_beside is not None and _probes_beside_the_lead(lead_expected, leading):
                conditions[-1] = probed_beside
                lead_probes = True
            if conn.dialect.name == "sqlite" and not any(name == "status" for name, _ in counted):
                # Every status: `state = ?` alone, which SQLite took to keep ~10 conversations
                # and walked (all of them) rather than look the list's ids up.
                conditions[0] = out_of_reach(c.state) == state
    walked = None
    if (
        params.modifiedSince is not None
        and conn.dialect.name == "sqlite"
        and params.sortField != "modifiedAt"
    ):
        unindexed = _modified_since(params.modifiedSince)
        walked = and_(*[unindexed if condition is since else condition for condition in conditions])
        if unled is not None:
            unled = [unindexed if condition is since else condition for condition in unled]
    return Compiled(
        and_(*conditions),
        _sort_keys(params, score),
        score,
        driver,
        and_(*others, driver.rest) if driver is not None else None,
        walked=walked,
        counted_by=counted_by,
        query=query,
        counted=counted,
        requested=and_(*others) if others else None,
        lead=lead,
        lead_probes=lead_probes,
        unled=and_(*unled) if unled is not None else None,
        allowed=allowed_by_counts,
        lead_expected=lead_expected,
        named=named_text,
    )


def _named_text(
    conn: Connection, node: Any, driver: TextDriver, query: CompiledQuery | None
) -> NamedText | None:
    """SQLite: the query's text and customers, when it is one bare term that names customers."""
    if conn.dialect.name != "sqlite" or query is None or not isinstance(driver.rest, True_):
        return None
    if not isinstance(node, Term) or node.field is not None or len(query.lists) != 1:
        return None
    return NamedText(driver, bare_term_customers(node.value, node.prefix))


# A query's list of ids is read first (see `_leading_list`) when it holds fewer ids than this.
LISTED_IDS_CAP = 50_000


class Lead(NamedTuple):
    """Which of a query's id lists is read first (None: none), how many conversations the state,
    mailboxes and statuses allow (the kept counts; None when not asked), and how long the list
    was counted to be (a prefix's on PostgreSQL: as planned; None when not counted)."""

    number: int | None
    allowed: int | None = None
    length: int | None = None


def _leading_list(conn: Connection, query: CompiledQuery, counted: list[tuple[str, Any]]) -> Lead:
    """Which of the query's id lists (`CompiledQuery.lists`) is read first, if any (see
    `Lead`). The first list shorter than `LISTED_FIRST_SHARE` of those, as `_tags_drive`
    decides, and than `LISTED_IDS_CAP`; counting a list up to that costs at most what reading
    it first would. A list short by what it is (`IdList.short`) is read first uncounted; a
    prefix's, which is not counted (`IdList.countable`), only on PostgreSQL, by the planner's
    estimate; one whose two forms are the same (PostgreSQL's `tag:`) is not asked about."""
    for number, id_list in enumerate(query.lists):
        if id_list.short:
            return Lead(number)
    undecided = [
        (n, id_list) for n, id_list in enumerate(query.lists) if id_list.probed is not id_list.listed
    ]
    if not undecided:
        return Lead(None)
    allowed = _allowed(conn, counted)
    cap = min(int(LISTED_FIRST_SHARE * allowed), LISTED_IDS_CAP)
    if cap == 0:
        return Lead(None, allowed)
    for number, id_list in undecided:
        if id_list.countable:
            counter = _kept_statement(id_list, (), ("listed",), partial(_capped_length, id_list.ids))
            length = int(counter.rows(conn, cap=cap)[0][0])
            if length < cap:
                return Lead(number, allowed, length)
        elif conn.dialect.name == "postgresql":
            planned = _planned_length(conn, id_list, cap)
            if planned < cap:
                return Lead(number, allowed, planned)
    return Lead(None, allowed)


# Beside a list read first, the other conjuncts' texts (SQLite) and tags are tested on each
# conversation (`CompiledQuery.leading_probed`) when about this many conversations or fewer are
# expected to be tested. Set for SQLite's texts, the dearest test: ~75 µs each for a common word
# (`john refund` with every status: 3,359 tested in 269 ms against `refund` listed in 247), where
# listing a common word's matches costs ~100 ms whatever the list beside it (active only: 13 ms
# against 102); a tag's keys cost ~1 µs. The expectation counts the list with repeats (`john`:
# 6,806 ids for 3,359 conversations).
PROBED_BESIDE_THE_LEAD = 1_000


def _probes_beside_the_lead(expected: int | None, lead: Lead) -> bool:
    """Whether the conversations of the list read first that the filters allow, `expected`
    (`_expected_beside`), are at most `PROBED_BESIDE_THE_LEAD`; a list short by what it is (an
    address's, not counted) always is."""
    if expected is None:
        return lead.allowed is None
    return expected <= PROBED_BESIDE_THE_LEAD


def _expected_beside(conn: Connection, lead: Lead) -> int | None:
    """About how many conversations of the list read first the filters allow: its length times
    the filters' share of every conversation, by the kept counts, rounded up (None: its length
    unknown)."""
    if lead.length is None or lead.allowed is None:
        return None
    return -(-lead.length * lead.allowed // max(_allowed(conn, []), 1))


def _planned_length(conn: Connection, id_list: IdList, cap: int) -> int:
    """PostgreSQL: how long a prefix's list is, for `_leading_list`. GIN builds its whole
    bitmap before any LIMIT (`jo*` 263 ms to count to the cap), where the planner's estimate
    costs ~1 ms and is close for a prefix's text. Not for the customers a name prefix picks,
    of whom it knows nothing (`gibs*` at 1M conversations: 30k conversations expected, 3.3k
    found), so those are counted, up to what the cap leaves."""
    if id_list.parts is None:
        plan = _kept_statement(id_list, (), ("planned",), partial(explained, id_list.ids))
        return rows_in_plan(plan.rows(conn)[0][0])
    text_ids, owned = id_list.parts
    plan = _kept_statement(id_list, (), ("planned text",), partial(explained, text_ids))
    planned = rows_in_plan(plan.rows(conn)[0][0])
    if planned >= cap:
        return planned
    counted = _kept_statement(id_list, (), ("owned",), partial(_capped_length, owned))
    return planned + int(counted.rows(conn, cap=cap - planned)[0][0])


def walks_to_the_page(total: int, allowed: int, through: int) -> bool:
    """Whether a page is found sooner walking the sort's index over the `allowed` conversations,
    probing each, than by reading the `total` matches of a list and sorting them: the walk
    reads about `allowed / total` conversations per match up to the page's last (`through`)."""
    return through * allowed < total * total


def _capped_length(ids: Select[Any]) -> Select[Any]:
    """How many ids `ids` selects, up to the bound `cap`."""
    return _counted(ids.limit(bindparam("cap")))


def _modified_since(since: datetime) -> ColumnElement[bool]:
    """`modified_at >= since` out of the indexes' reach, for SQLite's page of many matches.

    Given the index on modification time, SQLite read every match through it and sorted them
    for the page (76 ms for 36k matches at 1M conversations); walking the sort's index and
    checking each row stops after the page (0.3 ms). The count still uses that index, and so
    does a list sorted by modification time, for which it is the sort's index.
    """
    return out_of_reach(conversations.c.modified_at) >= since


def _folder_state(conn: Connection, folder_id: int) -> str:
    """The state a folder lists: drafts in the drafts folder, published conversations elsewhere."""
    kind = conn.execute(select(folders.c.type).where(folders.c.id == folder_id)).scalar()
    return "draft" if kind == "drafts" else "published"


# The kept counts by what they count besides mailbox, state and status.
_KEPT_BY = {"assignee_id": conversation_assignee_counts, "folder_id": conversation_folder_counts}


def _kept_total(counted: list[tuple[str, Any]], tag_names: list[str]) -> Select[Any]:
    """The sum over the trigger-kept counts matching state, mailboxes, statuses and the one tag,
    assignee or folder."""
    counts = conversation_tag_counts if tag_names else conversation_counts
    for column_name, _ in counted:
        counts = _KEPT_BY.get(column_name, counts)
    where = _kept_filters(counts, counted)
    if tag_names:
        where.append(
            conversation_tag_counts.c.tag_id.in_(select(tags.c.id).where(tags.c.name == tag_names[0]))
        )
    return select(func.coalesce(func.sum(counts.c.n), 0)).where(*where)


def _kept_filters(counts: Table, counted: list[tuple[str, Any]]) -> list[ColumnElement[bool]]:
    """The kept counts' rows of the state, mailboxes and statuses asked for (`counted`)."""
    where: list[ColumnElement[bool]] = []
    for column_name, wanted in counted:
        column_ = counts.c[column_name]
        if isinstance(wanted, str | int):
            where.append(column_ == wanted)
        else:
            where.append(column_.in_(wanted) if wanted else false())
    return where


def _tag_union_total(conn: Connection, compiled: Compiled, params: ListParams) -> int | None:
    """The total of `query=tag:a OR tag:b …` (`CompiledQuery.tag_union`) from the tags' kept
    counts: the largest tag's conversations the filters allow, plus, for each other tag in
    turn, its allowed conversations that no tag before it has, walked from the tag's index.
    None where the kept counts do not cover the filters, or where walking those tags' lists
    (every status) would read more rows than the filters allow (then the query is counted as
    any: each allowed conversation's keys probed).

    Counted as any, every allowed conversation was tested for the tags: at 1M, `tag:vip OR
    tag:billing` (33k and 179k conversations) among the 58k active ones took SQLite 38–48 ms
    and PostgreSQL 47–53; walking `vip`'s 33k rows for those without `billing` 28–39 and 12."""
    query = compiled.query
    if query is None or query.tag_union is None or compiled.requested is None:
        return None
    alone = not params.tag_names and params.assigned_to is None and params.folder is None
    if not (alone and _kept_counts_cover(params)):
        return None
    counts = conversation_tag_counts
    allowed_here = func.sum(
        case((and_(true(), *_kept_filters(counts, compiled.counted)), counts.c.n), else_=0)
    )
    sizes = {
        tag_id: (int(allowed_n), int(every_n))
        for tag_id, allowed_n, every_n in conn.execute(
            select(counts.c.tag_id, allowed_here, func.sum(counts.c.n))
            .where(counts.c.tag_id.in_(query.tag_union))
            .group_by(counts.c.tag_id)
        )
    }
    order = sorted(sizes, key=lambda tag_id: (-sizes[tag_id][0], tag_id))
    if sum(sizes[tag_id][1] for tag_id in order[1:]) > _allowed(conn, compiled.counted):
        return None
    requested = compiled.requested
    earlier = conversation_tags.alias("earlier")
    walked = ReadFirst(
        conversation_tags, conversations, conversations.c.id == conversation_tags.c.conversation_id
    )

    total = sizes[order[0]][0] if order else 0
    for at, tag_id in enumerate(order[1:], start=1):
        tagged_before = (
            select(literal(1))
            .where(
                earlier.c.conversation_id == conversation_tags.c.conversation_id,
                earlier.c.tag_id.in_(order[:at]),
            )
            .exists()
        )
        statement = (
            select(func.count())
            .select_from(walked)
            .where(conversation_tags.c.tag_id == tag_id, requested, ~tagged_before)
        )
        total += int(conn.execute(statement).scalar_one())
    return total


def _names_a_customer(conn: Connection, driver: TextDriver) -> bool:
    """Whether a bare term of the driver also names a customer (then the text alone is not enough)."""
    return any(names_a_customer(conn, value, prefix) for value, prefix in driver.bare_terms)


def _custom_field_conditions(
    conn: Connection, params: ListParams, errors: list[FieldError]
) -> list[tuple[ColumnElement[bool], Select[Any] | None]]:
    """Per field filter: the condition probing a conversation's value (EXISTS), and for exact
    values the ids of the conversations holding it, read through the (field_id, value) index
    (None for words of a single-line text, which no index finds)."""
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
    conditions: list[tuple[ColumnElement[bool], Select[Any] | None]] = []
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
        listed: Select[Any] | None = select(conversation_fields.c.conversation_id).where(
            conversation_fields.c.field_id == field_id, match
        )
        if kind == "singleline":
            # All words of the value must occur as words of the stored text, case-insensitively.
            padded = " " + func.lower(conversation_fields.c.value) + " "
            words = re.findall(r"\w+", value.lower())
            match = and_(*[padded.like(f"% {w} %") for w in words]) if words else false()
            listed = None
        probe = exists().where(
            conversation_fields.c.conversation_id == conversations.c.id,
            conversation_fields.c.field_id == field_id,
            match,
        )
        conditions.append((probe, listed))
    return conditions


# A text search counts its matches through the index when they are few; a larger total is
# estimated (`ESTIMATE_STRATA`), or with `estimate_large_totals` off counted exactly (0.6 s for
# "the" at 1M conversations), and either is kept per process for `LARGE_TOTAL_SECONDS` and
# reused by the next pages of the same search. While it is kept, the search is not even checked
# for being large: on SQLite that check reads up to `SMALL_TEXT_MATCH` matches (PostgreSQL asks
# its planner first, see `PLANNED_MANY`). Pages are always read fresh.
SMALL_TEXT_MATCH = 10_000
LARGE_TOTAL_SECONDS = 60.0
# PostgreSQL knows roughly how many documents a text matches before reading any (its statistics
# of the documents' words; planning takes ~1 ms), and counts accordingly. A text it expects to
# match `PLANNED_MANY` or more goes straight to the estimate: the check that the match is large
# read its first 10,001 matches, and for a word in 6-8 % of the documents the planner, expecting
# to find them early, read every document in turn (0.35-0.46 s at 1M conversations). Any other
# text is counted in one statement, its matches read from the GIN index up to `COUNTED_CAP`,
# with how many of them the filters keep: "espresso" (12,804 matches, 863 of them active) took
# 159 ms to check, sample and count, and takes 26-30 ms. Only past the cap is it estimated.
PLANNED_MANY = 50_000
COUNTED_CAP = 50_000
# PostgreSQL's planner costs a text match as if the document were at hand, so for a count over
# most of the documents it prefers reading every one back from TOAST (6.8 s for "the" at 1M)
# to the GIN index, whose bitmap then overflows the default work_mem and goes lossy, which means
# reading them back anyway (2.8 s). With room for an exact bitmap, the index preferred and the
# server's parallel workers (this count is rare and kept, like a report): "the" 0.4 s, a body
# phrase 0.8 s, the benchmark's compound query 1.5 s.
LARGE_COUNT_PLAN: dict[str, str | None] = {
    "work_mem": "64MB",
    "enable_seqscan": "off",
    "max_parallel_workers_per_gather": None,
}


@dataclass(frozen=True)
class TextTotal:
    value: int
    estimated: bool = False


_large_totals = TtlCache[tuple[Any, ...], TextTotal](max_entries=512, seconds=LARGE_TOTAL_SECONDS)

# Any other query's total that took this long to count, among at least `SMALL_TEXT_MATCH`
# conversations the filters allow, is kept the same way for the next pages of the search: at 1M
# conversations `NOT the` took 0.24 s on SQLite and 0.5 s on PostgreSQL, `number:[1000 TO
# 500000]` 0.14 s on both, `the OR tag:vip` 0.25 s, on each page. The time is the wall clock's,
# so under load more totals are kept; a small table's count is never slow but for a stall, and
# is not kept.
SLOW_TOTAL_SECONDS = 0.1


def _slow_total(key: tuple[Any, ...], count: Callable[[], int], allowed: Callable[[], int]) -> TextTotal:
    """The total `count` gives, or the one kept under `key` (see `SLOW_TOTAL_SECONDS`);
    `allowed`: how many conversations the filters besides the query allow."""
    kept = _kept_slow_total(key)
    if kept is not None:
        return kept
    started = time.perf_counter()
    total = TextTotal(count())
    _keep_if_slow(key, total, time.perf_counter() - started, allowed)
    return total


def _keep_if_slow(key: tuple[Any, ...], total: TextTotal, seconds: float, allowed: Callable[[], int]) -> None:
    """Keep `total` under `key` for `_kept_slow_total` when finding it took `seconds` of at
    least `SLOW_TOTAL_SECONDS` (see there)."""
    if seconds >= SLOW_TOTAL_SECONDS and allowed() >= SMALL_TEXT_MATCH:
        _large_totals.put(("counted", *key), total)


def _kept_slow_total(key: tuple[Any, ...]) -> TextTotal | None:
    """The total `_slow_total` keeps under `key`, if it does."""
    return _large_totals.get(("counted", *key))


# Counting a large match exactly took 0.2-2 s on SQLite and 1.5-6 s on PostgreSQL at 1M
# conversations (each process's first request of the search, and every one of them while the
# count runs). Instead its total is estimated from a sample, read from the text index in its own
# key order ((createdAt, id) on SQLite, id on PostgreSQL): the key range is cut into
# `ESTIMATE_STRATA` equal slices, and each slice gives its first `ESTIMATE_SAMPLE` matches. How far
# into its slice they reach says how dense the matches are there, and how many of them pass the
# other filters says how many of those count. Measured at 1M against the exact counts ("the",
# "order", a body phrase, an OR of both, with the default, closed and every status): within 7 %,
# in 5-15 ms on SQLite and 16-66 ms on PostgreSQL. An estimate below `SMALL_TEXT_MATCH` (a large
# text match that the filters make small) is counted exactly instead. Pages are always exact.
ESTIMATE_STRATA = 64
ESTIMATE_SAMPLE = 32
# PostgreSQL checks the documents of a slice one by one and stops after this many, the matches
# among them standing for the slice: "espresso", in 1.3 % of the documents, read 2,300 a slice
# (0.56 s); capped, 66 ms (13 of them planning the 64 slices) and 7.7 % under the count.
ESTIMATE_CHECKED = 256


# SQLite counts a large match one of two ways. By default it lists the text's matches and looks
# each one up among the filtered conversations: ~1.2 µs per match. When the filters keep fewer
# conversations than the text matches, listing those instead and walking the text's matches
# past the list costs ~0.15 µs per match: "the" with the default status at 1M conversations
# 1.15 s -> 0.34 s, with every status 2.45 s -> 0.88 s. Sizing the filters first reads at most
# `FILTER_SIDE_CAP` of them; beyond that the default way is kept.
FILTER_SIDE_CAP = 200_000


def _count(conn: Connection, query: Select[Any]) -> int:
    return int(conn.execute(_counted(query)).scalar_one())


def _exact_text_count(
    conn: Connection,
    driver: TextDriver,
    filters: ColumnElement[bool],
    statuses: Sequence[tuple[str, str]] = (),
) -> int:
    """How many of a text's many matches the filters keep, counted: with estimates off, or when
    the estimate comes out below `SMALL_TEXT_MATCH`. `statuses`: the filters are these (state,
    status) pairs alone (`_statuses_alone`)."""
    matched = select(conversations.c.id).where(c_id_in(driver.ids()), filters)
    if conn.dialect.name == "sqlite":
        text_matches = _count(conn, driver.ids())
        if _looks_up_statuses(conn, driver, statuses, text_matches):
            return _count(conn, driver.ids(listed=statuses))
        cap = min(text_matches, FILTER_SIDE_CAP)
        kept = select(conversations.c.id).where(filters)
        if _count(conn, kept.limit(cap)) < cap:
            matches = driver.ids().subquery()
            return _count(conn, select(matches).where(matches.c.id.in_(kept)))
    with postgres_settings(conn, **LARGE_COUNT_PLAN):
        return _count(conn, matched)


def _estimated_text_count(conn: Connection, driver: TextDriver, filters: ColumnElement[bool]) -> int:
    """The number of matches the filters keep, estimated from a sample (see `ESTIMATE_STRATA`)."""
    low, high = conn.execute(driver.key_bounds()).one()
    if low is None:
        return 0
    low, high = int(low), int(high)
    width = (high - low) / ESTIMATE_STRATA
    bounds = []
    for number in range(ESTIMATE_STRATA):
        start = low + int(number * width)
        end = high if number == ESTIMATE_STRATA - 1 else low + int((number + 1) * width)
        if end > start:
            bounds.append((start, end))
    sampled = driver.sample(conn, bounds, ESTIMATE_SAMPLE, ESTIMATE_CHECKED)
    kept = select(conversations.c.id).where(any_id(conversations.c.id, "sampled_ids"), filters)
    passing_ids = set(conn.execute(kept, {"sampled_ids": [match.id for match in sampled]}).scalars())
    by_range: dict[int, list[Sampled]] = {}
    for match in sampled:
        by_range.setdefault(match.range_index, []).append(match)
    total = 0.0
    for number, matches in by_range.items():
        start, end = bounds[number]
        passing = sum(match.id in passing_ids for match in matches)
        checked_to = matches[0].checked_to
        if len(matches) >= ESTIMATE_SAMPLE:
            # n matches in (last key - start) keys: (n - 1) / span is the unbiased density.
            density = (len(matches) - 1) / (max(match.key for match in matches) - start)
            total += passing / len(matches) * density * (end - start)
        elif checked_to is None:
            total += passing  # the range's every match was read
        else:
            total += passing * (end - start) / (checked_to - start + 1)  # among those checked
    return round(total)


def _large_text_total(
    conn: Connection,
    driver: TextDriver,
    filters: ColumnElement[bool],
    *,
    estimate: bool,
    statuses: Sequence[tuple[str, str]] = (),
) -> TextTotal:
    """Estimated (with `estimate`) or counted. A prefix SQLite does not read as its words (too
    many, or too rare) is counted there: FTS5 merges every word of the prefix for each of the estimate's
    slices (`order*` at 1M conversations: 2.5 s to estimate, 0.18 s to count)."""
    sqlite_merges = (
        conn.dialect.name == "sqlite" and driver.prefixed and not driver.walks_prefixes_by_words(conn)
    )
    if estimate and not sqlite_merges:
        estimated = _estimated_text_count(conn, driver, filters)
        if estimated >= SMALL_TEXT_MATCH:
            return TextTotal(estimated, estimated=True)
    return TextTotal(_exact_text_count(conn, driver, filters, statuses))


def _text_total(
    conn: Connection,
    driver: TextDriver,
    filters: ColumnElement[bool],
    cache_key: tuple[Any, ...],
    shape: tuple[Any, ...] | None,
    *,
    estimate: bool,
    statuses: Sequence[tuple[str, str]] = (),
) -> TextTotal:
    """The number of matches: counted through the text index when the text matches few (on
    PostgreSQL; SQLite's few are read by `_few_text_matches` first), else estimated (with
    `estimate`) or counted once and kept (see `LARGE_TOTAL_SECONDS`). `shape`: see
    `_search_shape`; `statuses`: see `_exact_text_count`."""
    kept = _large_totals.get(cache_key)
    if kept is not None:
        return kept
    if conn.dialect.name == "postgresql":
        plan = _kept_statement(driver, shape, ("plan",), lambda: explained(driver.ids())).rows(conn)
        planned_few = rows_in_plan(plan[0][0]) < PLANNED_MANY
        if planned_few and driver.narrowed_to(statuses):
            # The text index finds the statuses' matches by their lexemes: no conversation read.
            counter = _kept_statement(
                driver, shape, ("narrowed",), partial(_capped_length, driver.ids(listed=statuses))
            )
            narrowed = int(counter.rows(conn, cap=COUNTED_CAP + 1)[0][0])
            if narrowed <= COUNTED_CAP:
                total = TextTotal(narrowed)
                if _matches_many(conn, narrowed, statuses):
                    _large_totals.put(cache_key, total)
                return total
        elif planned_few:
            matched, passing = _capped_text_count(conn, driver, filters, COUNTED_CAP, shape)
            if matched <= COUNTED_CAP:
                total = TextTotal(passing)
                if matched > SMALL_TEXT_MATCH:
                    _large_totals.put(cache_key, total)
                return total
    return _large_totals.get_or_compute(
        cache_key, lambda: _large_text_total(conn, driver, filters, estimate=estimate, statuses=statuses)
    )


# SQLite reads a text's matches once when they are few. Its page, its count and the check that
# the match is small were three statements, and FTS5 evaluated the text in each: a phrase of
# common words costs it 100-150 ms (the position lists of every document holding them all)
# whether it matches 16 conversations or none, so `body:"my order"` took ~290 ms at 1M
# conversations and "refund for my order" (no match) ~500 ms. One statement now materialises the
# first `SMALL_TEXT_MATCH` + 1 matches, and only when they are all of them keeps those the
# filters pass and reads the count and the page from them: ~98 and ~281 ms a request. A large
# match pays for reading 10,001 matches instead of counting them (1.2 -> 3.2-3.8 ms), once per
# `LARGE_TOTAL_SECONDS` while its total is kept.
def _few_text_matches(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    offset: int,
    limit: int,
) -> tuple[int, list[dict]] | None:
    """SQLite: the total and the page's rows of a text matching at most `SMALL_TEXT_MATCH`
    conversations, from the text index read once; None when it matches more."""
    driver, filters = compiled.driver, compiled.filters
    assert driver is not None and filters is not None, "a text search"
    # Among statuses alone, each match is looked up in their indexes of ids rather than its row.
    statuses = _statuses_alone(compiled, params)
    if statuses and not status_indexes_exist(conn):
        statuses = []

    def build() -> Select[Any]:
        matches = materialized(driver.ids(limit=SMALL_TEXT_MATCH + 1).cte("text_matches"))
        matched = materialized(select(func.count().label("n")).select_from(matches).cte("matched"))
        few = select(matched.c.n).scalar_subquery() <= SMALL_TEXT_MATCH
        if statuses:
            kept = materialized(
                select(matches.c.id).where(few, status_probe(statuses, of=matches.c.id)).cte("kept")
            )
        else:
            kept = materialized(
                select(conversations.c.id)
                .select_from(ReadFirst(matches, conversations, conversations.c.id == matches.c.id))
                .where(few, filters)
                .cte("kept")
            )
        # A relevance score is read from one pass over the text index that ranks the kept
        # matches only: the scored text may match far more (`espresso beautiful`, both words:
        # 11 matches, but 27,688 documents hold either, each ranked, 55 ms at 1M).
        score = None
        if params.sortField == "score" and compiled.query is not None:
            score = compiled.query.score_of(select(kept.c.id))
        page = _numbered_page(kept, _sort_keys(params, score, past_indexes=True))
        total = select(func.count()).select_from(kept).scalar_subquery()
        return (
            select(matched.c.n, total.label("total"), page.c.id)
            .select_from(matched.outerjoin(page, true()))
            .order_by(page.c.position)
        )

    kind = ("few text", params.sortField, params.sortOrder, SMALL_TEXT_MATCH, bool(statuses))  # as built
    statement = _kept_statement(driver, shape, kind, build)
    rows = statement.rows(conn, offset=offset, limit=limit)
    if rows[0][0] > SMALL_TEXT_MATCH:
        return None
    return int(rows[0][1]), repository.by_ids(conn, [row[2] for row in rows if row[2] is not None])


def _numbered_page(
    matches: CTE, order: list[UnaryExpression[Any]], *conditions: ColumnElement[bool]
) -> Subquery:
    """The conversations `matches` holds (where `conditions` hold), numbered in `order`, cut to
    the page by the same `offset` and `limit` parameters as `windowed`: columns `id` and
    `position`, for a statement that also counts the matches it read once."""
    numbered = (
        select(conversations.c.id, func.row_number().over(order_by=order).label("position"))
        .select_from(ReadFirst(matches, conversations, conversations.c.id == matches.c.id))
        .where(*conditions)
        .subquery("numbered")
    )
    skipped = bindparam("offset", type_=Integer)
    return (
        select(numbered)
        .where(
            numbered.c.position > skipped,
            numbered.c.position <= skipped + bindparam("limit", type_=Integer),
        )
        .subquery("page")
    )


def _counted(query: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(query.subquery())


def _capped_text_count(
    conn: Connection,
    driver: TextDriver,
    filters: ColumnElement[bool],
    cap: int,
    shape: tuple[Any, ...] | None,
) -> tuple[int, int]:
    """How many conversations the text matches, read up to `cap` + 1, and how many of those the
    filters keep: the exact total whenever the first figure is at most `cap`."""

    def build() -> Select[int, int]:
        matches = driver.ids(limit=cap + 1).subquery()
        kept = and_(conversations.c.id == matches.c.id, filters)
        return select(func.count(), func.count(conversations.c.id)).select_from(
            matches.outerjoin(conversations, kept)
        )

    matched, passing = _kept_statement(driver, shape, ("capped", cap), build).rows(conn)[0]
    return int(matched), int(passing)


def _totals_key(conn: Connection, caller: Caller, params: ListParams) -> tuple[Any, ...]:
    """What a total depends on: the database, what the caller may see, and every filter."""
    filters = params.model_dump(exclude={"page", "sortField", "sortOrder", "embed"})
    visible = tuple(sorted(caller.mailbox_ids)) if caller.mailbox_ids is not None else None
    return (str(conn.engine.url), visible, tuple(sorted((k, str(v)) for k, v in filters.items())))


def c_id_in(ids: Select[Any]) -> ColumnElement[bool]:
    return conversations.c.id.in_(ids)


def _text_page(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    offset: int,
    limit: int,
    probed: bool,
) -> list[dict]:
    """One page of a text search's matches, through its statement kept per shape; `probed`: see
    `_probes_the_page`."""
    page = _text_page_statement(conn, compiled, params, shape, probed)
    return _rows_of(conn, page, offset, limit)


# SQLite: testing one conversation's document for a text (`TextDriver.probe`) costs up to ~200
# µs, for the most common words (at 1M conversations `the` 180 µs, `refund` 31, `espresso` 11),
# where listing a match for `id IN (…)` costs ~0.25 µs.
PROBE_TO_LIST_COST = 800


def _probes_the_page(
    conn: Connection, compiled: Compiled, params: ListParams, total: int, through: int
) -> bool:
    """SQLite, a page of a text with many matches sorted by a field other than createdAt (whose
    page walks the index itself) and relevance: whether it walks the sort's index testing each
    conversation's document rather than list every match of the text first.

    The list holds all the text's matches whatever the page (`the` sorted by subject, 968k
    matches at 1M: 230 ms for page 1). The walk reads about `through × allowed / total`
    conversations (the matches spread evenly through the sort's order); the list holds about
    `total × everyone / allowed` matches (spread over the statuses and mailboxes as the
    conversations are), `everyone` being the state's conversations. The walk is chosen when it
    costs less at the dearest probe (`PROBE_TO_LIST_COST`): `the`'s page 1 230 -> 6 ms, up to
    about its page 48 alike.
    """
    driver = compiled.driver
    if conn.dialect.name != "sqlite" or params.sortField in ("createdAt", "score") or driver is None:
        return False
    if driver.prefixed or total <= 0:  # a prefix is not probed (`TextDriver.probe`)
        return False
    allowed = _allowed(conn, compiled.counted)
    everyone = _allowed(conn, [(name, value) for name, value in compiled.counted if name == "state"])
    return through * allowed * allowed * PROBE_TO_LIST_COST < total * total * everyone


# The statements of a search (page, counts, PostgreSQL's EXPLAIN), kept per compiled query and
# search shape: building and running a select through SQLAlchemy took ~0.4 ms, eight times the
# SQL of a rare word's page (espresso at 1M on SQLite). The owner is the compiled query or its
# text driver (both kept by `compile_query`, with the score the order may use); an entry is
# keyed by the owner's identity and holds it, so the key is never another's; `shape`
# (`_search_shape`) holds every other filter.
_search_statements = TtlCache[tuple[Any, ...], tuple[object, Prepared]](
    max_entries=2048, seconds=float("inf")
)


def _kept_statement(
    owner: object,
    shape: tuple[Any, ...] | None,
    kind: tuple[Any, ...],
    build: Callable[[], ClauseElement],
) -> Prepared:
    """The statement `build` makes for this owner (a text driver or a compiled query) and shape,
    built once (always, for a shape that cannot be kept). Planned on each run on PostgreSQL,
    for the values' own frequencies."""
    key = (*kind, id(owner), shape) if shape is not None else None
    if key is not None:
        found = _search_statements.get(key)
        if found is not None and found[0] is owner:
            return found[1]
    prepared = Prepared(build(), server_prepared=False)
    if key is not None:
        _search_statements.put(key, (owner, prepared))
    return prepared


# Up to this many conversations the state, mailboxes and statuses allow, a page by relevance
# of a text with many matches (over `SMALL_TEXT_MATCH`: the page's path on SQLite) checks its
# matches against those conversations' ids, listed first, rather than probe each match's row:
# listing costs ~0.1 µs an id, probing 1-1.7 µs a match (see `_SqliteText._scores`).
LISTED_FOR_RANKING = 120_000


def _text_page_statement(
    conn: Connection, compiled: Compiled, params: ListParams, shape: tuple[Any, ...] | None, probed: bool
) -> Prepared:
    driver, filters = compiled.driver, compiled.filters
    assert driver is not None and filters is not None, "a text search"
    if probed:

        def probed_page() -> Select[Any]:
            probe = driver.probe()
            assert probe is not None, "chosen by `_probes_the_page`"
            return _page_ids(and_(probe, filters), compiled.order)

        return _kept_statement(
            driver, shape, ("probed page", params.sortField, params.sortOrder), probed_page
        )

    def build() -> Select[Any]:
        if params.sortField == "score" and compiled.query is not None and conn.dialect.name == "sqlite":
            return _relevance_page(conn, compiled, compiled.query, params)
        ranked = None
        if params.sortField == "score" and compiled.query is not None:
            # PostgreSQL: its index finds the matches of the list's statuses by their lexemes.
            ranked = compiled.query.ranked_of_statuses(_only_statuses(compiled, params))
        if ranked is not None:
            return _ranked_in_order(ranked, params)
        walk = driver.ordered() if params.sortField == "createdAt" else None
        if walk is not None:
            # SQLite: the FTS5 rowid is the (createdAt, id) search key, so the matches come out
            # of the index already sorted and a common word costs a page, not its million matches.
            matches = walk.subquery()
            key = matches.c.search_key
            return windowed(
                select(conversations.c.id)
                .join_from(matches, conversations, conversations.c.id == matches.c.id)
                .where(filters)
                .order_by(key.desc() if params.sortOrder == "desc" else key.asc())
            )
        # The driver's ids, not `compiled.condition`: that one keeps the customer-name branch
        # of bare terms (probed: on PostgreSQL an OR, which turns its plan into a pass over
        # every document). By relevance every match the filters keep is ranked, so PostgreSQL's
        # index finds those of the list's statuses itself (`_listed`); other sorts may stop
        # after a page of a walk, which a narrower estimate could trade for reading every match.
        listed = _listed(compiled.counted) if params.sortField == "score" else ()
        return _page_ids(and_(c_id_in(driver.ids(listed=listed)), filters), compiled.order)

    # A relevance page may name the indexes of the ids of its statuses, whose absence (a bulk
    # load under way) must not reach a statement built while they were there.
    named = (
        params.sortField == "score"
        and conn.dialect.name == "sqlite"
        and bool(_statuses_alone(compiled, params))
        and status_indexes_exist(conn)
    )
    return _kept_statement(driver, shape, ("page", params.sortField, params.sortOrder, named), build)


def _relevance_page(
    conn: Connection, compiled: Compiled, query: CompiledQuery, params: ListParams
) -> Select[Any]:
    """SQLite: a page by relevance of a text with many matches, ranking only the matches the
    filters keep (looked up in the indexes of ids of the statuses that alone filter it, or
    checked through their listed ids while the kept counts allow few enough)."""
    driver, filters = compiled.driver, compiled.filters
    assert driver is not None and filters is not None, "a text search"
    listed = _allowed(conn, compiled.counted) <= LISTED_FOR_RANKING
    statuses = _statuses_alone(compiled, params)
    if _looks_up_statuses(conn, driver, statuses):
        ranked = query.ranked_of_statuses(statuses)
    else:
        ranked = query.ranked_among(filters, listed=listed)
    if ranked is None:  # other texts (`a b`: both words) keep the general page
        order = _sort_keys(params, query.score_among(filters, listed=listed))
        return _page_ids(and_(c_id_in(driver.ids()), filters), order)
    # The driver's own text: its scores are the page's matches, sorted as they are (`espresso`
    # at 1M: 863 rows), where the plan otherwise walked the 58k active conversations to find them.
    return _ranked_in_order(ranked, params)


def _ranked_in_order(ranked: Select[Any], params: ListParams) -> Select[Any]:
    """A page of matches ranked with their scores (`CompiledQuery.ranked_among` and the like),
    sorted by score then id in the request's direction."""
    matches = ranked.subquery("ranked")
    descending = params.sortOrder == "desc"
    return windowed(
        select(matches.c.id).order_by(
            matches.c.score.desc() if descending else matches.c.score.asc(),
            matches.c.id.desc() if descending else matches.c.id.asc(),
        )
    )


def _search_shape(params: ListParams, visible: tuple[int, ...] | None) -> tuple[Any, ...] | None:
    """What a search's filters besides the query are made of, when they are only values of the
    request (tags and custom fields are looked up in the database: those statements are built
    for each request)."""
    if params.tag_names or params.customFieldsByIds or params.modifiedSince or params.number is not None:
        return None
    return (visible, params.mailbox, params.status, params.assigned_to, params.folder)


@dataclass(frozen=True)
class Page:
    """A page's document, and until when it reads the same if the data does not change."""

    document: dict[str, Any]
    computed_at: datetime
    # The first instant at which wording derived from the clock, or a NOW in `query=`, may read
    # differently (None: never).
    valid_until: datetime | None


def list_page(
    conn: Connection, request: Request, caller: Caller, params: ListParams, stamp: Hashable | None = None
) -> Page:
    """`stamp`: the data stamp read before the request's first statement, if it was (SQLite's
    deep pages prove with it that an anchor holds: `deep_pages`)."""
    now = timefmt.now()
    compiled = build(conn, caller, params, now)
    document, related = _page_document(conn, request, caller, params, compiled, stamp)
    valid_until = related.changes_at
    if compiled.query is not None and compiled.query.reads_clock:
        next_second = now + timedelta(seconds=1)
        valid_until = next_second if valid_until is None else min(valid_until, next_second)
    return Page(document, now, valid_until)


def _page_document(
    conn: Connection,
    request: Request,
    caller: Caller,
    params: ListParams,
    compiled: Compiled,
    stamp: Hashable | None = None,
) -> tuple[dict[str, Any], Related]:
    offset, limit = window(params.page, PAGE_SIZE)
    if compiled.driver is not None and compiled.filters is not None:
        estimate = request.app.state.settings.estimate_large_totals
        key = _totals_key(conn, caller, params)
        shape = _search_shape(params, _visibility(caller))
        found = None
        if conn.dialect.name == "sqlite" and _large_totals.get(key) is None:
            found = _few_text_matches(conn, compiled, params, shape, offset, limit)
        if found is not None:
            total, rows = found
        else:
            sqlite = conn.dialect.name == "sqlite"
            statuses = _statuses_alone(compiled, params) if sqlite else _only_statuses(compiled, params)
            text_total = _text_total(
                conn, compiled.driver, compiled.filters, key, shape, estimate=estimate, statuses=statuses
            )
            reachable = text_total.estimated or offset < text_total.value  # an estimate may fall short
            probed = _probes_the_page(conn, compiled, params, text_total.value, offset + limit)
            rows = _text_page(conn, compiled, params, shape, offset, limit, probed) if reachable else []
            total = text_total.value
        related = load_related(conn, rows, embed_threads=params.embed == "threads")
        items = [conversation_out(request, row, related) for row in rows]
        return paged(request, "conversations", items, params.page, PAGE_SIZE, total), related
    named = _named_text_page(conn, request, caller, params, compiled, offset, limit)
    if named is not None:
        total, rows = named
    elif compiled.prepared is not None:
        total, rows = compiled.prepared.run(conn, offset, _seek(conn, request, stamp))
    else:
        counting = compiled.counted_by if compiled.counted_by is not None else compiled.condition
        # A search's statements are kept (see `_kept_statement`) when its other filters are
        # values of the request alone; such a shape has no `counted_by` or `walked`.
        shape = _search_shape(params, _visibility(caller)) if compiled.query is not None else None
        if shape is not None:
            shape = (*shape, compiled.lead, compiled.lead_probes)

        def count() -> Select[Any]:
            return select(func.count()).select_from(conversations).where(counting)

        def matches() -> int:
            """The query's total: an OR of tags' from the kept counts where it can be, else counted."""
            union = _tag_union_total(conn, compiled, params)
            if union is not None:
                return union
            return int(_kept_statement(compiled.query, shape, ("count",), count).rows(conn)[0][0])

        estimate = request.app.state.settings.estimate_large_totals
        key = _totals_key(conn, caller, params)
        counted = _complement_total(conn, compiled, params, shape, key, estimate)
        by_days = _created_days_total(compiled, params) if counted is None else None
        if by_days is not None:
            statement, values = by_days
            counted = TextTotal(int(statement.rows(conn, **values)[0][0]))
        led = None
        if counted is None and _reads_few_led_matches(compiled, params, key):
            led = _few_led_matches(conn, compiled, params, shape, offset, limit, cap=FEW_MATCHES)
        elif counted is None and _reads_few_named_matches(compiled, params, key):
            started = time.perf_counter()
            led = _few_led_matches(conn, compiled, params, shape, offset, limit, cap=NAMED_FEW_MATCHES)
            if led is not None:  # kept as a slow count is: the next pages then read only theirs
                seconds = time.perf_counter() - started
                _keep_if_slow(key, TextTotal(led[0]), seconds, lambda: _allowed(conn, compiled.counted))
        if led is not None:
            total, rows = led
        else:
            if counted is None:
                counted = _slow_total(key, matches, lambda: _allowed(conn, compiled.counted))
            total = counted.value
            rows = (
                []
                if offset >= total and not counted.estimated
                else _query_page(conn, compiled, params, shape, total, offset, limit)
            )
    related = load_related(conn, rows, embed_threads=params.embed == "threads")
    items = [conversation_out(request, row, related) for row in rows]
    return paged(request, "conversations", items, params.page, PAGE_SIZE, int(total)), related


# SQLite: named terms whose text was found to match few conversations lately, read the general
# way (`_named_text_page`); for as long as a large total is kept.
_named_few = TtlCache[tuple[Any, ...], bool](max_entries=512, seconds=LARGE_TOTAL_SECONDS)


def _named_text_page(
    conn: Connection,
    request: Request,
    caller: Caller,
    params: ListParams,
    compiled: Compiled,
    offset: int,
    limit: int,
) -> tuple[int, list[dict]] | None:
    """SQLite, by createdAt: the total and page of one bare term that names customers (see
    `NamedText`) and whose text matches many conversations; None for any other query.

    Its matches were listed in full to be looked up (`re*` at 1M conversations: the text's
    978k, 1.4-1.5 s a page). The text's own walk in key order and the customers'
    conversations by createdAt each stop at the page's end instead, merged (`re*` 20-40 ms).
    The total is an estimate: the text's (`_estimated_text_count`) plus the customers'
    conversations the filters keep, each counted as unmatched by the text in the share of the
    allowed conversations the text leaves out (testing each for the text would cost what
    listing the matches did). Where the kept counts allow fewer than `SMALL_TEXT_MATCH`
    conversations, or the text matches that many or fewer (or is estimated at fewer among the
    filters' conversations), or a prefix FTS5 must merge, it is read the general way, exactly.
    """
    named = compiled.named
    if named is None or params.sortField != "createdAt":
        return None
    if not request.app.state.settings.estimate_large_totals:
        return None
    driver = named.driver
    key = ("named", *_totals_key(conn, caller, params))
    if _named_few.get(key):
        return None
    every = compiled.requested if compiled.requested is not None else true()
    text_total = _large_totals.get(key)
    if text_total is None:
        # Once a total is kept the page reads the prefix as its words or, where those are too
        # many or too rare, as FTS5's own prefix by itself (`compile._match_argument`); only the
        # estimate must not merge.
        if driver.prefixed and not driver.walks_prefixes_by_words(conn):
            return None
        allowed = _allowed(conn, compiled.counted)
        if allowed < SMALL_TEXT_MATCH:
            return None  # whatever the text matches, the total is small: counted exactly
        large = _count(conn, driver.ids(limit=SMALL_TEXT_MATCH + 1)) > SMALL_TEXT_MATCH
        text = _estimated_text_count(conn, driver, every) if large else 0
        if text < SMALL_TEXT_MATCH:
            _named_few.put(key, True)
            return None
        owned = _count(conn, select(conversations.c.id).where(_owned_by(named), every))
        unmatched = max(0.0, 1 - text / max(allowed, 1))
        text_total = TextTotal(text + round(owned * unmatched), estimated=True)
        _large_totals.put(key, text_total)
    shape = _search_shape(params, _visibility(caller))
    descending = params.sortOrder == "desc"
    page = _kept_statement(
        driver, shape, ("named page", descending), partial(_named_page, named, every, descending)
    )
    return text_total.value, _rows_of(conn, page, offset, limit)


def _owned_by(named: NamedText) -> ColumnElement[bool]:
    """The conversation is a named customer's: SQLite then walks the list's index testing each
    against the customers' ids (`ma*` at 1M, 12k customers: the page's side 62 -> 29 ms
    against the ids of their 64k conversations listed first)."""
    return conversations.c.customer_id.in_(named.customers)


def _named_page(named: NamedText, filters: ColumnElement[bool], descending: bool) -> Select[Any]:
    """The text's matches and the customers' conversations that `filters` keep, in createdAt
    order: each side read up to the page's last row (the text's from its index, whose key is
    (createdAt, id)), then merged without repeats."""
    c = conversations.c
    through = bindparam("offset", type_=Integer) + bindparam("limit", type_=Integer)
    walk = named.driver.ordered()
    assert walk is not None, "SQLite walks a text in key order"
    matches = walk.subquery("text_walk")
    texts = (
        select(c.id, c.created_at)
        .join_from(matches, conversations, c.id == matches.c.id)
        .where(filters)
        .order_by(matches.c.search_key.desc() if descending else matches.c.search_key.asc())
        .limit(through)
        .subquery("text_side")
    )
    sort = (c.created_at.desc(), c.id.desc()) if descending else (c.created_at.asc(), c.id.asc())
    owned = select(c.id, c.created_at).where(_owned_by(named), filters).order_by(*sort).limit(through)
    owned_side = owned.subquery("owned_side")
    merged = union(select(texts.c.id, texts.c.created_at), select(owned_side.c.id, owned_side.c.created_at))
    rows = merged.subquery("merged")
    order = (
        (rows.c.created_at.desc(), rows.c.id.desc())
        if descending
        else (rows.c.created_at.asc(), rows.c.id.asc())
    )
    return windowed(select(rows.c.id).order_by(*order))


def _query_page(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    total: int,
    offset: int,
    limit: int,
) -> list[dict]:
    """The rows of a page of a query (not a text's matches) whose `total` is known."""
    if total <= FEW_MATCHES:

        def few() -> Select[Any]:
            matches = select(conversations.c.id).where(compiled.condition).correlate(None)
            return _page_ids_by(conversations.c.id.in_(matches), compiled, params, past_indexes=True)

        kind: tuple[Any, ...] = ("few", params.sortField, params.sortOrder, False)
        return _rows_of(conn, _kept_statement(compiled.query, shape, kind, few), offset, limit)
    cap = _range_walk_cap(conn, compiled, params, shape, total, offset, limit)
    if cap is not None:
        walk = _range_walk(conn, compiled, params, shape, total, offset, limit, cap)
        band = _range_band_cap(conn, compiled, params, shape, total, cap) if walk is None else None
        if band is not None:
            walk = _range_walk(conn, compiled, params, shape, total, offset, limit, band)
        if walk is not None:
            return walk
        if conn.dialect.name == "postgresql":
            return _range_sorted(conn, compiled, params, shape, offset, limit)
    dense = (
        compiled.unled is not None
        and compiled.allowed is not None
        and params.sortField != "score"
        and walks_to_the_page(total, compiled.allowed, offset + limit)
    )
    walked = compiled.walked if compiled.walked is not None else compiled.condition
    if dense and compiled.unled is not None:
        walked = compiled.unled
    probing = _probing_page(conn, compiled, params, total, offset + limit)
    if probing is not None:
        walked = probing
    kind = ("page", params.sortField, params.sortOrder, dense, probing is not None)
    page = _kept_statement(compiled.query, shape, kind, lambda: _page_ids_by(walked, compiled, params))
    return _rows_of(conn, page, offset, limit)


def _reads_few_led_matches(compiled: Compiled, params: ListParams, key: tuple[Any, ...]) -> bool:
    """Whether a query's total and page are read together (`_few_led_matches`): its list read
    first is expected to keep at most `FEW_MATCHES` conversations, it is not sorted by
    relevance, and no total of it is kept."""
    return (
        compiled.lead_expected is not None
        and compiled.lead_expected <= FEW_MATCHES
        and params.sortField != "score"
        and _kept_slow_total(key) is None
    )


# SQLite: a bare term naming customers whose text matches few of the conversations the filters
# allow (`_named_few`) is read the general way, as its text's matches and the customers'
# conversations in one list; this many of them are read once for both its total and its page.
# Its count and page were two statements that each built that list (`ste*`, 8,177 active
# matches at 1M: 106 and 69 ms; read once, 115). A total read so slowly is kept as a slow
# count is (`SLOW_TOTAL_SECONDS`), and the next pages read only their own.
NAMED_FEW_MATCHES = 20_000


def _reads_few_named_matches(compiled: Compiled, params: ListParams, key: tuple[Any, ...]) -> bool:
    """Whether a named term found to match few is read as `_few_led_matches` reads a query."""
    return (
        compiled.named is not None
        and bool(_named_few.get(("named", *key)))
        and params.sortField != "score"
        and _kept_slow_total(key) is None
    )


def _few_led_matches(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    offset: int,
    limit: int,
    *,
    cap: int,
) -> tuple[int, list[dict]] | None:
    """The total and the page's rows of a query whose matches, found through its list read
    first, are at most `cap`, from those matches read once; None when they are more.

    The count and the page were two statements that each read the list and looked its ids up
    (at 1M conversations on PostgreSQL `john`: 12.5 and 11 ms, `john the` 28.6 and 29.5)."""

    def build() -> Select[Any]:
        matches = materialized(
            select(conversations.c.id).where(compiled.condition).limit(cap + 1).cte("led_matches")
        )
        matched = materialized(select(func.count().label("n")).select_from(matches).cte("led_matched"))
        few = select(matched.c.n).scalar_subquery() <= cap
        page = _numbered_page(matches, _sort_keys(params, None, past_indexes=True), few)
        return (
            select(matched.c.n, page.c.id)
            .select_from(matched.outerjoin(page, true()))
            .order_by(page.c.position)
        )

    kind = ("few led", params.sortField, params.sortOrder, cap)  # the statement holds it
    rows = _kept_statement(compiled.query, shape, kind, build).rows(conn, offset=offset, limit=limit)
    if rows[0][0] > cap:
        return None
    return int(rows[0][0]), repository.by_ids(conn, [row[1] for row in rows if row[1] is not None])


def _created_days_total(compiled: Compiled, params: ListParams) -> tuple[Prepared, dict[str, int]] | None:
    """The total of a query that is one `createdAt:` range, from the counts kept per day, when
    the request's other filters are state and statuses only (see `created_days`)."""
    query = compiled.query
    if query is None or query.created is None or params.tag_names or not _kept_counts_cover(params):
        return None
    return created_days_total(compiled.counted, query.created)


def _seek(conn: Connection, request: Request, stamp: Hashable | None) -> Seek | None:
    anchors = request.app.state.anchors
    if anchors is None:
        return None
    stamps: DataStamp = request.app.state.stamps
    return Seek(anchors, stamp, partial(stamps.read_now, conn.engine))


def _complement_total(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    key: tuple[Any, ...],
    estimate: bool,
) -> TextTotal | None:
    """The total of `query=NOT term`, where the term is a list of ids (a bare term, an
    `email:`, a `customerIds:`, a `tag:`, or the conversations with attachments, also for
    `attachments:false`; see `CompiledQuery.complement`) or text (`complement_text`): the
    conversations the kept counts give for the other filters less those of the term among
    them, themselves kept counts for a tag, else counted through the list when it is short,
    else, for text, counted or estimated as a large text's matches are (`_text_total`); None
    where the kept counts do not cover the filters, or the list is long and not text (then
    the query is counted as any).

    Counted directly, every conversation the filters allow was read and probed for the term
    (`NOT espresso`: every active one, 10^5 at 1M conversations; with every status, all of
    them), where the list's own conversations are few.
    """
    query = compiled.query
    if query is None or compiled.requested is None:
        return None
    id_list, text = query.complement, query.complement_text
    if (id_list is None and text is None) or not _kept_counts_cover(params):
        return None
    kept = _kept_total(compiled.counted, params.tag_names)
    alone = not params.tag_names and params.assigned_to is None and params.folder is None
    if id_list is not None and id_list.tag is not None and alone:
        # The tag's conversations are kept counts too (by state, mailbox and status only).
        tagged = _kept_total(compiled.counted, [id_list.tag])
        return TextTotal(int(conn.execute(kept).scalar_one()) - int(conn.execute(tagged).scalar_one()))
    if id_list is not None and not id_list.short and not id_list.countable:
        return None  # a prefix's matches are read whole before the first
    owner: object
    if id_list is not None:
        owner, ids, listed = id_list, id_list.ids, id_list.listed
    else:
        assert text is not None, "a list or a text"
        owner, ids = text, text.ids()
        listed = c_id_in(ids)
    if id_list is None or not id_list.short:
        # A large text's complement is kept a while (`_complement_of_a_large_text`): its list is
        # known to be long then, without counting it to the cap again (PostgreSQL builds the
        # GIN index's whole bitmap first: `NOT refund` 92 ms a page at 1M conversations).
        known_long = text is not None and _large_totals.get(("complement", *key)) is not None
        length = _kept_statement(owner, (), ("listed",), partial(_capped_length, ids))
        if known_long or int(length.rows(conn, cap=LISTED_IDS_CAP)[0][0]) >= LISTED_IDS_CAP:
            if text is None:
                return None
            return _complement_of_a_large_text(conn, text, compiled.requested, kept, key, estimate=estimate)
    statuses = _only_statuses(compiled, params, text) if text is not None else []
    if (
        text is not None
        and conn.dialect.name == "postgresql"
        and text.narrowed_to(statuses)
        and not (id_list is not None and _names_a_customer(conn, text))  # then its list holds theirs too
    ):
        # The text index finds the statuses' matches by their lexemes (`NOT espresso`: 60 -> 3 ms).
        counter = _kept_statement(text, shape, ("narrowed NOT",), lambda: _counted(text.ids(listed=statuses)))
        return TextTotal(int(conn.execute(kept).scalar_one()) - int(counter.rows(conn)[0][0]))
    requested = compiled.requested
    every_status = not any(name == "status" for name, _ in compiled.counted)

    def build() -> Select[Any]:
        filters = requested
        if conn.dialect.name == "sqlite" and every_status:
            # As beside a list read first (`build`): `state = ?` alone, SQLite walked it all.
            filters = replacement_traverse(requested, {}, _state_out_of_reach)
        return select(func.count()).select_from(conversations).where(filters, listed)

    matched = _kept_statement(query, shape, ("complement",), build).rows(conn)[0][0]
    return TextTotal(int(conn.execute(kept).scalar_one()) - int(matched))


# An estimate of a text's matches is within ~7 % (see `ESTIMATE_STRATA`), and what the text
# leaves out inherits that error: past this share of the conversations the filters keep, the
# complement's own error would pass 7 %, and it is counted directly instead (`NOT the`).
ESTIMATED_COMPLEMENT_SHARE = 0.5


def _complement_of_a_large_text(
    conn: Connection,
    text: TextDriver,
    requested: ColumnElement[bool],
    kept: Select[Any],
    key: tuple[Any, ...],
    *,
    estimate: bool,
) -> TextTotal | None:
    """`NOT text` of a text matching `LISTED_IDS_CAP` or more conversations: the kept counts less
    the text's matches among the other filters, counted or estimated and kept for a while as a
    large text's total is (`_text_total`); None (count directly) where the text names a customer,
    or its estimate is too coarse for the complement (`ESTIMATED_COMPLEMENT_SHARE`).

    Counted directly, `NOT refund` with every status took 1.0 s on SQLite and 3.4 s on
    PostgreSQL at 1M conversations: the complement of 448k matches, each conversation probed."""
    if _names_a_customer(conn, text):
        return None
    allowed = int(conn.execute(kept).scalar_one())
    matched = _text_total(conn, text, requested, ("complement", *key), None, estimate=estimate)
    if matched.estimated and matched.value > ESTIMATED_COMPLEMENT_SHARE * allowed:
        return None
    return TextTotal(max(allowed - matched.value, 0), estimated=matched.estimated)


def _counted_columns_out_of_reach(element: Any, **_: Any) -> Any:
    """For `replacement_traverse`: state, mailbox and status written out of the indexes' reach."""
    c = conversations.c
    return (
        out_of_reach(element)
        if element is c.state or element is c.mailbox_id or element is c.status
        else None
    )


def _state_out_of_reach(element: Any, **_: Any) -> Any:
    """For `replacement_traverse`: the state column written out of the indexes' reach."""
    return out_of_reach(element) if element is conversations.c.state else None


# Up to this many matches (known from the count), the page finds the matches as the count did
# and sorts them, rather than walk an index in list order: SQLite otherwise walked every active
# conversation, newest first, looking for a page of matches, for an address in one
# conversation (6.9 ms at 1M against 0.5 ms for its count). The matches are a subquery and the
# keys are out of the indexes' reach (`_sort_keys(past_indexes=True)`), or SQLite still chose
# the walk. Sorting this many rows takes under a millisecond.
FEW_MATCHES = 1_000


# A page of a query's many matches that walks at most this many conversations tests each one's
# document for the query's texts (`CompiledQuery.probing`). SQLite: ~10-200 µs each, so at most
# ~50 ms, where listing a common word's matches whole costs 0.1-0.3 s (`NOT refund`'s page 150
# ms, `the OR tag:vip`'s 170 at 1M conversations). PostgreSQL: ~3-5 µs each, where hashing
# the matches first reads them all back (`ste*`: 0.6 s). At 1M conversations, probed against
# hashed, in process: `beautiful OR tag:api` (1,774 matches) page 1 (a walk of ~890) 15-17 ms
# against 28-30, page 3 (~2,450) 17-24 against 28-50, page 6 (~4,900) 25-35 against 29-32;
# `upgrade OR tag:api` page 8 (~2,690) 18-20 against 280-330.
PROBED_WALK = {"sqlite": 250, "postgresql": 4_000}


def _probing_page(
    conn: Connection, compiled: Compiled, params: ListParams, total: int, through: int
) -> ColumnElement[bool] | None:
    """The page's condition with the query's texts tested per conversation, when the page's
    walk of the sort's index reads at most `PROBED_WALK` conversations (about `through ×
    allowed / total`, the matches spread through the sort's order); else None."""
    query = compiled.query
    if query is None or query.probing is None or params.sortField == "score":
        return None
    if compiled.walked is not None or compiled.requested is None:
        return None
    allowed = _allowed(conn, compiled.counted)
    if through * allowed > PROBED_WALK[conn.dialect.name] * total:
        return None
    return and_(compiled.requested, query.probing)


# The instants and numbers a `query=` range may test, and the sort each one is the key of.
_RANGED = {"created_at": "createdAt", "modified_at": "modifiedAt", "number": "number"}
_SORTED_COLUMNS = {field_: name for name, field_ in _RANGED.items()}
# A range walk reads `RANGE_WALK_READS` times the conversations the matches' share says a page
# needs, plus `RANGE_WALK_SLACK`, and never more than `RANGE_WALK_CAP`.
RANGE_WALK_READS = 4
RANGE_WALK_SLACK = 1_000
RANGE_WALK_CAP = 50_000


def _range_walk_cap(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    total: int,
    offset: int,
    limit: int,
) -> int | None:
    """How many conversations of the list's order a page of a query whose range keeps many
    conversations walks (`_range_walk`); None where it is not walked.

    Without statistics SQLite always read a `query=` range through its index and sorted every
    match for a page: `modifiedAt:[NOW-1YEAR TO NOW]` with every status sorted 577k matches
    (401 ms at 1M conversations). PostgreSQL, with statistics, took each range's matches to be
    spread through the list's order and walked it, reading on and on where they lie at its far
    end (a month of 2025 newest first: ~940k conversations read, 0.35 s at 1M). So the walk
    reads only the first conversations the other filters allow, a few times what the matches'
    share says it needs (`RANGE_WALK_READS`): if a full page is among them, it is exactly the
    page, since every later match sorts after them.
    """
    if compiled.query is None or shape is None:
        return None
    if params.sortField == "score" and compiled.score is not None:
        return None  # the walk would rank every conversation the other filters allow
    ranged = [field_ for field_ in _RANGED.values() if field_ != params.sortField]
    if not any(field_ in compiled.query.fields for field_ in ranged) or compiled.requested is None:
        return None
    if conn.dialect.name == "postgresql" and not _of_its_row_alone(compiled.query.condition):
        return None
    allowed = _allowed(conn, compiled.counted)
    through = min(offset + limit, total)
    needed = through * allowed // max(total, 1)
    if needed >= min(total, RANGE_WALK_CAP):
        return None
    return min(RANGE_WALK_READS * needed + RANGE_WALK_SLACK, RANGE_WALK_CAP)


def _range_band_cap(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    total: int,
    cap: int,
) -> int | None:
    """How many conversations of the list's order a second walk reads where the first missed
    its page because the range's matches lie together further on (None: not walked again).

    Creations, modifications and numbers grow together, so a range of one, in the order of
    another, is a band of the list: `number:[1000 TO 500000]` newest first begins after the
    ~29k active conversations numbered above it (at 1M). The match furthest along the range
    (the highest for a descending list) marks where the band begins; the conversations the
    filters allow before it say how far the walk must read. They are counted only as far as
    walking is cheaper than sorting the matches (`_range_sort_cost`): sorting that range read
    its 499k entries (0.17 s on PostgreSQL), walking to the band reads ~35k rows (0.03 s).
    Only lists by creation or modification, whose indexes hold the status: the count reads
    only the conversations the filters allow.
    """
    assert compiled.query is not None and compiled.requested is not None
    if params.sortField not in ("createdAt", "modifiedAt") or not _of_its_row_alone(compiled.query.condition):
        return None
    most = min(RANGE_WALK_CAP, _range_sort_cost(conn, compiled, params, total)) - cap
    if most <= 0:
        return None
    requested, condition = compiled.requested, compiled.condition
    fields = compiled.query.fields
    ranged = next(name for name, field_ in _RANGED.items() if field_ != params.sortField and field_ in fields)
    sort_column = conversations.c[_SORTED_COLUMNS[params.sortField]]
    descending = params.sortOrder == "desc"

    def build() -> Select[Any]:
        range_column = conversations.c[ranged]
        edge = (
            select(sort_column)
            .where(condition)
            .order_by(range_column.desc() if descending else range_column.asc())
            .limit(1)
            .scalar_subquery()
        )
        ahead = sort_column > edge if descending else sort_column < edge
        before = select(literal(1)).where(requested, ahead).limit(bindparam("most")).subquery("ahead")
        return select(func.count()).select_from(before)

    kind = ("range band", params.sortField, params.sortOrder)
    ahead = _kept_statement(compiled.query, shape, kind, build).rows(conn, most=most)[0][0]
    return cap + ahead if 0 < ahead < most else None


# What sorting a range's matches costs beside walking a conversation's row (1): an index entry
# of the range read (~0.3 µs on PostgreSQL, 0.2 on SQLite, against a walked row's 1.2 and 2),
# and a row read for each match.
SORTED_ENTRY_COST = 0.2


def _range_sort_cost(conn: Connection, compiled: Compiled, params: ListParams, total: int) -> int:
    """What sorting the `total` matches of a query's range costs, in walked rows: a date's
    index holds the status, so it reads the matches alone; a number's holds every status, so
    it reads them all (about the matches' share of the allowed among every conversation)."""
    assert compiled.query is not None
    entries = total
    if "number" in compiled.query.fields and params.sortField != "number":
        in_state = _allowed(conn, [(name, value) for name, value in compiled.counted if name == "state"])
        entries = total * in_state // max(_allowed(conn, compiled.counted), 1)
    return int(total + SORTED_ENTRY_COST * entries)


def _of_its_row_alone(condition: ColumnElement[bool]) -> bool:
    """Whether `condition` reads nothing but the conversation's own columns (no subquery), so
    that it can be read of the walk's rows (`_range_walk` on PostgreSQL)."""
    for element in iterate(condition):
        if isinstance(element, SelectBase | Exists):
            return False
        if isinstance(element, Column) and element.table is not conversations:
            return False
    return True


def _range_walk(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    total: int,
    offset: int,
    limit: int,
    cap: int,
) -> list[dict] | None:
    """The page of a query whose range keeps many conversations, found among the first `cap`
    conversations of the list's order (see `_range_walk_cap`) rather than by sorting every
    match; None where the page is not among them."""
    assert compiled.query is not None and compiled.requested is not None
    requested = compiled.requested
    condition = compiled.walked if compiled.walked is not None else compiled.condition

    def build() -> Select[Any]:
        if conn.dialect.name == "postgresql":
            return _walked_in_order(compiled, requested)
        first = materialized(
            select(conversations.c.id)
            .where(requested)
            .order_by(*compiled.order)
            .limit(bindparam("cap"))
            .cte("walked_first")
        )
        return windowed(
            select(conversations.c.id)
            .select_from(ReadFirst(first, conversations, conversations.c.id == first.c.id))
            .where(_ranges_out_of_reach(condition, params.sortField))
            .order_by(*_sort_keys(params, compiled.score, past_indexes=True))
        )

    page = _kept_statement(compiled.query, shape, ("range walk", params.sortField, params.sortOrder), build)
    ids = [row[0] for row in page.rows(conn, offset=offset, limit=limit, cap=cap)]
    if len(ids) < min(offset + limit, total) - offset:
        return None
    return repository.by_ids(conn, ids)


def _walked_in_order(compiled: Compiled, requested: ColumnElement[bool]) -> Select[Any]:
    """PostgreSQL: the page among the first `cap` conversations of the list's order, read as
    they are walked: the query's condition (its row's columns alone) tested on a subquery of
    them, sorted the same way, so the planner stops with the page. A join of a materialized
    walk back to the table (SQLite's form) was hashed over every conversation: 0.5 s."""
    assert compiled.query is not None
    first = (
        select(conversations)
        .where(requested)
        .order_by(*compiled.order)
        .limit(bindparam("cap"))
        .subquery("walked_first")
    )
    adapter = ClauseAdapter(first)
    return windowed(
        select(first.c.id)
        .where(adapter.traverse(compiled.query.condition))
        .order_by(*[adapter.traverse(key) for key in compiled.order])
    )


def _range_sorted(
    conn: Connection,
    compiled: Compiled,
    params: ListParams,
    shape: tuple[Any, ...] | None,
    offset: int,
    limit: int,
) -> list[dict]:
    """PostgreSQL: the page of a range whose matches the walk did not reach, from every match
    sorted, the sort's keys out of the indexes' reach: the planner otherwise walked the list's
    order on from where the walk stopped (see `_range_walk_cap`)."""
    assert compiled.query is not None

    def build() -> Select[Any]:
        return _page_ids_by(compiled.condition, compiled, params, past_indexes=True)

    kind = ("range sorted", params.sortField, params.sortOrder)
    return _rows_of(conn, _kept_statement(compiled.query, shape, kind, build), offset, limit)


def _ranges_out_of_reach(condition: ColumnElement[bool], sort_field: str) -> ColumnElement[bool]:
    """`condition` with the ranged columns other than the sort's written as `column + 0`, which
    no index serves (as `_modified_since` does)."""
    columns = [conversations.c[name] for name, field_ in _RANGED.items() if field_ != sort_field]

    def unindexed(element: Any, **_: Any) -> Any:
        if any(element is column_ for column_ in columns):
            return out_of_reach(element)
        return None

    return replacement_traverse(condition, {}, unindexed)


def _page_ids_by(
    condition: ColumnElement[bool], compiled: Compiled, params: ListParams, *, past_indexes: bool = False
) -> Select[Any]:
    """A page's ids in the request's order, by relevance through the scores joined where the
    database needs that (SQLite: see `CompiledQuery.score_joined`)."""
    joined = compiled.query.score_joined() if params.sortField == "score" and compiled.query else None
    if joined is None:
        order = _sort_keys(params, compiled.score, past_indexes=True) if past_indexes else compiled.order
        return _page_ids(condition, order)
    scored = conversations.outerjoin(joined.scores, joined.on)
    order = _sort_keys(params, joined.score, past_indexes=past_indexes)
    page = select(conversations.c.id).select_from(scored).where(condition).order_by(*order)
    return windowed(page, limit=PAGE_SIZE)


def _page_ids(condition: ColumnElement[bool], order: list[UnaryExpression[Any]]) -> Select[Any]:
    """A page's ids in list order (offset and limit bound: `kit/prepared.windowed`)."""
    return windowed(select(conversations.c.id).where(condition).order_by(*order))


def _rows_of(conn: Connection, page: Prepared, offset: int, limit: int) -> list[dict]:
    """The rows of a page whose ids `page` reads, through the prepared loader."""
    return repository.by_ids(conn, [row[0] for row in page.rows(conn, offset=offset, limit=limit)])


async def list_conversations(request: Request) -> Response:
    """The hottest route takes only the request: FastAPI then has no dependency to solve for
    it (the token is read here, as `bearer_token` would), about 5% of a list request."""
    token = await bearer_token(request)
    caller, stamp = await known_caller_and_stamp(request, token)
    if caller is not None:
        body = request.app.state.reuse.get(_reuse_key(request, caller), stamp)
        if body is not None:
            return Response(body, media_type=HAL_JSON)
    params = _valid_params(request)
    db = request.app.state.db
    if params is not None and _bounded(params):
        body = await db.read_bounded(_list_for_token, request, token, stamp, caller, params)
    else:
        key = ("conversations", request.scope["query_string"])
        body = await db.read_budgeted(key, _list_for_token, request, token, stamp, caller, params)
    return Response(body, media_type=HAL_JSON)


def _valid_params(request: Request) -> ListParams | None:
    """The parameters, or None when they are invalid: their 400 is answered after the token's
    401 (`_list_for_token`)."""
    try:
        return read_query_model(ListParams, request)
    except RequestValidationError:
        return None


def _bounded(params: ListParams) -> bool:
    """Whether the page costs little whatever the data: a plain list (its total kept, its page
    from the sort's index or from few matches: `sparse_lists`) before the deep pages' offsets."""
    return _is_simple(params) and params.page * PAGE_SIZE <= ANCHORED_FROM


def _reuse_key(request: Request, caller: Caller) -> Hashable:
    """Everything a list's answer depends on besides the data and the clock: who asks (what
    they may see), what they ask, and the addresses its links are written with."""
    return ("conversations", caller, request.scope["query_string"], base_url(request), web_base_url(request))


def _list_for_token(
    conn: Connection,
    request: Request,
    token: str,
    stamp_read: Hashable | None,
    known: Caller | None,
    params: ListParams | None,
) -> bytes:
    """Caller, then parameters (a bad token is a 401 before any 400), then the page, or the
    same page kept from an earlier identical request while it still holds (kit/reuse.py).
    `stamp_read`: the data stamp the event loop read for this request, if it did; `known`: the
    caller the token stood for under that stamp, if the loop knew it, so the token is not
    looked up again (one statement, and on PostgreSQL one round trip, less). `params`: the
    parameters when the route read them valid."""
    reuse: ResponseReuse | None = request.app.state.reuse
    if known is not None and stamp_read is not None:
        caller, stamp = known, stamp_read
    elif reuse is None:
        # Without kept answers no stamp is read for them; SQLite's is read here all the same,
        # before the transaction's first statement, for deep pages (on PostgreSQL: None).
        stamp = request.app.state.stamps.read_now(conn.engine)
        caller, _ = caller_and_stamp(conn, token, reuse, stamp_read)
    else:
        caller, stamp = caller_and_stamp(conn, token, reuse, stamp_read)
    if params is None:
        params = read_query_model(ListParams, request)
    if reuse is None:
        return json_bytes(list_page(conn, request, caller, params, stamp).document)
    key = _reuse_key(request, caller)
    body = reuse.get(key, stamp)
    if body is None:
        page = list_page(conn, request, caller, params, stamp)
        body = json_bytes(page.document)
        reuse.put(key, stamp, page.computed_at, page.valid_until, body)
    return body


OPENAPI_PARAMETERS = openapi_parameters(ListParams)


__all__ = ["OPENAPI_PARAMETERS", "SORT_FIELDS", "ListParams", "list_conversations"]
