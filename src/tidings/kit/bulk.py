"""The fastest insert path each database offers for rows built as plain tuples.

SQLite: multi-row `INSERT … VALUES (…), (…), …` statements, 1,000–2,000 rows each: a plain
`executemany` runs one statement per row (measured 19k thread rows/s against 67k), and each
statement hands the GIL back and forth once. Used by the demo loader and, for SQLite's search
documents, by `tidings.search.index.insert_documents`.

PostgreSQL: `COPY … FROM STDIN` through psycopg, with the column list. Explicit ids do not
advance the serial sequences, so `sync_sequences` moves them past the rows written, or the next
API insert would collide.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

Row = tuple[Any, ...]

# SQLite's compile-time default since 3.32; builds with a higher limit gain little beyond it.
SQLITE_MAX_VARIABLES = 32766
SQLITE_MAX_ROWS_PER_STATEMENT = 2000
# A commit need not wait for its WAL flush: a crash can lose the last batches, never corrupt them
# (measured 2.2k -> 3.0k conversations/s with a durable server).
POSTGRESQL_BATCH_SETTINGS = ("synchronous_commit = off",)


class BulkWriter:
    """Inserts rows of one table, in the column order given, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._sql: dict[tuple[str, int], str] = {}

    def begin_batch(self) -> None:
        """PostgreSQL: settings for this transaction only (`SET LOCAL` ends with it)."""
        if self.dialect == "postgresql":
            for setting in POSTGRESQL_BATCH_SETTINGS:
                self.conn.exec_driver_sql(f"SET LOCAL {setting}")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            self._insert_sqlite(table, columns, rows)
        else:
            self._copy_postgresql(table, columns, rows)

    def _insert_sqlite(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        raw = self.conn.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        limit = min(SQLITE_MAX_VARIABLES, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        per_statement = max(1, min(SQLITE_MAX_ROWS_PER_STATEMENT, limit // len(columns)))
        cursor = raw.cursor()
        try:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(
                    self._values_sql(table, columns, len(chunk)), list(itertools.chain.from_iterable(chunk))
                )
        finally:
            cursor.close()

    def _values_sql(self, table: str, columns: Sequence[str], count: int) -> str:
        key = (table, count)
        sql = self._sql.get(key)
        if sql is None:
            one = "(" + ",".join("?" * len(columns)) + ")"
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ",".join([one] * count)
            self._sql[key] = sql
        return sql

    def _copy_postgresql(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        raw: Any = self.conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def sync_sequences(self, tables: Sequence[str]) -> None:
        """PostgreSQL: make each table's id sequence continue after its largest id."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            self.conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
