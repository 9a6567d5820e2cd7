"""publish/search_index.py: Datasette's search statements are recognised, and answered from the
columns kept in memory exactly as SQLite answers them."""

import sqlite3

import numpy as np
import pytest

from publish.search_index import SearchIndex, parse, row_class

MATCH = "rowid in (select rowid from things_fts where things_fts match escape_fts(:search))"
COLUMNS = "id, title, kind, year, date"


@pytest.fixture
def conn():
    """A table of things with kinds, years and dates (NULLs and ties among them), ids in another
    order than rowids, its FTS index, and a stale FTS row whose rowid the table no longer has."""
    conn = sqlite3.connect(":memory:")
    conn.execute("create table things (id text primary key, title text, kind text, year integer, date text)")
    rows = [(f"t{n * 17 % 40:02d}", f"thing {'common ' if n % 2 else ''}{'rare' if n % 7 == 0 else ''}"
             f"{' ghost' if n == 20 else ''}",
             [None, "b", "a", "c", "B"][n % 5], [None, 2020, 2021][n % 3],
             [None, "2024-01", "2023", "2024-01", "2022-12-31"][n % 5]) for n in range(40)]
    conn.executemany("insert into things values (?, ?, ?, ?, ?)", rows)
    conn.execute("create virtual table things_fts using fts5(title, content=things)")
    conn.execute("insert into things_fts(things_fts) values ('rebuild')")
    conn.execute("delete from things where title like '%ghost'")
    conn.create_function("escape_fts", 1, lambda q: '"' + q.replace('"', '""') + '"')
    return conn


def facet_sql(column: str, where: str = MATCH) -> str:
    return (f"\n    select {column} as value, count(*) as count from (\n        select {COLUMNS} "
            f"from things where {where} \n    )\n    where {column} is not null\n"
            f"    group by {column} order by count desc, value limit 3\n")


def answer(conn, index: SearchIndex, sql: str, params: dict) -> list:
    query = parse(sql)
    assert query is not None and index.answers(query)
    matched = np.array([r[0] for r in conn.execute(
        "select rowid from things_fts where things_fts match escape_fts(:search)", params)], dtype=np.int64)
    rowids = index.selected(matched, query, params)
    if query.kind == "rows":
        return conn.execute(index.rows_sql(rowids, query)).fetchall()
    rows, _ = index.count(rowids) if query.kind == "count" else index.facet(rowids, query)
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("search", ["common", "rare", "thing", "nothing"])
@pytest.mark.parametrize("filters", [[], [("kind", "b")], [("year", "2021")],
                                     [("kind", "a"), ("year", "2020")], [("kind", "zzz")]])
def test_counts_facets_and_pages_are_sqlites(conn, search, filters):
    index = SearchIndex.load(conn, "things", "things_fts", "id", ["kind", "year", "date"])
    where = "".join(f'"{column}" = :p{i} and ' for i, (column, _) in enumerate(filters)) + MATCH
    params = {"search": search, **{f"p{i}": value for i, (_, value) in enumerate(filters)}}
    statements = [f"select count(*) from things where {where} ",
                  facet_sql("kind", where), facet_sql("year", where), facet_sql("date", where)]
    for statement in statements:
        assert answer(conn, index, statement, params) == conn.execute(statement, params).fetchall(), statement
    for order in ("date desc", "date", "year desc", "id", "id desc", "rowid"):
        statement = f"select {COLUMNS} from things where {where} order by {order} limit 4"
        # SQLite leaves the order of ties open: ours breaks them by primary key, as ?_next= does.
        tie_broken = statement.replace(f"order by {order}", f"order by {order}, id")
        assert answer(conn, index, statement, params) == conn.execute(tie_broken, params).fetchall(), order


def test_rows_the_table_no_longer_has_are_not_counted(conn):
    index = SearchIndex.load(conn, "things", "things_fts", "id", ["kind"])
    statement = f"select count(*) from things where {MATCH} "
    assert answer(conn, index, statement, {"search": "ghost"}) == [(0,)]


def test_a_filter_sqlite_must_compare_is_left_to_it(conn):
    index = SearchIndex.load(conn, "things", "things_fts", "id", ["year"])
    query = parse(f'select count(*) from things where "year" = :p0 and {MATCH} ')
    assert index.selected(np.array([1, 2]), query, {"p0": "2020.0", "search": "x"}) is None
    assert len(index.selected(np.array([1, 2]), query, {"p0": "2020", "search": "x"})) == 1


@pytest.mark.parametrize("sql", [
    # a search of one column, a next page, a filter other than equality, another FTS table
    "select count(*) from things where rowid in (select rowid from things_fts where title match :search_0) ",
    f"select {COLUMNS} from things where {MATCH} and (date < :p0 or date is null) order by date desc limit 4",
    f'select count(*) from things where "year" > :p0 and {MATCH} ',
    "select count(*) from things where rowid in (select rowid from other_fts where other_fts match :search) ",
    "select count(*) from things",
])
def test_other_statements_are_left_to_sqlite(conn, sql):
    index = SearchIndex.load(conn, "things", "things_fts", "id", ["kind", "year"])
    query = parse(sql)
    assert query is None or not index.answers(query)


def test_facets_of_columns_not_kept_are_left_to_sqlite(conn):
    index = SearchIndex.load(conn, "things", "things_fts", "id", ["kind"])
    assert not index.answers(parse(facet_sql("year")))
    assert index.answers(parse(facet_sql("kind")))


def test_rows_read_by_name_and_position():
    row = row_class(("value", "count"))(("a", 3))
    assert (row["value"], row[1], row.keys(), dict(zip(row.keys(), row, strict=True))) == \
        ("a", 3, ["value", "count"], {"value": "a", "count": 3})
    assert row_class(("value", "count")) is type(row)


def test_a_table_of_sparse_rowids_is_not_copied(conn):
    conn.execute("insert into things (rowid, id) values (5000000, 'far')")
    assert SearchIndex.load(conn, "things", "things_fts", "id", ["kind"]) is None
