"""The rows one event record gives, written straight into the database being built.

An event record gives its row in its table, a citation of each document it cites, a link to each
organisation it names, and the organisations and documents themselves. Many records cite one
document and name one organisation: each is one row, the first record naming an organisation
gives its name and kind, and each column of a document takes the first value any record citing
it gives (records in id order; a merged record after the records merged into it), with the
earliest first_seen and latest last_seen of those records. Rows are written in batches: while the
records are read once, by a second process (SQLite's inserts are most of a build's time, and a
machine's second core takes them; threads could not, as they share Python's lock), which writes
the run log whenever it waits for rows, then, for the few merged records, by this one in the
caller's transaction. `remove` takes back the rows of records that were merged into another (the
merged record is added in their place). A document's row that would change nothing is not
written (`Lately`): most of a build's document rows are a page a source cites for many of its
rows, whose columns the first of them filled.
"""

import queue
import sqlite3
from collections import deque
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

from pipelines.operations import run_log_batches
from pipelines.organisations import named_organisations, organisation_id, organisation_kind, registry
from pipelines.schema import COLUMNS
from pipelines.second_process import SecondProcess, packed, received, unpacked
from pipelines.tables import stored
from pipelines.vocab import EVENT_TABLES

BATCH = 5_000
LATELY_DOCUMENTS = 50_000
STAGED = ("documents", "organisations")
DOCUMENT_COLUMNS = COLUMNS["documents"]
SEEN = ("first_seen", "last_seen")
SOURCE_AT, FIRST_SEEN_AT, LAST_SEEN_AT = (DOCUMENT_COLUMNS.index(c) for c in ("source", *SEEN))
# A document's first value of each column stays; first_seen and last_seen widen. A mention that
# changes nothing (most of them) leaves the row as it is.
_FIRST = [c for c in DOCUMENT_COLUMNS if c not in ("id", "source", *SEEN)]
_WIDEN = (("first_seen", "min", "<"), ("last_seen", "max", ">"))
FIRST_BITS = tuple((1 << bit, DOCUMENT_COLUMNS.index(c)) for bit, c in enumerate(_FIRST))
_SET = ([f"[{c}] = coalesce([{c}], excluded.[{c}])" for c in _FIRST]
        + [f"{c} = coalesce({pick}({c}, excluded.{c}), {c}, excluded.{c})" for c, pick, _ in _WIDEN])
_CHANGES = ([f"([{c}] is null and excluded.[{c}] is not null)" for c in _FIRST]
            + [f"coalesce(excluded.{c} {than} {c}, {c} is null and excluded.{c} is not null)"
               for c, _, than in _WIDEN])
UPSERT_DOCUMENT = (f"insert into documents ({', '.join(f'[{c}]' for c in DOCUMENT_COLUMNS)}) "
                   f"values ({', '.join('?' for _ in DOCUMENT_COLUMNS)}) on conflict(id) do update "
                   f"set {', '.join(_SET)} where {' or '.join(_CHANGES)}")


# Where each event table's made columns are: vendor (None where it has none), listed and year.
MADE_AT = {table: (COLUMNS[table].index("vendor") if "vendor" in COLUMNS[table] else None,
                   COLUMNS[table].index("listed"), COLUMNS[table].index("year")) for table in EVENT_TABLES}


def event_row(record: dict) -> tuple:
    """The record's row in its event table, in column order."""
    get = record.get
    row = [get(column) for column in COLUMNS[record["table"]]]
    vendor_at, listed_at, year_at = MADE_AT[record["table"]]
    if vendor_at is not None:
        row[vendor_at] = "; ".join(get("vendors") or []) or None
    row[listed_at] = int(get("listed", True))
    row[year_at] = int(record["date"][:4]) if get("date") else None
    return tuple(map(stored, row))


