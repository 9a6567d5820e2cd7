"""Item snapshots: one sorted JSON-lines file per source, the text the database is built from.

A run adds its records to a `Snapshot`; `commit` then writes `data/items/<source>.jsonl`
atomically, sorted by id with sorted keys, so that the same items give the same bytes. Each
record keeps the `first_seen` date of its first run; one a source stops listing stays, with
`listed` false and its last `last_seen`; one listed again is `restored`. A run judged failed
(by the run's monitors: an error, a layout change, far fewer items than the last good run) does
not replace the snapshot: its records go to `<source>.rejected.jsonl` for a maintainer to read.
An incremental run (only what is newer than the snapshot) adds and updates records and never
marks one as gone. `commit` also says what changed, record by record, with a field-level diff.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.identify import short_hash

BOOKKEEPING = ("first_seen", "last_seen", "listed")


def dumps(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_snapshot(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {r["id"]: r for r in map(json.loads, handle) if r}


def _content(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


def diff(before: dict, after: dict) -> dict:
    """Field by field, what differs between two records: {field: [before, after]}."""
    old, new = _content(before), _content(after)
    return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)}


@dataclass
class CommitResult:
    replaced: bool
    reason: str
    counts: dict = field(default_factory=dict)
    changes: list = field(default_factory=list)


class Snapshot:
    """The records of one run of one source, merged with that source's previous snapshot."""

    def __init__(self, path: Path, run_date: str, incremental: bool = False):
        self.path = Path(path)
        self.run_date = run_date
        self.incremental = incremental
        self.previous = read_snapshot(self.path)
        self.records: dict[str, dict] = {}
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "restored": 0, "duplicate": 0,
                       "renamed": 0}

    @property
    def listed_before(self) -> int:
        return sum(1 for r in self.previous.values() if r.get("listed", True))

    def add(self, record: dict) -> str:
        """Add one identified record; return how it compares with what is already known."""
        record = _content(record)
        if record["id"] in self.records:
            if _content(self.records[record["id"]]) == record:
                return self._count("duplicate")
            record["id"] = f"{record['id']}-{short_hash(dumps(record), 6)}"
            if record["id"] in self.records:
                return self._count("duplicate")
            self._count("renamed")
        before = self.previous.get(record["id"])
        record["first_seen"] = before["first_seen"] if before else self.run_date
        record["last_seen"] = self.run_date
        record["listed"] = True
        self.records[record["id"]] = record
        if before is None:
            return self._count("new")
        if not before.get("listed", True):
            return self._count("restored")
        return self._count("unchanged" if _content(before) == _content(record) else "changed")

    def _count(self, outcome: str) -> str:
        self.counts[outcome] += 1
        return outcome

    def commit(self, run_ok: bool, reason: str = "the run did not finish cleanly") -> CommitResult:
        """Write the merged snapshot, unless the run failed (then `reason` says why)."""
        counts = dict(self.counts, items=len(self.records), gone=0)
        if not run_ok:
            _write(self.path.with_suffix(".rejected.jsonl"), self.records.values())
            return CommitResult(False, reason, counts)
        merged = {**self.previous, **self.records}
        changes = [c for c in map(self._change, self.records) if c]
        gone = [] if self.incremental else [
            old for old_id, old in self.previous.items()
            if old_id not in self.records and old.get("listed", True)]
        for old in gone:
            merged[old["id"]] = dict(old, listed=False)
            changes.append({"id": old["id"], "table": old.get("table"), "change": "gone", "diff": None})
        counts["gone"] = len(gone)
        _write(self.path, merged.values())
        return CommitResult(True, "snapshot replaced", counts, sorted(changes, key=lambda c: c["id"]))

    def _change(self, record_id: str) -> dict | None:
        record, before = self.records[record_id], self.previous.get(record_id)
        if before is None:
            return {"id": record_id, "table": record.get("table"), "change": "added", "diff": None}
        changed = diff(before, record)
        if before.get("listed", True) and not changed:
            return None
        kind = "changed" if before.get("listed", True) else "restored"
        return {"id": record_id, "table": record.get("table"), "change": kind, "diff": changed or None}


def _write(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in sorted(records, key=lambda r: r["id"]):
            handle.write(dumps(record) + "\n")
    os.replace(temporary, path)
