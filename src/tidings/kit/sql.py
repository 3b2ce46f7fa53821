"""Join order, materialisation and index ranges written into the SQL, where a planner must be told.

SQLite has no statistics for most of our tables (no ANALYZE is kept up to date), so where a
statement must read a small set first and look the rest up from it, the statement says so:
`ReadFirst` is a CROSS JOIN on SQLite (the one way to fix its join order) and a plain JOIN on
PostgreSQL (whose planner has statistics to order it); `materialized` makes a CTE that is read
more than once (or must be read first) be computed once, on both databases.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import CTE, Boolean, ColumnElement, Join, String, literal, literal_column, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

# WITH … AS MATERIALIZED: PostgreSQL 12+, SQLite 3.35+ (older SQLite materialises a CTE that
# is used twice anyway, and CROSS JOIN still puts the ids first).
SQLITE_MATERIALIZED = sqlite3.sqlite_version_info >= (3, 35, 0)


def materialized(cte: CTE, *, postgresql: bool = True) -> CTE:
    """`cte` computed once (`postgresql=False`: on SQLite only, PostgreSQL plans it itself)."""
    if postgresql:
        cte = cte.prefix_with("MATERIALIZED", dialect="postgresql")
    return cte.prefix_with("MATERIALIZED", dialect="sqlite") if SQLITE_MATERIALIZED else cte


def out_of_reach(column_: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column + 0` (a string's `column || ''`), of the column's type: the same values, which no
    index serves (SQLite)."""
    if isinstance(column_.type, String):
        return type_coerce(column_.op("||")(literal("", String)), column_.type)
    return type_coerce(column_ + 0, column_.type)


class ReadFirst(Join):
    """An inner join whose left side is the outer loop: CROSS JOIN on SQLite (without statistics
    it may prefer to walk the right side by some index and probe the left); a plain JOIN on
    PostgreSQL."""

    inherit_cache = True


@compiles(ReadFirst, "sqlite")
def _cross_join(join: ReadFirst, compiler: SQLCompiler, **kw: Any) -> str:
    plain: str = compiler.visit_join(join, **kw)
    left = join.left.name  # type: ignore[attr-defined]
    assert plain.startswith(f"{left} JOIN "), plain
    return f"{left} CROSS JOIN {plain[len(left) + len(' JOIN ') :]}"


class SqliteIndexRange(ColumnElement[bool]):
    """A condition the rest of the statement already implies, written out on SQLite only, where
    it lets an index serve what SQLite would otherwise test on every row (a LIKE prefix as a
    range of the index's keys); elsewhere TRUE. PostgreSQL's collation may order a prefix's
    strings outside such a range, and it plans from statistics anyway."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("condition", InternalTraversal.dp_clauseelement)]

    def __init__(self, condition: ColumnElement[bool]) -> None:
        self.condition = condition

    def self_group(self, against: Any = None) -> SqliteIndexRange:
        """Itself: a boolean of its own, never `(…) = 1`, the form SQLAlchemy gives a boolean
        expression in an AND where booleans are not native (SQLite). That made the range's
        upper end `lower(name) < ? = 1`, which no index serves: a prefix read every name from
        it to the end of the index (`gibs*` at 100k customers: 64 ms against 0.1)."""
        return self


@compiles(SqliteIndexRange)
def _index_range_elsewhere(element: SqliteIndexRange, compiler: SQLCompiler, **kw: Any) -> str:
    return "1 = 1"


@compiles(SqliteIndexRange, "sqlite")
def _index_range_sqlite(element: SqliteIndexRange, compiler: SQLCompiler, **kw: Any) -> str:
    rendered: str = compiler.process(element.condition, **kw)
    return f"({rendered})"


def equals_written(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    """`column = 'value'` with the value written into the SQL, as a partial index's predicate is:
    SQLite then knows the term holds for every entry of the index and need not read the row to
    test it again."""
    return column == literal_column("'" + value.replace("'", "''") + "'")
