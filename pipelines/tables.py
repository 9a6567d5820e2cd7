"""Rows into SQLite tables, fast: one bulk insert per table, or one row at a time with its search index.

`insert_rows` writes dict rows into an existing table with executemany in the caller's
transaction (`inserting`, a batch at a time); values are stored as sqlite-utils stores them (lists
and dicts as JSON), and a key that is no column of the table is an error, as with sqlite-utils.
`SearchIndex` keeps a table's external-content full-text index in step as single rows are
deleted, written over and added (the delta build, pipelines/delta.py).
"""

import datetime
import json
from itertools import islice

BATCH = 5_000


def columns_of(conn, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"pragma table_info([{table}])")]


def primary_key(conn, table: str) -> list[str]:
    """The table's primary key columns, in key order (rowid where it has none)."""
    keyed = sorted((row[5], row[1]) for row in conn.execute(f"pragma table_info([{table}])") if row[5])
    return [name for _, name in keyed] or ["rowid"]


PLAIN = frozenset({str, int, float, type(None)})


def stored(value):
    """A value as sqlite-utils would store it."""
    if value.__class__ in PLAIN:
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def _tuples(table: str, columns: list[str], rows):
    known = set(columns)
    for row in rows:
        if not known.issuperset(row):
            unknown = sorted(set(row) - known)
            raise ValueError(f"table {table} has no column {unknown[0]!r}")
        yield tuple(stored(row.get(c)) for c in columns)


def inserting(conn, table: str, rows):
    """Insert dict rows into an existing table a batch at a time, yielding each batch's size after
    it is written (so that a caller can do it between other work)."""
    columns = columns_of(conn, table)
    sql = (f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
           f"values ({', '.join('?' for _ in columns)})")
    tuples = _tuples(table, columns, rows)
    while batch := list(islice(tuples, BATCH)):
        conn.executemany(sql, batch)
        yield len(batch)


def insert_rows(conn, table: str, rows) -> int:
    """Insert dict rows into an existing table; return how many."""
    return sum(inserting(conn, table, rows))


class SearchIndex:
    """The external-content FTS5 table of a table, if it has one, kept in step row by row."""

    def __init__(self, conn, table: str, columns: list[str]):
        self.conn, self.name = conn, f"{table}_fts"
        exists = conn.execute("select 1 from sqlite_master where name = ?", (self.name,)).fetchone()
        self.columns = [c for c in columns_of(conn, self.name) if c in columns] if exists else []
        self.positions = [columns.index(c) for c in self.columns]
        names = ", ".join(f"[{c}]" for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        self.delete_sql = (f"insert into [{self.name}] ([{self.name}], rowid, {names}) "
                           f"values ('delete', ?, {marks})")
        self.insert_sql = f"insert into [{self.name}] (rowid, {names}) values (?, {marks})"

    def delete(self, rowid: int, values: tuple) -> None:
        if self.columns:
            self.conn.execute(self.delete_sql, (rowid, *(values[i] for i in self.positions)))

    def insert(self, rowid: int, values: tuple) -> None:
        if self.columns:
            self.conn.execute(self.insert_sql, (rowid, *(values[i] for i in self.positions)))
