"""Item snapshots: one sorted JSON-lines file per source, the text the database is built from.

A run adds its records to a `Snapshot` as they come, each with its position in the source
(scrapers/order.py); `commit` then writes `data/items/<source>.jsonl` atomically, sorted by id
with sorted keys, so that the same items give the same bytes. Each record keeps the `first_seen`
date of its first run; one a source stops listing stays, with `listed` false and its last
`last_seen`; one listed again is `restored`. A run judged failed (by the run's monitors: an error,
a layout change, far fewer items than the last good run) does not replace the snapshot: its
records go to `<source>.rejected.jsonl` for a maintainer to read.
An incremental run (only what is newer than the snapshot) adds and updates records and never
marks one as gone. `commit` also says what changed, record by record, with a field-level diff.

Records sharing an id are settled in source order, whatever order they came in: the first keeps
the id, a later identical one is a duplicate, a later different one is kept under the id with a
hash of its content appended. So a single process and distributed workers, which see responses in
different orders, commit the same snapshot.
"""

import json
import math
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from pipelines.identify import short_hash

BOOKKEEPING = ("first_seen", "last_seen", "listed")
BOOKKEEPING_KEYS = frozenset(BOOKKEEPING)
BATCH = 1000
LINES_BUFFER = 1 << 20  # bytes: with the default 8 KiB, staging a million run lines took 10 s more
NO_POSITION = ("", "", "", 0)  # a record added without one comes after those with one, in arrival order
OUTCOMES = {None: "unchanged", "added": "new"}  # a staged change → the outcome counted
# In a line written by `dumps`, the top-level id is the last "id" key (only documents, which sort
# before it, hold others), and each bookkeeping key appears once. A line where the counts say
# otherwise is read with json.loads instead.
UNREAD = object()
LITERALS = (("null", None), ("true", True), ("false", False))
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
ORJSON_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
                  | orjson.OPT_PASSTHROUGH_DATETIME)
LEAF_TYPES = frozenset({str, int, bool, type(None)})
PLAIN_TYPES = LEAF_TYPES | {float, dict, list}


def dumps(record: dict) -> str:
    """One line of JSON, keys sorted, no spaces, text as it is (json.dumps's bytes). orjson writes
    it four times as fast where it writes those bytes (`_plain`); it refuses what it cannot."""
    if _plain(record):
        try:
            return orjson.dumps(record, option=ORJSON_OPTIONS).decode()
        except TypeError:  # a lone surrogate, an integer past 64 bits, a key that is not text
            pass
    return _ENCODER.encode(record)


def _plain(value) -> bool:
    """Whether a dict or list holds only dicts, lists, text, integers, booleans, None and floats
    that orjson writes as json.dumps does: neither NaN nor infinite, and none under 1e-4 (0.00001
    from orjson is 1e-05 from json.dumps)."""
    values = value.values() if type(value) is dict else value
    kinds = set(map(type, values))
    if kinds <= LEAF_TYPES:
        return True
    if not kinds <= PLAIN_TYPES:
        return False
    return all(_plain(v) if type(v) is not float else v == 0 or 1e-4 <= abs(v) < math.inf
               for v in values if type(v) not in LEAF_TYPES)


def read_snapshot(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {r["id"]: r for r in _parsed(handle) if r}


def _parsed(lines, batch: int = BATCH):
    """The JSON value of each line, parsed a batch of lines at a time: within one parse equal keys
    are one string, so a million records take half the memory they would parsed one by one."""
    pending = []
    for line in lines:
        if line.strip():
            pending.append(line)
        if len(pending) == batch:
            yield from json.loads(f"[{','.join(pending)}]")
            pending = []
    if pending:
        yield from json.loads(f"[{','.join(pending)}]")


def _content(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


def _filled(value) -> bool:
    return value not in (None, "", [], {})


def diff(before: dict, after: dict) -> dict:
    """Field by field, what differs between two records: {field: [before, after]}."""
    old, new = _content(before), _content(after)
    return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)}


