"""Full-text search pages of a large read-only table, answered from a copy of a few columns in memory.

Datasette's page for `?_search=` runs the search several times over: it counts the table's rows whose
rowid the FTS index matches, sorts them to show the first page, and for every facet groups them by
that column. Each of these reads every matched row from the table itself: at a million rows a common
word's page takes seconds, a mid-frequency word's hundreds of milliseconds. Here the FTS index gives
the matched rowids once, and the rest is done on arrays: each kept column as integer codes by rowid
(codes in SQLite's own order of the values, NULL first), the primary key as each row's rank in its
order. Counts and facet counts are then a few array operations; the page of rows is the top of the
matched rowids by the sort order, read from SQLite by rowid.

`SearchIndex.load` copies the columns from a SQLite connection; `parse` recognises the three SQL
statements Datasette 0.65 makes for a table's search (count, page of rows, facet), with `"col" = :pN`
filters beside the search, and returns None for any other statement, which SQLite then answers.
"""

import functools
import re
from dataclasses import dataclass

import numpy as np

NAME = r'(?:\[[^\]]+\]|"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)'
WHERE = (r'(?P<filters>(?:"(?:[^"]|"")+" = :p\d+ and )*)'
         rf'rowid in \(select rowid from (?P<fts>{NAME}) where (?P=fts) match '
         r'(?P<match>escape_fts\(:search\)|:search)\)')
COUNT = re.compile(rf"select count\(\*\) from (?P<table>{NAME}) where {WHERE}\s*")
ROWS = re.compile(rf"select (?P<columns>.+?) from (?P<table>{NAME}) where {WHERE} "
                  rf"order by (?P<order>{NAME})(?P<desc> desc)? limit (?P<limit>\d+)", re.S)
FACET = re.compile(rf"\s*select (?P<column>{NAME}) as value, count\(\*\) as count from \(\s*"
                   rf"select .+? from (?P<table>{NAME}) where {WHERE}\s*\)\s*"
                   r"where (?P=column) is not null\s*group by (?P=column) "
                   r"order by count desc, value limit (?P<limit>\d+)\s*", re.S)
FILTER = re.compile(r'"((?:[^"]|"")+)" = :(p\d+) and ')
SPARSE_ROWIDS = 4  # not copied: a table whose largest rowid is over this many times its rows + 1e6


def unquoted(name: str) -> str:
    if name.startswith("["):
        return name[1:-1]
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def quoted(name: str) -> str:
    return '"{}"'.format(name.replace('"', '""'))


class Row(tuple):
    """A result row read by position or by column name, as sqlite3.Row is (see row_class)."""

    __slots__ = ()
    names: tuple = ()

    def __getitem__(self, key):
        return tuple.__getitem__(self, self.names.index(key) if isinstance(key, str) else key)

    def keys(self) -> list:
        return list(self.names)


@functools.lru_cache(maxsize=1024)
def row_class(names: tuple) -> type:
    """The Row class of results with these column names."""
    return type("Row", (Row,), {"__slots__": (), "names": names})


def rows_of(names: tuple, values: list) -> tuple[list, tuple]:
    """Rows and a DB-API description for values computed here."""
    kind = row_class(names)
    return [kind(v) for v in values], tuple((n, None, None, None, None, None, None) for n in names)


@dataclass
class Query:
    """One of Datasette's search statements: count, rows or facet."""

    kind: str
    table: str
    fts: str
    match: str  # the MATCH argument as written: escape_fts(:search) or :search
    filters: list  # (column, parameter name)
    column: str | None = None  # facet column, or the column the rows are ordered by
    descending: bool = False
    limit: int = 0
    columns: str = ""  # the select list of a rows query, as written


def parse(sql: str) -> Query | None:
    for kind, pattern in (("count", COUNT), ("rows", ROWS), ("facet", FACET)):
        found = pattern.fullmatch(sql)
        if found:
            return query_of(kind, found.groupdict())
    return None


def query_of(kind: str, parts: dict) -> Query:
    filters = [(unquoted(quoted_column), param) for quoted_column, param
               in FILTER.findall(parts["filters"])]
    column = parts.get("column") or parts.get("order")
    return Query(kind, unquoted(parts["table"]), unquoted(parts["fts"]), parts["match"], filters,
                 unquoted(column) if column else None, bool(parts.get("desc")),
                 int(parts.get("limit") or 0), parts.get("columns") or "")


class Column:
    """One column as codes by rowid: 0 for NULL (and for rowids no row has), then 1, 2, ... for the
    distinct values in SQLite's order of them."""

    def __init__(self, codes: np.ndarray, values: list):
        self.codes, self.values = codes, values
        self.code_of = {value: code for code, value in enumerate(values) if code}
        self.integers = all(isinstance(v, int) for v in values[1:])
        self.texts = all(isinstance(v, str) for v in values[1:])

    def code(self, parameter) -> int | None:
        """The code of the value a `"col" = :p` filter compares with, -1 (no row's code) when no
        row has it, or None when the comparison is not a plain equality of like values (SQLite
        then decides)."""
        if not isinstance(parameter, str):
            return None
        if self.texts:
            return self.code_of.get(parameter, -1)
        if self.integers and re.fullmatch(r"-?[1-9][0-9]*|0", parameter):
            return self.code_of.get(int(parameter), -1)
        return None


