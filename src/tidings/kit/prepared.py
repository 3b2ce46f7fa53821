"""Fixed Core statements compiled once per dialect and run straight on the DBAPI cursor.

The loaders behind every list page (a page's conversations by id, their tags, custom fields,
users and customers, and the token lookup) run the same statements on every request.
`Connection.execute` spends ~120 µs per statement on context set-up, parameter expansion and
row objects around a ~40 µs query (measured at 1M conversations on SQLite); together that was
about a fifth of a list request. A `Prepared` keeps the statement as SQLAlchemy Core (the SQL
is still written once, for both databases), applies the column types' own bind and result
processors, and announces each execution to `before_cursor_execute` listeners, so statement
counting in tests and the benchmark's SQL floor still see it.

A list of ids is one parameter (`any_id`): a JSON array read by `json_each` on SQLite, a
`BIGINT[]` on PostgreSQL. The SQL text is then the same for any number of ids, so nothing is
re-rendered per call, and PostgreSQL plans one statement shape instead of one per list length.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, cast

import orjson
from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    Dialect,
    Integer,
    Select,
    Text,
    TypeDecorator,
    literal_column,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import bindparam
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal, replacement_traverse
from sqlalchemy.types import Boolean


class IdList(TypeDecorator[list[int]]):
    """A list of integer ids as one bound value: JSON text on SQLite, an array literal
    (`{1,2,3}`) on PostgreSQL, cast to `BIGINT[]` by the statement (`AnyId`).

    psycopg would adapt a Python list itself, but it inspects every element to pick the array's
    type and escapes each one: ~40 µs a list, four lists a page (~0.15 ms of a 1.8 ms request).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        ids = [int(i) for i in value or ()]
        if dialect.name == "postgresql":
            return "{" + ",".join(map(str, ids)) + "}"
        return orjson.dumps(ids).decode()


class AnyId(ColumnElement[bool]):
    """`column IN <the ids bound to one IdList parameter>`."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison already: SQLite must not get `... = 1` appended

    def __init__(self, column: ColumnElement[Any], param: BindParameter[Any]) -> None:
        self.column = column
        self.param = param

    def get_children(self, **kw: Any) -> tuple[ColumnElement[Any], ...]:
        return (self.column, self.param)

    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("param", InternalTraversal.dp_clauseelement),
    ]


@compiles(AnyId)
def _any_id_sqlite(element: AnyId, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.param, **kw)}))"


@compiles(AnyId, "postgresql")
def _any_id_postgresql(element: AnyId, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(CAST({compiler.process(element.param, **kw)} AS BIGINT[]))"


def any_id(column: ColumnElement[Any], name: str = "ids") -> AnyId:
    """`column` is one of the ids passed as parameter `name` (a list)."""
    return AnyId(column, bindparam(name, type_=IdList()))


def windowed(query: Select[Any], *, limit: int | None = None) -> Select[Any]:
    """`query` with its offset and limit bound as parameters `offset` and `limit`, so that one
    kept statement serves every page; with `limit`, that limit written into the SQL instead
    (SQLite plans some joins only when it knows it: see `CompiledQuery.score_joined`)."""
    offset = query.offset(bindparam("offset", type_=Integer))
    if limit is not None:
        return offset.limit(literal_column(str(int(limit)), Integer))
    return offset.limit(bindparam("limit", type_=Integer))


class _Compiled:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        # An IN over a fixed list (`status IN ('active', 'pending')`) is rendered once with one
        # placeholder per value, which keep the values the statement was built with.
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "a Prepared holds a SQL statement"
        expanded = compiled.construct_expanded_state(
            {bind.key: bind.value for bind in compiled.bind_names if not bind.expanding}
        )
        self.sql = expanded.statement
        self.names: list[str] = list(expanded.positiontup or []) if compiled.positional else []
        self.positional = bool(compiled.positional)
        # rendered name -> (the caller's key, the value fixed in the statement, bind processor)
        self.binds: dict[str, tuple[str, Any, Callable[[Any], Any] | None]] = {}
        for bind, rendered in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.expanding:
                for position, value in enumerate(bind.value or (), start=1):
                    self.binds[f"{rendered}_{position}"] = (f"{bind.key}_{position}", value, processor)
            else:
                self.binds[rendered] = (bind.key, bind.value, processor)
        columns = getattr(statement, "selected_columns", ())
        self.names_read: list[str] | None = None
        self.processors = [
            (index, processor)
            for index, column in enumerate(columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

    def parameters(self, values: dict[str, Any]) -> Any:
        bound = {}
        for rendered, (key, fixed, processor) in self.binds.items():
            value = values.get(key, fixed)
            bound[rendered] = processor(value) if processor is not None else value
        if self.positional:
            return tuple(bound[name] for name in self.names)
        return bound


class Prepared:
    """One fixed statement, compiled on first use per dialect; see the module docstring.

    `server_prepared=False`: PostgreSQL plans it on every run (never a generic plan), for a
    statement whose best plan depends on a parameter's value.
    """

    def __init__(self, statement: ClauseElement, *, server_prepared: bool = True) -> None:
        self.statement = statement
        self.server_prepared = server_prepared
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, conn: Connection) -> _Compiled:
        found = self._by_dialect.get(conn.dialect.name)
        if found is None:
            found = self._by_dialect[conn.dialect.name] = _Compiled(self.statement, conn.dialect)
        return found

    def tuples(self, conn: Connection, **values: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows (with the column types' result processing)."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            compiled = self._send(conn, cursor, values)
            return self._received(compiled, cursor)
        finally:
            cursor.close()

    def _send(self, conn: Connection, cursor: Any, values: dict[str, Any]) -> _Compiled:
        compiled = self._compiled(conn)
        parameters = compiled.parameters(values)
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, parameters, None, False)
        if self.server_prepared or conn.dialect.name != "postgresql":
            cursor.execute(compiled.sql, parameters)
        else:
            cursor.execute(compiled.sql, parameters, prepare=False)  # psycopg
        return compiled

    @staticmethod
    def _received(compiled: _Compiled, cursor: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        names = compiled.names_read
        if names is None:
            # A fixed statement's columns never change; psycopg builds its description anew each
            # time it is asked (50 column objects a list page).
            names = compiled.names_read = [d[0] for d in cursor.description]
        rows = cast(list[tuple[Any, ...]], cursor.fetchall())  # both drivers give tuples
        if compiled.processors:
            rows = [_processed(row, compiled.processors) for row in rows]
        return names, rows

    def dicts(self, conn: Connection, **values: Any) -> list[dict[str, Any]]:
        return _as_dicts(*self.tuples(conn, **values))

    def iterate(self, conn: Connection, **values: Any) -> Generator[tuple[Any, ...], None, None]:
        """The rows one at a time: a caller that stops early (and closes the iterator) leaves
        the rest unread, as SQLite steps a statement only as its rows are asked for."""
        cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            processors = self._send(conn, cursor, values).processors
            for row in cursor:
                yield _processed(row, processors) if processors else row
        finally:
            cursor.close()

    def rows(self, conn: Connection, **values: Any) -> list[tuple[Any, ...]]:
        return self.tuples(conn, **values)[1]


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    """The row with each processed column through its type's result processor."""
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)


