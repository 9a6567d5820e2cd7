"""Item snapshots: one sorted JSON-lines file per source, the text the database is built from.

A run adds its records to a `Snapshot` as they come, each with its position in the source
(scrapers/order.py). `settle` decides, in source order, which record keeps an id several share:
the first keeps it, a later identical one is a duplicate, a later different one is kept under the
id with a hash of its content appended; so a single process and distributed workers, which see
responses in different orders, keep the same records. `commit` then merges them with the
source's previous snapshot, both in id order, into `data/items/<source>.jsonl`, written
atomically with sorted keys: the same records give the same bytes.

A line holds the record, its `first_seen` (the run date of its first run) and `listed`. A record
the source lists carries no `last_seen`, so a run that saw the same records again leaves every
line as it was; when the source last listed it is the date of the source's last committed run
(data/runs/<source>.jsonl). One the source stops listing stays, with `listed` false and
`last_seen` the date of the last run that listed it; one listed again is `restored` and loses
its `last_seen`. An incremental run (only what is newer than the snapshot) adds and updates
records and never marks one as gone. A run judged failed does not replace the snapshot: its
records go to `<source>.rejected.jsonl` for a maintainer to read. `commit` says what changed,
record by record, with a field-level diff.

The run's records wait in a private temporary SQLite database (deleted when it closes) and are
read back from it in id order, so a run of a million records needs no more memory than one of a
thousand.
"""

import heapq
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import orjson

from pipelines.clean.identify import short_hash

BOOKKEEPING = ("first_seen", "last_seen", "listed")
EMPTY = (None, "", [], {})  # a field holding one of these is not filled
BATCH = 1000  # records written to the temporary database at a time
ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"  # a row of `kept`: id, position, arrival, filled, table, line
NO_POSITION = ("", "", "", 0)  # records added without a position are settled in arrival order
COUNTED = ("items", "new", "changed", "unchanged", "restored", "gone", "duplicate", "renamed")


def line_of(record: dict) -> bytes:
    """A record's line: JSON, keys sorted, no spaces, text as it is (UTF-8)."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def dumps(record: dict) -> str:
    """A record's line as text."""
    return line_of(record).decode()


def records_in(path: Path):
    """Each record of a snapshot, in file order, with its line."""
    if not Path(path).exists():
        return
    with Path(path).open("rb") as handle:
        for line in handle:
            if line := line.rstrip(b"\n"):
                yield orjson.loads(line), line


def read_snapshot(path: Path) -> dict[str, dict]:
    """A (small) snapshot's records by id."""
    return {record["id"]: record for record, _ in records_in(path)}


def content(record: dict) -> dict:
    """The record's facts: the record without its bookkeeping."""
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


def diff(before: dict, after: dict) -> dict:
    """Field by field, what differs between two records' facts: {field: [before, after]}. A field
    that is empty (absent or null) on both sides does not differ."""
    old, new = content(before), content(after)
    return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)}


@dataclass
class CommitResult:
    replaced: bool
    reason: str
    counts: dict
    changes_file: object = field(default=None, repr=False)  # a temporary file of change lines

    @property
    def changes(self):
        """What the run changed, record by record in id order: {id, table, change, diff}."""
        if self.changes_file is None:
            return
        self.changes_file.seek(0)
        yield from map(orjson.loads, self.changes_file)