def line_bookkeeping(line: str) -> tuple[str, str | None, str | None, bool]:
    """(id, first_seen, last_seen, listed) of a snapshot line, without parsing all of it."""
    at = line.rfind('"id":"')
    if at >= 0 and line.count('"id":') == 1 + line.count('"canonical_url":'):
        found = [_value_once(line, key) for key in ('"first_seen":', '"last_seen":', '"listed":')]
        if UNREAD not in found and isinstance(found[2], bool):
            return json.decoder.scanstring(line, at + 6)[0], *found
    record = json.loads(line)
    return record["id"], record.get("first_seen"), record.get("last_seen"), record.get("listed", True)


def line_key(raw: bytes) -> tuple[str, bool]:
    """(id, listed) of a snapshot line as bytes, without decoding or parsing all of it."""
    at, listed = raw.rfind(b'"id":"'), raw.find(b'"listed":')
    if (at >= 0 and listed >= 0 and raw.find(b'"listed":', listed + 1) < 0
            and raw.count(b'"id":') == 1 + raw.count(b'"canonical_url":')):
        end = raw.find(b'"', at + 6)
        flag = raw[listed + 9:listed + 14]
        if raw.find(b"\\", at + 6, end) < 0 and flag in (b"true,", b"true}", b"false"):
            return raw[at + 6:end].decode(), flag.startswith(b"true")
    record = json.loads(raw)
    return record["id"], record.get("listed", True)


def _value_once(line: str, key: str):
    """The text, null or boolean that a key appearing once in the line holds; UNREAD otherwise."""
    at = line.find(key)
    if at < 0 or line.find(key, at + 1) >= 0:
        return UNREAD
    start = at + len(key)
    if line.startswith('"', start):
        return json.decoder.scanstring(line, start + 1)[0]
    return next((value for text, value in LITERALS if line.startswith(text, start)), UNREAD)


def _connect(directory: str) -> sqlite3.Connection:
    conn = sqlite3.connect(Path(directory) / "staging.db", isolation_level=None)
    conn.executescript("pragma journal_mode = off; pragma synchronous = off; pragma cache_size = -65536;")
    return conn


def _staging(directory: str) -> sqlite3.Connection:
    conn = _connect(directory)
    conn.executescript("""
        create table previous (id text primary key, listed integer not null, start integer not null,
                               size integer not null);
        create table run (id text primary key, start integer not null, size integer not null,
                          change text, tbl text,
                          filled integer not null, url text, method text, body text, rank integer,
                          arrival integer);
        create table shared (origin text not null, url text, method text, body text, rank integer,
                             arrival integer, record text not null, kept_as text, outcome text);
    """)
    return conn


class LineFile:
    """A file of lines, each read again from where it starts and its size in bytes: the previous
    snapshot, read in place (`writable` false), or the lines a run staged, appended as they come.
    Sent to another process, it is opened again there; the previous snapshot must not have changed."""

    def __init__(self, path: Path, writable: bool = False):
        self.path, self.writable = Path(path), writable
        self._open()
        self.signature = self._signature()

    def _open(self) -> None:
        self._file = self.path.open("a+b" if self.writable else "rb", buffering=LINES_BUFFER)
        self.size = self._flushed = os.fstat(self._file.fileno()).st_size

    def _signature(self) -> tuple:
        found = os.fstat(self._file.fileno())
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def append(self, line: str) -> tuple[int, int]:
        """Add a line; (start, size) to read it again."""
        data = line.encode()
        start = self.size
        self._file.write(data + b"\n")
        self.size += len(data) + 1
        return start, len(data)

    def read(self, start: int, size: int) -> bytes:
        if start + size > self._flushed:
            self._file.flush()
            self._flushed = self.size
        return os.pread(self._file.fileno(), size, start)

    def lines(self):
        """(start, size, line) of each line that is not empty, from the first."""
        self._file.seek(0)
        start = 0
        for raw in self._file:
            line = raw.rstrip(b"\n")
            if line:
                yield start, len(line), line
            start += len(raw)

    def text(self, start: int, size: int) -> str:
        return self.read(start, size).decode()

    def close(self) -> None:
        self._file.close()

    def __getstate__(self) -> dict:
        self._file.flush()
        return {"path": self.path, "writable": self.writable, "signature": self.signature}

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._open()
        if not self.writable and self._signature() != self.signature:
            raise RuntimeError(f"{self.path} changed while the run was staged: it is not committed over")