def _as_dicts(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


class Pending:
    """One statement of a `Together`, whose rows are read once the batch has run."""

    def __init__(self, prepared: Prepared, values: dict[str, Any]) -> None:
        self.prepared = prepared
        self.values = values
        self._result: tuple[list[str], list[tuple[Any, ...]]] | None = None

    def rows(self) -> list[tuple[Any, ...]]:
        assert self._result is not None, "run the batch first"
        return self._result[1]

    def dicts(self) -> list[dict[str, Any]]:
        assert self._result is not None, "run the batch first"
        return _as_dicts(*self._result)


class Together:
    """Statements that do not depend on each other's results, run as one batch.

    On PostgreSQL they go out in one pipeline: one round trip for all of them instead of one
    each (a list page's tags, custom fields, users and customers: 1.4 -> 0.9 ms measured on
    loopback, with the transaction's BEGIN). Elsewhere they run one after another.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._pending: list[Pending] = []

    def add(self, prepared: Prepared, **values: Any) -> Pending:
        pending = Pending(prepared, values)
        self._pending.append(pending)
        return pending

    def run(self) -> None:
        if self.conn.dialect.name != "postgresql" or len(self._pending) < 2:
            for pending in self._pending:
                pending._result = pending.prepared.tuples(self.conn, **pending.values)
            return
        raw: Any = self.conn.connection.dbapi_connection
        cursors = []
        try:
            with raw.pipeline():
                for pending in self._pending:
                    cursor = raw.cursor()
                    cursors.append((cursor, pending.prepared._send(self.conn, cursor, pending.values)))
            for pending, (cursor, compiled) in zip(self._pending, cursors, strict=True):
                pending._result = Prepared._received(compiled, cursor)
        finally:
            for cursor, _ in cursors:
                cursor.close()


def with_values_inline(statement: ClauseElement, **values: Any) -> ClauseElement:
    """The statement with every bound value (or the one given for its name) written into its
    SQL text.

    For PostgreSQL, whose generic plan for a prepared statement does not know the values: a
    statement with nothing left to bind is planned for its own values once and kept.
    """

    def inline(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter):
            inlined = element._clone()
            if element.key in values:
                inlined.value = values[element.key]
            inlined.literal_execute = True
            return inlined
        return None

    return cast(ClauseElement, replacement_traverse(statement, {}, inline))


def id_list(ids: Iterable[int]) -> list[int]:
    """The distinct non-zero ids, sorted (an absent reference is stored as 0 or NULL)."""
    return sorted({int(i) for i in ids if i})