class Snapshot:
    """The records of one run of one source, merged at `commit` with the source's previous snapshot.

    `last_listed` is the run date of the source's last committed run: when the records the previous
    snapshot lists were last listed (unknown: their first_seen)."""

    def __init__(self, path: Path, run_date: str, incremental: bool = False, coverage: tuple = (),
                 last_listed: str | None = None):
        self.path = Path(path)
        self.run_date = run_date
        self.incremental = incremental
        self.last_listed = last_listed
        self.coverage_fields = tuple(coverage)  # fields whose share filled `coverage` gives
        self._coverage_bits = [(1 << n, name) for n, name in enumerate(self.coverage_fields)]
        self.counts = dict.fromkeys(COUNTED, 0)
        self.added = 0  # records added, duplicates included
        self._pending: list[tuple] = []
        self._settled = False
        self._db = sqlite3.connect("")  # a private temporary database, deleted when closed
        self._db.executescript("""
            pragma page_size = 16384; pragma journal_mode = off; pragma synchronous = off;
            create table kept (id text, url text, method text, body text, rank integer, arrival integer,
                               filled integer, tbl text, line blob);
        """)

    def add(self, record: dict, position: tuple | None = None) -> None:
        """Add one identified record, with its position in the source (url, method, body digest,
        rank). Raises orjson.JSONEncodeError for a record no JSON line can hold."""
        if not record.keys().isdisjoint(BOOKKEEPING):  # three lookups, not one per field
            record = content(record)
        line = self._new_line(record)
        filled = 0
        for bit, name in self._coverage_bits:
            if record.get(name) not in EMPTY:
                filled |= bit
        self.added += 1
        place = (*(position or NO_POSITION), self.added)
        self._pending.append((record["id"], *place, filled, record.get("table"), line))
        if len(self._pending) == BATCH:
            self._flush()

    def _new_line(self, record: dict) -> bytes:
        """The line of a record the source lists for the first time."""
        return line_of({**record, "first_seen": self.run_date, "listed": True})

    def _flush(self) -> None:
        self._db.executemany(f"insert into kept values {ROW}", self._pending)
        self._db.commit()
        self._pending = []

    def settle(self) -> None:
        """Keep one record an id, in source order: the first keeps the id; a later one identical to
        it is a duplicate, a different one is kept under `<id>-<hash of its content>` unless a record
        already holds that id."""
        if self._settled:
            return
        self._flush()
        self._db.execute("create index kept_by_id on kept (id, filled)")  # coverage() reads only it
        renamed = []
        shared = self._db.execute("select id from kept group by id having count(*) > 1").fetchall()
        for (record_id,) in shared:
            group = self._db.execute("select rowid, * from kept where id = ?", (record_id,))
            first, *others = sorted(group, key=itemgetter(2, 3, 4, 5, 6))  # by position, then arrival
            for rowid, *row, line in others:
                self._db.execute("delete from kept where rowid = ?", (rowid,))
                if line == first[-1]:
                    self.counts["duplicate"] += 1
                else:
                    renamed.append((row[1:], content(orjson.loads(line))))
        for row, record in renamed:
            record["id"] = f"{record['id']}-{short_hash(dumps(record), 6)}"
            if self._db.execute("select 1 from kept where id = ?", (record["id"],)).fetchone():
                self.counts["duplicate"] += 1
                continue
            self._db.execute(f"insert into kept values {ROW}", (record["id"], *row, self._new_line(record)))
            self.counts["renamed"] += 1
        self._db.commit()
        self.counts["items"] = self._db.execute("select count(*) from kept").fetchone()[0]
        self._settled = True

    def coverage(self) -> dict[str, float]:
        """Of the records kept, the share with each of `coverage_fields` filled."""
        self.settle()
        shares = "".join(f", sum(filled & {bit} > 0)" for bit, _ in self._coverage_bits)
        kept, *filled = self._db.execute(f"select count(*){shares} from kept").fetchone()
        return {name: n / kept for name, n in zip(self.coverage_fields, filled, strict=True)} if kept else {}

    @property
    def listed_before(self) -> int:
        """How many records the previous snapshot lists."""
        return sum(1 for record, _ in records_in(self.path) if record.get("listed", True))

    def commit(self, run_ok: bool, reason: str = "the run did not finish cleanly") -> CommitResult:
        """Write the merged snapshot, unless the run failed (then `reason` says why)."""
        self.settle()
        try:
            if not run_ok:
                _write(self.path.with_suffix(".rejected.jsonl"), (line for *_, line in self._kept()))
                return CommitResult(False, reason, dict(self.counts))
            changes = tempfile.TemporaryFile()
            _write(self.path, self._merged(changes))
            return CommitResult(True, "snapshot replaced", dict(self.counts), changes)
        finally:
            self._db.close()

    def _kept(self):
        """(id, table, line) of each record the run keeps, in id order."""
        yield from self._db.execute("select id, tbl, line from kept order by id")

    def _merged(self, changes):
        """The lines of the new snapshot in id order: the previous snapshot's records and the run's,
        merged; each change is counted and written to `changes`."""
        before = ((record["id"], 0, record, line) for record, line in _in_id_order(self.path))
        after = ((record_id, 1, table, line) for record_id, table, line in self._kept())
        for record_id, pair in groupby(heapq.merge(before, after, key=itemgetter(0, 1)), key=itemgetter(0)):
            sides = {side: (value, line) for _, side, value, line in pair}
            previous, run = sides.get(0), sides.get(1)
            if previous and run:
                line, change, fields = self._seen_again(*previous, run[1])
            elif previous:
                line, change, fields = self._not_seen(*previous)
            else:
                line, change, fields = run[1], "added", None
            if change:
                self.counts["new" if change == "added" else change] += 1
                table = run[0] if run else previous[0].get("table")
                changes.write(line_of({"id": record_id, "table": table, "change": change, "diff": fields})
                              + b"\n")
            elif run:
                self.counts["unchanged"] += 1
            yield line

    def _seen_again(self, before: dict, before_line: bytes, line: bytes) -> tuple[bytes, str | None, dict]:
        """The line, change (changed, restored or None) and changed fields of a record the previous
        snapshot holds too, from its previous record and line and the run's line. One listed whose
        facts are the same keeps its line; any other keeps its first_seen."""
        first_seen, listed = before.pop("first_seen", None), before.pop("listed", True)
        last_seen = before.pop("last_seen", None)
        if listed and last_seen is None and self._new_line(before) == line:
            return before_line, None, None
        record = content(orjson.loads(line))
        fields = diff(before, record) or None
        line = line_of({**record, "first_seen": first_seen, "listed": True})
        return line, "restored" if not listed else "changed" if fields else None, fields

    def _not_seen(self, before: dict, line: bytes) -> tuple[bytes, str | None, None]:
        """The line and change (gone or None) of a record of the previous snapshot the run did not
        see: an incremental run says nothing of it; a full run no longer lists it."""
        if self.incremental or not before.get("listed", True):
            return line, None, None
        last_seen = self.last_listed or before.get("first_seen")
        return line_of({**before, "listed": False, "last_seen": last_seen}), "gone", None


def _in_id_order(path: Path):
    """The records of a snapshot with their lines; ValueError if its ids are not in strict order."""
    last = None
    for record, line in records_in(path):
        if last is not None and record["id"] <= last:
            raise ValueError(f"{path} is not sorted by id: {record['id']} comes after {last}")
        last = record["id"]
        yield record, line


def _write(path: Path, lines) -> None:
    """Write lines (already in id order) to path, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as handle:
            for line in lines:
                handle.write(line + b"\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
