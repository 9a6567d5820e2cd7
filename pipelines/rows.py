"""The rows one event record gives, written straight into the database being built.

An event record gives its row in its table, a citation of each document it cites, a link to each
organisation it names, and the organisations and documents themselves. Many records cite one
document and name one organisation: each is one row, the first record naming an organisation
gives its name and kind, and each column of a document takes the first value any record citing
it gives (records in id order; a merged record after the records merged into it), with the
earliest first_seen and latest last_seen of those records. Rows are written in batches, in the
caller's transaction (on the reading thread: writer threads cost more in handing Python's lock
back and forth than they saved); `remove` takes back the rows of records that were merged into another (the
merged record is added in their place).
"""

import sqlite3
from pathlib import Path

from pipelines.organisations import named_organisations, organisation_id, organisation_kind, registry
from pipelines.schema import COLUMNS
from pipelines.tables import stored
from pipelines.vocab import EVENT_TABLES

BATCH = 5_000
STAGED = ("documents", "organisations")
DOCUMENT_COLUMNS = COLUMNS["documents"]
SEEN = ("first_seen", "last_seen")
SOURCE_AT, FIRST_SEEN_AT, LAST_SEEN_AT = (DOCUMENT_COLUMNS.index(c) for c in ("source", *SEEN))
# A document's first value of each column stays; first_seen and last_seen widen. A mention that
# changes nothing (most of them) leaves the row as it is.
_FIRST = [c for c in DOCUMENT_COLUMNS if c not in ("id", "source", *SEEN)]
_WIDEN = (("first_seen", "min", "<"), ("last_seen", "max", ">"))
_SET = ([f"[{c}] = coalesce([{c}], excluded.[{c}])" for c in _FIRST]
        + [f"{c} = coalesce({pick}({c}, excluded.{c}), {c}, excluded.{c})" for c, pick, _ in _WIDEN])
_CHANGES = ([f"([{c}] is null and excluded.[{c}] is not null)" for c in _FIRST]
            + [f"coalesce(excluded.{c} {than} {c}, {c} is null and excluded.{c} is not null)"
               for c, _, than in _WIDEN])
UPSERT_DOCUMENT = (f"insert into documents ({', '.join(f'[{c}]' for c in DOCUMENT_COLUMNS)}) "
                   f"values ({', '.join('?' for _ in DOCUMENT_COLUMNS)}) on conflict(id) do update "
                   f"set {', '.join(_SET)} where {' or '.join(_CHANGES)}")


def event_row(record: dict) -> tuple:
    """The record's row in its event table, in column order."""
    row = {column: record.get(column) for column in COLUMNS[record["table"]]}
    if "vendor" in row:
        row["vendor"] = "; ".join(record.get("vendors") or []) or None
    row["listed"] = int(record.get("listed", True))
    row["year"] = int(record["date"][:4]) if record.get("date") else None
    return tuple(map(stored, row.values()))


def _insert(table: str, verb: str = "insert") -> str:
    columns = COLUMNS[table]
    return (f"{verb} into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"values ({', '.join('?' for _ in columns)})")


def _seen(document: dict, record: dict, column: str, pick):
    mine, theirs = document.get(column), record.get(column)
    return pick(mine, theirs) if mine and theirs else mine or theirs or None


def _staging(path: Path) -> sqlite3.Connection:
    """A file of its own for documents and organisations while records come: each row found by its
    id (a table without rowid is one tree), and copied in id order once all are known."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("pragma journal_mode = off; pragma synchronous = off; pragma cache_size = -65536;")
    for table in STAGED:
        others = ", ".join(f"[{c}]" for c in COLUMNS[table][1:])
        conn.execute(f"create table [{table}] ([id] text primary key, {others}) without rowid")
    conn.execute("begin")
    return conn


class RowWriter:
    """Writes records' rows into an open database whose tables exist (pipelines/schema.py)."""

    def __init__(self, conn: sqlite3.Connection, staging_path: Path):
        """Documents and organisations are gathered in a file at staging_path until `complete`."""
        self.conn = conn
        self.staging_path = staging_path
        self.staging = _staging(staging_path)
        self.pending: dict[str, list[tuple]] = {}
        self.sql = {table: _insert(table) for table in EVENT_TABLES}
        self.sql.update(citations=_insert("citations", "insert or ignore"),
                        event_organisations=_insert("event_organisations", "insert or ignore"),
                        organisations=_insert("organisations"), documents=UPSERT_DOCUMENT)
        registered = {organisation_id(o["name"]): (o["name"], o.get("kind"), o.get("country"),
                                                   o.get("website"), stored(sorted(o.get("aliases", []))))
                      for o in registry()}
        self._queue("organisations", [(org_id, *row) for org_id, row in registered.items()])
        self.organisations = set(registered)
        self.queued = 0

    def _queue(self, table: str, rows: list[tuple]) -> None:
        self.pending.setdefault(table, []).extend(rows)

    def add(self, record: dict) -> None:
        """Queue the record's rows."""
        record_id, table = record["id"], record["table"]
        self._queue(table, [event_row(record)])
        cited = sorted({d["id"]: d for d in reversed(record["documents"])}.items())
        self._queue("citations", [(record_id, doc_id, table, d.get("role"), None) for doc_id, d in cited])
        self._queue("documents", [self.document_row(d, record) for d in record["documents"]])
        links = []
        for name, role in named_organisations(record):
            org_id = organisation_id(name)
            links.append((record_id, org_id, table, role))
            if org_id not in self.organisations:
                self.organisations.add(org_id)
                kind = organisation_kind(name, role)
                self._queue("organisations", [(org_id, name, kind, None, None, "[]")])
        self._queue("event_organisations", sorted(links))
        self.queued += 1
        if self.queued >= BATCH:
            self.flush()

    @staticmethod
    def document_row(document: dict, record: dict) -> tuple:
        """The row a document cited by a record gives, before it is upserted with the others."""
        get = document.get
        values = [get(c) for c in DOCUMENT_COLUMNS]
        values[SOURCE_AT] = document.get("source") or record["source"]
        values[FIRST_SEEN_AT] = _seen(document, record, "first_seen", min)
        values[LAST_SEEN_AT] = _seen(document, record, "last_seen", max)
        return tuple(values)

    def remove(self, records: list[dict]) -> None:
        """Take back the rows of these records (not their documents and organisations)."""
        self.finish()
        for record in records:
            key = (record["id"],)
            self.conn.execute(f"delete from [{record['table']}] where id = ?", key)
            self.conn.execute("delete from citations where event_id = ?", key)
            self.conn.execute("delete from event_organisations where event_id = ?", key)

    def flush(self) -> None:
        for table in (*STAGED, *EVENT_TABLES, "citations", "event_organisations"):
            rows = self.pending.pop(table, None)
            if rows:
                (self.staging if table in STAGED else self.conn).executemany(self.sql[table], rows)
        self.queued = 0

    def finish(self) -> None:
        """Write every row queued."""
        self.flush()

    def complete(self) -> None:
        """Write every row queued, and the documents and organisations into the database, in id order."""
        self.finish()
        self.staging.execute("commit")
        self.staging.close()
        self.conn.commit()  # a database is attached outside a transaction
        self.conn.execute("attach database ? as staged", (str(self.staging_path),))
        for table in STAGED:
            self.conn.execute(f"insert into main.[{table}] select * from staged.[{table}] order by id")
        self.conn.commit()
        self.conn.execute("detach database staged")

    def close(self) -> None:
        self.staging.close()
