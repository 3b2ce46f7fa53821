"""A plain list's deep pages, begun after the last row of a page served before (`kit.anchors`).

A page of `SimpleList` from `ANCHORED_FROM` rows on is read by `deep`, which also returns the
sort key of each row (and, on PostgreSQL, the data stamp its snapshot saw); its last row is
then remembered as the anchor of the position after it. A later page at or after an anchor of
the same shape is read by `anchored`: the rows after the anchor, in two index ranges (the rest
of the anchor's key after its id, then the keys after it), skipping what lies between the anchor
and the page. A single comparison `(key, id) > (?, ?)` is what PostgreSQL seeks with, but
SQLite reads a row value's first column only as a range, so a page inside a long run of one
key (a status: 836k conversations closed at 1M) walked the run from its start.

An anchor is used only when the statement using it saw the same data as the one that found it:

* PostgreSQL runs each statement of a read in its own snapshot (`Database.read_sync`), so the
  page statement returns the stamp (`change_log.STAMP`'s two numbers) as columns read in its
  own snapshot; an anchored page whose stamp differs from its anchor's is read again plainly.
* SQLite reads a request in one transaction: the stamp read before its first statement (the
  route's, `before`) names its snapshot if the stamp read after the page is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Select, bindparam, select, union_all
from sqlalchemy.sql.elements import UnaryExpression

from tidings.db import change_log
from tidings.db.tables import conversations
from tidings.kit.anchors import Anchor, PageAnchors
from tidings.kit.prepared import Prepared

# The first row index from which a page is read by `deep` (and may begin at an anchor): below it
# an OFFSET costs less than 0.1 ms at 1M conversations on either database.
ANCHORED_FROM = 1_000
# An anchor is used when the rows it leaves to skip are at most this share of the offset: the
# skipped rows of the two ranges are sorted together, dearer a row than an OFFSET's walk.
SKIP_SHARE = 8

ANCHOR_KEY = "anchor_key"
_STAMP_COLUMNS = tuple(column.name for column in change_log.stamp_columns())


@dataclass(frozen=True)
class DeepStatements:
    deep: Prepared
    anchored: Prepared


def deep_statements(
    columns: Sequence[ColumnElement[Any]],
    page_ids: Select[Any],
    condition: ColumnElement[bool],
    order: Sequence[UnaryExpression[Any]],
    key: ColumnElement[Any],
    descending: bool,
    limit: ColumnElement[int],
    guard: ColumnElement[bool] | None,
    dialect: str,
) -> DeepStatements:
    """The page of `columns` whose ids `page_ids` reads (with the `offset` parameter), as
    `deep`, and the same page begun after an anchor, as `anchored`. `condition`, `order`, `key`
    and `descending`: the list's filters and sort (`order` is `key` then the id, both
    `descending` or not). `limit`: the page's LIMIT (SQLite's `_rows_left`, reading `offset`;
    PostgreSQL's page size). `guard`: a further condition of the page (PostgreSQL's stop past
    the total)."""
    c = conversations.c
    selected: list[ColumnElement[Any]] = [*columns, key.label(ANCHOR_KEY)]
    if dialect == "postgresql":
        selected += change_log.stamp_columns()

    def page_of(ids: Select[Any]) -> Prepared:
        statement = select(*selected).where(c.id.in_(ids))
        if guard is not None:
            statement = statement.where(guard)
        return Prepared(statement.order_by(*order), server_prepared=False)

    anchor_key = bindparam("anchor_key", type_=key.type)
    anchor_id = bindparam("anchor_id", type_=Integer)
    skip = bindparam("skip", type_=Integer)
    reach = skip + limit

    def ordered(column: ColumnElement[Any]) -> UnaryExpression[Any]:
        return column.desc() if descending else column.asc()

    def after(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        return column < value if descending else column > value

    same_key = (
        select(c.id, key.label("k"))
        .where(condition, key == anchor_key, after(c.id, anchor_id))
        .order_by(ordered(c.id))
        .limit(reach)
        .subquery("same_key")
    )
    later_keys = (
        select(c.id, key.label("k"))
        .where(condition, after(key, anchor_key))
        .order_by(ordered(key), ordered(c.id))
        .limit(reach)
        .subquery("later_keys")
    )
    both = union_all(select(same_key.c.id, same_key.c.k), select(later_keys.c.id, later_keys.c.k)).subquery(
        "after_anchor"
    )
    after_anchor = (
        select(both.c.id)
        .order_by(ordered(both.c.k), ordered(both.c.id))
        .offset(skip)
        .limit(limit)
        .correlate(None)
    )
    return DeepStatements(page_of(page_ids), page_of(after_anchor))


@dataclass(frozen=True)
class Seek:
    """What a request lends a deep page: the process's anchors and, on SQLite, the data stamp read
    before its transaction's first statement and how to read it again (None: unknown, no anchor
    is used or kept)."""

    anchors: PageAnchors
    before: Hashable | None = None
    read_again: Callable[[], Hashable | None] | None = None


def read_page(
    conn: Connection, statements: DeepStatements, shape: Hashable, offset: int, seek: Seek
) -> list[dict[str, Any]]:
    """The page at `offset`, from the nearest anchor when one holds; its last row kept as the next."""
    postgres = conn.dialect.name == "postgresql"
    near = seek.anchors.nearest(shape, offset)
    rows: list[dict[str, Any]] | None = None
    if near is not None and (offset - near[1].offset) * SKIP_SHARE <= offset:
        stamp, anchor = near
        if postgres or (seek.before is not None and stamp == seek.before):
            rows = statements.anchored.dicts(
                conn, offset=offset, skip=offset - anchor.offset, anchor_key=anchor.key, anchor_id=anchor.id
            )
            read = _stamp_read(rows, postgres, seek)
            if read is None or read != stamp:
                rows = None  # another snapshot than the anchor's: read at the OFFSET
    if rows is None:
        rows = statements.deep.dicts(conn, offset=offset)
        read = _stamp_read(rows, postgres, seek)
    keys = [row.pop(ANCHOR_KEY) for row in rows]
    if postgres:
        for row in rows:
            for name in _STAMP_COLUMNS:
                del row[name]
    if rows and read is not None:
        seek.anchors.put(shape, read, Anchor(offset + len(rows), keys[-1], int(rows[-1]["id"])))
    return rows


def _stamp_read(rows: list[dict[str, Any]], postgres: bool, seek: Seek) -> Hashable | None:
    """The stamp the page's rows were read under, when it is known (see the module docstring)."""
    if postgres:
        return tuple(rows[0][name] for name in _STAMP_COLUMNS) if rows else None
    if seek.before is None or seek.read_again is None:
        return None
    return seek.before if seek.read_again() == seek.before else None


__all__ = ["ANCHORED_FROM", "DeepStatements", "Seek", "deep_statements", "read_page"]