class StagedRecords:
    """The run's records staged on disk: how many, and one by id, as a dict gives them."""

    def __init__(self, conn: sqlite3.Connection, lines: LineFile):
        self.conn, self.lines = conn, lines

    def __len__(self) -> int:
        return self.conn.execute("select count(*) from run").fetchone()[0]

    def __getitem__(self, record_id: str) -> dict:
        row = self.conn.execute("select start, size from run where id = ?", (record_id,)).fetchone()
        if row is None:
            raise KeyError(record_id)
        return json.loads(self.lines.read(*row))


@dataclass
class CommitResult:
    replaced: bool
    reason: str
    counts: dict = field(default_factory=dict)
    changes: list = field(default_factory=list)


class Snapshot:
    """The records of one run of one source, merged with that source's previous snapshot.

    What is known of the previous snapshot and of the run's records is staged in a temporary
    SQLite file, not held in memory, so a run of a million items needs no more memory than one of
    a thousand: for each id, where its line starts and its size, in the previous snapshot (read in
    place) or in the file of the run's lines (`LineFile`). Each record is written out (`dumps`)
    once; it is compared with the previous line as text, and read back only when the text differs
    (to tell a real change, and say which fields). Records
    are added as they come; those whose id is taken are also kept in `shared`, with what was decided
    for them, so that `settle` can decide an id again if its records came out of source order."""

    def __init__(self, path: Path, run_date: str, incremental: bool = False, coverage: tuple = ()):
        self.path = Path(path)
        self.run_date = run_date
        self.incremental = incremental
        self.coverage_fields = tuple(coverage)  # fields whose share filled `coverage` gives
        self._directory = tempfile.mkdtemp(prefix="snapshot-")  # removed by `commit`
        self._conn = _staging(self._directory)
        self._previous = self._load_previous()
        self._run = LineFile(Path(self._directory) / "run.jsonl", writable=True)
        self.records = StagedRecords(self._conn, self._run)
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "restored": 0, "duplicate": 0,
                       "renamed": 0}
        self.added = 0  # records added, duplicates included
        self._pending = 0
        self._latest: dict[str, tuple] = {}  # id several records share → the latest place decided
        self._unsettled: set[str] = set()  # ids whose records came out of source order

    def _load_previous(self) -> LineFile | None:
        """Where each line of the previous snapshot is, by id; the snapshot, to read them from."""
        self._had_previous = self.path.exists()
        if not self._had_previous:
            return None
        previous = LineFile(self.path)
        self._conn.execute("begin")
        self._conn.executemany("insert or replace into previous values (?, ?, ?, ?)",
                               _previous_rows(previous))
        self._conn.execute("commit")
        return previous

    def __getstate__(self) -> dict:
        """A snapshot sent to another process: what is staged is on disk, the connection is not sent."""
        if self._conn.in_transaction:
            self._conn.execute("commit")
        self._conn.close()
        return {k: v for k, v in vars(self).items() if k not in ("_conn", "records")}

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._conn = _connect(self._directory)
        self._pending = 0
        self.records = StagedRecords(self._conn, self._run)

    @property
    def listed_before(self) -> int:
        return self._conn.execute("select count(*) from previous where listed").fetchone()[0]

    def add(self, record: dict, position: tuple | None = None) -> str:
        """Add one identified record, with its position in the source; return how it compares with
        what is already known, or "unsettled" if it precedes, in the source, a record with its id
        that came first (`settle` decides then)."""
        if not BOOKKEEPING_KEYS.isdisjoint(record):
            record = _content(record)
        self._begin()
        self.added += 1
        place = (*(position or NO_POSITION), self.added)
        line, change = self._line(record)
        if self._insert(record, line, change, place):
            return self._count(OUTCOMES.get(change, change))
        origin = record["id"]
        latest = self._latest.get(origin) or self._place_of(origin)
        if origin in self._unsettled or place < latest:
            self._unsettled.add(origin)
            self._share(origin, place, record, None, None)
            return "unsettled"
        self._latest[origin] = place
        kept_as, outcome = self._after(record, line, place)
        self._share(origin, place, record, kept_as, outcome)
        return outcome

    def _after(self, record: dict, line: str, place: tuple) -> tuple[str | None, str]:
        """(id kept under, outcome) of a record whose id one before it in the source holds: a
        duplicate if the two are the same, else kept under its id with its content's hash."""
        existing = self._run.text(*self._conn.execute("select start, size from run where id = ?",
                                                      (record["id"],)).fetchone())
        if existing == line or _content(json.loads(existing)) == record:
            return None, self._count("duplicate")
        record = {**record, "id": f"{record['id']}-{short_hash(dumps(record), 6)}"}
        line, change = self._line(record)
        if not self._insert(record, line, change, place):
            return None, self._count("duplicate")
        self._count("renamed")
        return record["id"], self._count(OUTCOMES.get(change, change))

    def settle(self) -> None:
        """Decide again, in source order, each id whose records came out of it: undo what was
        counted and staged for them, then add them as a run in source order would have."""
        for origin in sorted(self._unsettled):
            self._begin()
            holder = self._conn.execute("select start, size, change, url, method, body, rank, arrival "
                                        "from run where id = ?", (origin,)).fetchone()
            self._conn.execute("delete from run where id = ?", (origin,))
            self._count(OUTCOMES.get(holder[2], holder[2]), -1)
            group = [(tuple(holder[3:]), _content(json.loads(self._run.read(*holder[:2]))))]
            shared = self._conn.execute("select url, method, body, rank, arrival, record, kept_as, outcome "
                                        "from shared where origin = ?", (origin,)).fetchall()
            for *place, record, kept_as, outcome in shared:
                if kept_as:
                    self._conn.execute("delete from run where id = ?", (kept_as,))
                    self._count("renamed", -1)
                if outcome:
                    self._count(outcome, -1)
                group.append((tuple(place), json.loads(record)))
            self._conn.execute("delete from shared where origin = ?", (origin,))
            (place, first), *later = sorted(group, key=lambda member: member[0])
            line, change = self._line(first)
            self._insert(first, line, change, place)
            self._count(OUTCOMES.get(change, change))
            for place, record in later:
                self._after(record, self._line(record)[0], place)
        self._unsettled.clear()

    def coverage(self) -> dict[str, float]:
        """Of the records kept, the share with each of `coverage_fields` filled."""
        shares = "".join(f", sum(filled >> {n} & 1)" for n in range(len(self.coverage_fields)))
        kept, *filled = self._conn.execute(f"select count(*){shares} from run").fetchone()
        return {name: n / kept for name, n in zip(self.coverage_fields, filled, strict=True)} if kept else {}

    def _insert(self, record: dict, line: str, change: str | None, place: tuple) -> bool:
        """Stage the record's line; False (and nothing staged) if a record with its id is staged.
        (Its line is appended to the run's lines either way, and left unread in the second case.)"""
        filled = sum(1 << n for n, name in enumerate(self.coverage_fields) if _filled(record.get(name)))
        values = (record["id"], *self._run.append(line), change, record.get("table"), filled, *place)
        staged = self._conn.execute("insert into run values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                    "on conflict (id) do nothing", values)
        return staged.rowcount == 1

    def _place_of(self, record_id: str) -> tuple:
        return tuple(self._conn.execute("select url, method, body, rank, arrival from run where id = ?",
                                        (record_id,)).fetchone())

    def _share(self, origin: str, place: tuple, record: dict, kept_as: str | None, outcome: str | None):
        self._conn.execute("insert into shared values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (origin, *place, dumps(record), kept_as, outcome))

    def _begin(self) -> None:
        """Stage adds a batch to a transaction: a transaction per statement costs more than the work."""
        self._pending += 1
        if self._pending > BATCH:
            self._conn.execute("commit")
            self._pending = 1
        if not self._conn.in_transaction:
            self._conn.execute("begin")

    def _line(self, record: dict) -> tuple[str, str | None]:
        """The record's snapshot line, and its change: added, changed, restored or None."""
        found = self._had_previous and self._conn.execute("select start, size from previous where id = ?",
                                                          (record["id"],)).fetchone()
        if not found:
            return dumps({**record, "first_seen": self.run_date, "last_seen": self.run_date,
                          "listed": True}), "added"
        before = self._previous.text(*found)
        _, first_seen, last_seen, listed = line_bookkeeping(before)
        line = dumps({**record, "first_seen": first_seen, "last_seen": self.run_date, "listed": True})
        if not listed:
            return line, "restored"
        seen_now = before.replace(f'"last_seen":{_ENCODER.encode(last_seen)}',
                                  f'"last_seen":"{self.run_date}"')
        if seen_now == line or _content(json.loads(before)) == record:
            return line, None
        return line, "changed"

    def _count(self, outcome: str, step: int = 1) -> str:
        self.counts[outcome] += step
        return outcome

    def commit(self, run_ok: bool, reason: str = "the run did not finish cleanly") -> CommitResult:
        """Write the merged snapshot, unless the run failed (then `reason` says why)."""
        self.settle()
        if self._conn.in_transaction:
            self._conn.execute("commit")
        counts = dict(self.counts, items=len(self.records), gone=0)
        try:
            if not run_ok:
                _write(self.path.with_suffix(".rejected.jsonl"),
                       self._lines("select id, 1, start, size, 0 from run order by id"))
                return CommitResult(False, reason, counts)
            changes = [change for change in map(self._change, self._conn.execute(
                "select r.id, r.tbl, r.start, r.size, r.change, p.start, p.size from run r "
                "left join previous p on p.id = r.id where r.change is not null order by r.id")) if change]
            gone = [] if self.incremental else self._conn.execute(
                "select id, start, size from previous where listed and id not in (select id from run)")
            for old_id, start, size in gone:
                table = json.loads(self._previous.read(start, size)).get("table")
                changes.append({"id": old_id, "table": table, "change": "gone", "diff": None})
                counts["gone"] += 1
            _write(self.path, self._lines(
                "select id, 0, start, size, listed and not ? from previous where id not in "
                "(select id from run) union all select id, 1, start, size, 0 from run order by id",
                (self.incremental,)))
            return CommitResult(True, "snapshot replaced", counts, sorted(changes, key=lambda c: c["id"]))
        finally:
            self._conn.close()
            for lines in (self._previous, self._run):
                if lines:
                    lines.close()
            shutil.rmtree(self._directory, ignore_errors=True)

    def _lines(self, sql: str, params=()):
        """Lines in id order, as bytes, from (id, in the run's lines, start, size, no longer listed) rows."""
        files = (self._previous, self._run)
        for _, staged, start, size, gone in self._conn.execute(sql, params):
            line = files[staged].read(start, size)
            yield _unlisted(line).encode() if gone else line

    def _change(self, row: tuple) -> dict | None:
        """What the run changed in one record (None: a change of fields that were all empty)."""
        record_id, table, start, size, change, *before = row
        fields = None if change == "added" else diff(json.loads(self._previous.read(*before)),
                                                     json.loads(self._run.read(start, size))) or None
        if change == "changed" and not fields:
            return None
        return {"id": record_id, "table": table, "change": change, "diff": fields}


def _previous_rows(previous: LineFile):
    for start, size, line in previous.lines():
        record_id, listed = line_key(line)
        yield record_id, int(bool(listed)), start, size


def _unlisted(line: bytes) -> str:
    """A previous line, its record no longer listed by the source."""
    record = json.loads(line)
    record["listed"] = False
    return dumps(record)


def _write(path: Path, lines) -> None:
    """Write lines (already in id order) to path, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb", buffering=LINES_BUFFER) as handle:
        for line in lines:
            handle.write(line + b"\n")
    os.replace(temporary, path)