def _insert(table: str, verb: str = "insert") -> str:
    columns = COLUMNS[table]
    return (f"{verb} into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"values ({', '.join('?' for _ in columns)})")


SQL = {**{table: _insert(table) for table in EVENT_TABLES},
       "citations": _insert("citations", "insert or ignore"),
       "event_organisations": _insert("event_organisations", "insert or ignore"),
       "organisations": _insert("organisations"), "documents": UPSERT_DOCUMENT}
WRITE_ORDER = (*STAGED, *EVENT_TABLES, "citations", "event_organisations")
DATABASE_CACHE_MIB = 16  # the second process's: its rows are appended in key order
STAGING_CACHE_MIB = 64
BESIDE_CACHE_MIB = 16  # appended too


def _widest(a: str | None, b: str | None, pick) -> str | None:
    """The earlier (pick=min) or later (max) of two days, either of which may be unknown."""
    return pick(a, b) if a and b else a or b or None


def _create_staging(path: Path) -> None:
    """A file of its own for documents and organisations while records come: each row found by its
    id (a table without rowid is one tree), and copied in id order once all are known."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for table in STAGED:
            others = ", ".join(f"[{c}]" for c in COLUMNS[table][1:])
            conn.execute(f"create table [{table}] ([id] text primary key, {others}) without rowid")


def _open(path: str | Path, cache_mib: int) -> sqlite3.Connection:
    """A connection to a file being built, in a transaction: no journal, no sync per write."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"pragma journal_mode = off; pragma synchronous = off; "
                       f"pragma cache_size = -{cache_mib << 10};")
    conn.execute("begin")
    return conn


class Lately:
    """What the document rows sent lately fill: for each document, which of its first-value columns
    hold a value (bits), and its earliest first_seen and latest last_seen. A row that fills no other
    column and widens neither date changes nothing when upserted (UPSERT_DOCUMENT), so it need not
    be sent. The last LATELY_DOCUMENTS documents are remembered, to twice as many (two generations,
    so memory stays bounded); a row of a document forgotten is sent."""

    def __init__(self):
        self.now: dict[str, tuple[int, str | None, str | None]] = {}
        self.before: dict[str, tuple[int, str | None, str | None]] = {}

    def new(self, row: tuple) -> bool:
        """Whether upserting the row could change its document's row (and note what it fills)."""
        filled = 0
        for bit, at in FIRST_BITS:
            if row[at] is not None:
                filled |= bit
        first, last = row[FIRST_SEEN_AT], row[LAST_SEEN_AT]
        known = self.now.get(row[0]) or self.before.get(row[0])
        if known:
            had, earliest, latest = known
            if not filled & ~had and _within(first, earliest, min) and _within(last, latest, max):
                return False
            filled |= had
            first, last = _widest(first, earliest, min), _widest(last, latest, max)
        self.now[row[0]] = (filled, first, last)
        if len(self.now) >= LATELY_DOCUMENTS:
            self.before, self.now = self.now, {}
        return True


def _within(value: str | None, bound: str | None, pick) -> bool:
    return value is None or (bound is not None and pick(value, bound) == bound)


class Beside(NamedTuple):
    """Rows the caller keeps in a file of its own while the records are read (matching's index,
    pipelines/events.py): the file, and the insert statement of each of its tables."""

    path: Path
    inserts: dict[str, str]


def move_staged(conn: sqlite3.Connection, staging_path: Path) -> None:
    """Copy the documents and organisations of the staging file into conn's database, in id order
    (committed: a database is attached outside a transaction)."""
    conn.commit()
    conn.execute("attach database ? as staged", (str(staging_path),))
    for table in STAGED:
        conn.execute(f"insert into main.[{table}] select * from staged.[{table}] order by id")
    conn.commit()
    conn.execute("detach database staged")


class Tables:
    """Batches of rows written by this process: event rows, citations and links into `conn` (in
    its caller's transaction); documents and organisations into the staging file, or into `conn`
    once they were moved there (no staging file, `move_staged`), leaving out document rows that
    would change nothing; and rows beside into their file."""

    def __init__(self, conn: sqlite3.Connection, staging_path: Path | None, beside: Beside | None = None):
        self.conn = conn
        self.staging = staging_path and _open(staging_path, STAGING_CACHE_MIB)
        self.beside = beside and _open(beside.path, BESIDE_CACHE_MIB)
        self.inserts = {**SQL, **(beside.inserts if beside else {})}
        self.lately = Lately()
        self.order = (*WRITE_ORDER, *(beside.inserts if beside else ()))

    def write(self, pending: dict[str, list[tuple]]) -> None:
        for table in self.order:
            rows = pending.get(table)
            if table == "documents" and rows:
                rows = [row for row in rows if self.lately.new(row)]
            if rows:
                self._connection(table).executemany(self.inserts[table], rows)

    def _connection(self, table: str) -> sqlite3.Connection:
        if table in STAGED and self.staging:
            return self.staging
        return self.conn if table in SQL else self.beside

    def finish(self) -> None:
        """Commit the staging file's rows and the rows beside."""
        for conn in (self.staging, self.beside):
            if conn:
                conn.execute("commit")
                conn.close()

    def close(self) -> None:
        if self.staging:
            self.staging.close()


