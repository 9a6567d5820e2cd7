"""Rows into SQLite tables, fast: one bulk insert per table, or only the difference with what is there.

`insert_rows` writes dict rows into an existing table with executemany in the caller's
transaction (`inserting`, a batch at a time); values are stored as sqlite-utils stores them (lists
and dicts as JSON), and a key that is no column of the table is an error, as with sqlite-utils.
`apply_rows` makes a table hold exactly the rows of the same table in an attached database,
changing only the rows that differ (by primary key) and keeping the table's external-content
full-text index in step: the incremental build uses it on a copy of the last database, so that a
night in which 1% of the rows changed writes about 1% of them.
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


def apply_rows(conn, table: str, source: str) -> dict[str, int]:
    """Make `table` of the main database (it has a primary key) hold exactly the rows of the same
    table in the attached database `source`, writing only the rows that differ; return counts.

    Both are walked side by side in key order; the rowids and keys of what differs are collected
    first and the rows written after, so that memory grows with the changes, not with the table."""
    columns = columns_of(conn, table)
    key = primary_key(conn, table)
    positions = [columns.index(k) for k in key]
    names = ", ".join(f"[{c}]" for c in columns)
    order = ", ".join(f"[{k}]" for k in key)
    old = conn.execute(f"select rowid, {names} from main.[{table}] order by {order}")
    new = conn.execute(f"select {names} from {source}.[{table}] order by {order}")
    inserts, updates, deletes = [], [], []
    current = next(old, None)
    for values in new:
        wanted = [values[p] for p in positions]
        while current is not None and [current[1 + p] for p in positions] < wanted:
            deletes.append(current[0])
            current = next(old, None)
        if current is not None and [current[1 + p] for p in positions] == wanted:
            if current[1:] != values:
                updates.append((current[0], wanted))
            current = next(old, None)
        else:
            inserts.append(wanted)
    while current is not None:
        deletes.append(current[0])
        current = next(old, None)
    index = SearchIndex(conn, table, columns)
    where_key = " and ".join(f"[{k}] = ?" for k in key)
    assignments = ", ".join(f"[{c}] = ?" for c in columns)

    def before(rowid: int) -> tuple:
        return conn.execute(f"select {names} from main.[{table}] where rowid = ?", (rowid,)).fetchone()

    def after(wanted: list) -> tuple:
        return conn.execute(f"select {names} from {source}.[{table}] where {where_key}", wanted).fetchone()

    for rowid in deletes:
        index.delete(rowid, before(rowid))
        conn.execute(f"delete from main.[{table}] where rowid = ?", (rowid,))
    for rowid, wanted in updates:
        index.delete(rowid, before(rowid))
        values = after(wanted)
        conn.execute(f"update main.[{table}] set {assignments} where rowid = ?", (*values, rowid))
        index.insert(rowid, values)
    insert = f"insert into main.[{table}] ({names}) values ({', '.join('?' for _ in columns)})"
    for wanted in inserts:
        values = after(wanted)
        index.insert(conn.execute(insert, values).lastrowid, values)
    return {"inserted": len(inserts), "updated": len(updates), "deleted": len(deletes)}