class SearchIndex:
    """A table's primary key order and some of its columns, by rowid, for its full-text searches."""

    def __init__(self, table: str, fts: str, key: str | None, rank: np.ndarray, columns: dict):
        self.table, self.fts, self.key, self.rank, self.columns = table, fts, key, rank, columns

    @classmethod
    def load(cls, conn, table: str, fts: str, key: str | None, columns: list[str]) -> "SearchIndex | None":
        """Copy `columns` of `table` (key: its single primary key column, None when it has none);
        None when its rowids are too sparse for arrays indexed by rowid."""
        cursor = conn.cursor()
        cursor.row_factory = None
        last, rows = cursor.execute(f"select max(rowid), count(*) from {quoted(table)}").fetchone()
        last = last or 0
        if last > SPARSE_ROWIDS * rows + 1_000_000:
            return None
        order = quoted(key) if key else "rowid"
        ordered = np.fromiter((r[0] for r in cursor.execute(f"select rowid from {quoted(table)} "
                                                            f"order by {order}")), dtype=np.int64)
        rank = np.full(last + 1, -1, dtype=np.int32)
        rank[ordered] = np.arange(len(ordered))
        copies = {}
        for column in dict.fromkeys(columns):
            codes, values = np.zeros(last + 1, dtype=np.int32), [None]
            groups = cursor.execute(f"select {quoted(column)}, group_concat(rowid) from {quoted(table)} "
                                    f"where {quoted(column)} is not null "
                                    f"group by {quoted(column)} order by {quoted(column)}")
            for value, rowids in groups:
                codes[np.array(rowids.split(","), dtype=np.int64)] = len(values)
                values.append(value)
            copies[column] = Column(codes, values)
        return cls(table, fts, key, rank, copies)

    def answers(self, query: Query) -> bool:
        """Whether this copy holds what the query needs (its filters are checked on its parameters)."""
        if query.table != self.table or query.fts != self.fts:
            return False
        if any(column not in self.columns for column, _ in query.filters):
            return False
        if query.kind == "facet":
            return query.column in self.columns
        if query.kind == "rows":
            return query.column in self.columns or query.column in (self.key, "rowid")
        return True

    def match_sql(self, query: Query) -> str:
        return (f"select group_concat(rowid) from {quoted(self.fts)} "
                f"where {quoted(self.fts)} match {query.match}")

    def selected(self, matched: np.ndarray, query: Query, params: dict) -> np.ndarray | None:
        """The rowids of the table's rows among the FTS matches that pass the filters (None when a
        filter's value is one SQLite must compare)."""
        rowids = matched[matched < len(self.rank)]
        rowids = rowids[self.rank[rowids] >= 0]
        for column, param in query.filters:
            code = self.columns[column].code(params.get(param))
            if code is None:
                return None
            rowids = rowids[self.columns[column].codes[rowids] == code]
        return rowids

    def count(self, rowids: np.ndarray) -> tuple[list, tuple]:
        return rows_of(("count(*)",), [(len(rowids),)])

    def facet(self, rowids: np.ndarray, query: Query) -> tuple[list, tuple]:
        """`value, count` of the column over the rows, NULL left out, most frequent first (then by
        value), at most `limit` of them."""
        column = self.columns[query.column]
        counts = np.bincount(column.codes[rowids], minlength=len(column.values))
        codes = np.flatnonzero(counts[1:]) + 1
        ordered = codes[np.lexsort((codes, -counts[codes]))][:query.limit]
        return rows_of(("value", "count"), [(column.values[c], int(counts[c])) for c in ordered])

    def rows_sql(self, rowids: np.ndarray, query: Query) -> str:
        """SQL reading the first `limit` rows by the query's order (ties by primary key) by rowid."""
        if query.column in (self.key, "rowid"):
            keys = self.rank[rowids] if query.column == self.key else rowids
            if query.descending:
                keys = -keys
        else:
            codes = self.columns[query.column].codes[rowids].astype(np.int64)
            if query.descending:
                codes = len(self.columns[query.column].values) - codes
            keys = codes * len(self.rank) + self.rank[rowids]
        if len(rowids) > query.limit:
            rowids = rowids[np.argpartition(keys, query.limit - 1)[:query.limit]]
        order = quoted(query.column) + (" desc" if query.descending else "")
        if query.column not in (self.key, "rowid"):
            order += ", " + (quoted(self.key) if self.key else "rowid")
        listed = ", ".join(str(r) for r in sorted(rowids.tolist()))
        return (f"select {query.columns} from {quoted(self.table)} where rowid in ({listed}) "
                f"order by {order} limit {query.limit}")