def _next(inbox, meanwhile):
    """The next message, doing a step of `meanwhile` (an iterator) whenever none is waiting."""
    while True:
        try:
            return inbox.get_nowait()
        except queue.Empty:
            if next(meanwhile, None) is None:
                return received(inbox)


def _write_batches(db_path: str, staging_path: Path, beside: Beside | None, runs_dir: Path | None,
                   inbox, outbox) -> None:
    """The second process: each batch written in order, committed at the end; whenever no batch is
    waiting, a batch of the run log under runs_dir (if given) is written meanwhile."""
    tables = Tables(_open(db_path, DATABASE_CACHE_MIB), staging_path, beside)
    meanwhile = run_log_batches(tables.conn, runs_dir) if runs_dir else iter(())
    while (message := _next(inbox, meanwhile)) is not None:
        tables.write(unpacked(message))
    deque(meanwhile, maxlen=0)  # what is left of the run log
    tables.finish()
    tables.conn.execute("commit")
    tables.conn.close()
    outbox.put(("written",))


class TablesProcess:
    """Batches of rows written, as Tables writes them, by a second process into the file of `conn`
    (which must hold no lock until `finish`), the staging file and the file beside."""

    def __init__(self, conn: sqlite3.Connection, staging_path: Path, beside: Beside | None,
                 runs_dir: Path | None):
        db_path = conn.execute("pragma database_list").fetchone()[2]
        self.process = SecondProcess(_write_batches, (db_path, staging_path, beside, runs_dir),
                                     name="frt-rows", called="the rows' writing process",
                                     doing="writing the rows")

    def write(self, pending: dict[str, list[tuple]]) -> None:
        self.process.put(packed(pending))

    def finish(self) -> None:
        """Wait for every batch to be written and committed."""
        self.process.put(None)
        self.process.result()

    def close(self) -> None:
        self.process.stop()


class RowWriter:
    """Writes records' rows into an open database whose tables exist (pipelines/schema.py)."""

    def __init__(self, conn: sqlite3.Connection, staging_path: Path, beside: Beside | None = None,
                 runs_dir: Path | None = None):
        """Documents and organisations are gathered in a file at staging_path until `complete` (or
        until another process moves them into the database, `staged_moved`). The
        rows queued until the first `finish` (the records read once, and the rows `keep_beside`
        queues) are written by a second process (TablesProcess), which also loads the run log
        under runs_dir (if given) into conn's file while it waits for rows: the caller must not
        write into conn's file or the file beside until then; the rows that follow (merged
        records) are written by this process."""
        self.conn = conn
        self.staging_path = staging_path
        _create_staging(staging_path)
        self.tables = TablesProcess(conn, staging_path, beside, runs_dir)
        self.pending: dict[str, list[tuple]] = {}
        registered = {organisation_id(o["name"]): (o["name"], o.get("kind"), o.get("country"),
                                                   o.get("website"), stored(sorted(o.get("aliases", []))))
                      for o in registry()}
        self._queue("organisations", [(org_id, *row) for org_id, row in registered.items()])
        self.organisations = set(registered)
        self.queued = 0
        self.moved = False

    def _queue(self, table: str, rows: list[tuple]) -> None:
        self.pending.setdefault(table, []).extend(rows)

    def keep_beside(self, table: str, rows: list[tuple]) -> None:
        """Queue rows of a table in the file beside (written with the next batch of records)."""
        self._queue(table, rows)

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
        values[FIRST_SEEN_AT] = _widest(document.get("first_seen"), record.get("first_seen"), min)
        values[LAST_SEEN_AT] = _widest(document.get("last_seen"), record.get("last_seen"), max)
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
        if self.pending:
            self.tables.write(self.pending)
            self.pending = {}
        self.queued = 0

    def finish(self) -> None:
        """Write every row queued; the first time, the second process writing them ends, and this
        one writes what follows."""
        self.flush()
        if isinstance(self.tables, TablesProcess):
            self.tables.finish()
            self.tables = Tables(self.conn, self.staging_path)

    def staged_moved(self) -> None:
        """The staging file's rows were moved into the database (by another process, with
        `move_staged`, after the first `finish`): the documents and organisations of the records
        that follow are written straight into it."""
        self.finish()
        self.tables.finish()
        self.tables = Tables(self.conn, None)
        self.moved = True

    def complete(self) -> None:
        """Write every row queued, and the documents and organisations (unless moved already) into
        the database, in id order."""
        self.finish()
        self.tables.finish()
        if not self.moved:
            move_staged(self.conn, self.staging_path)

    def close(self) -> None:
        self.tables.close()
