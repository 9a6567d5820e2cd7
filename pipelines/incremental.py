"""The incremental build: the last database, copied, brought to the new rows by writing what differs.

A full build writes every row, then every index and full-text index, into a new file. A nightly
build in which few rows changed can instead start from a copy of the last database, if that
database has exactly the tables, indexes and full-text indexes this build makes (`reusable`):
`update_from` then writes, table by table, only the rows that differ from the new ones the build
wrote into a file of its own (pipelines/tables.py, full-text indexes kept in step), empties the
tables the build fills whole afterwards (the build table, claims, the run log) and drops the
views, which the build makes again. Deleted values are overwritten on disk (secure_delete), so a
redacted value cannot linger in a free page. The result holds the same rows as a full build of the same text
(tests/test_incremental_build.py).
"""

import sqlite3
from pathlib import Path

import sqlite_utils

from pipelines.schema import FTS_COLUMNS, create_indexes, create_search_indexes, create_tables, create_views
from pipelines.tables import apply_rows

SCHEMA_SQL = "select type, name, tbl_name, sql from sqlite_master where type in ('table', 'index')"


def _is_search_table(name: str) -> bool:
    """A full-text table (sqlite-utils names it <table>_fts) or one of its shadow tables."""
    return any(name == f"{table}_fts" or name.startswith(f"{table}_fts_") for table in FTS_COLUMNS)


def expected_schema() -> set[tuple]:
    """The tables and indexes a full build makes, from an empty database in memory."""
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    create_indexes(db)
    create_views(db)
    create_search_indexes(db)
    db["build"].insert({"key": "built_at", "value": ""}, pk="key")
    return set(db.conn.execute(SCHEMA_SQL))


def reusable(db_path: Path) -> bool:
    """Whether the database at db_path has exactly the tables and indexes this build makes."""
    if not Path(db_path).exists():
        return False
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            return set(conn.execute(SCHEMA_SQL)) == expected_schema()
    except sqlite3.DatabaseError:
        return False


def update_from(db: sqlite_utils.Database, rows_file: Path, tables) -> dict[str, dict]:
    """Bring the copied database to the rows of the same tables in rows_file (a database the build
    wrote them into); return what changed where."""
    conn = db.conn
    conn.execute("PRAGMA secure_delete = ON")
    for (view,) in conn.execute("select name from sqlite_master where type = 'view'").fetchall():
        conn.execute(f"drop view [{view}]")
    conn.execute("attach database ? as new", (str(rows_file),))
    changed = {}
    for table in tables:
        changed[table] = apply_rows(conn, table, "new")
    for (table,) in conn.execute("select name from main.sqlite_master where type = 'table'").fetchall():
        if table not in tables and not _is_search_table(table) and not table.startswith("sqlite_"):
            conn.execute(f"delete from main.[{table}]")
    conn.commit()
    conn.execute("detach database new")
    return {table: counts for table, counts in changed.items() if any(counts.values())}


def refill_search_indexes(db: sqlite_utils.Database, kept) -> None:
    """Rebuild the full-text index of each table that was emptied and filled again whole."""
    for table in FTS_COLUMNS:
        if table not in kept:
            db.conn.execute(f"insert into [{table}_fts]([{table}_fts]) values ('rebuild')")
