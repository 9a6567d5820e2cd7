"""Item snapshots: one sorted JSON-lines file per source, the text the database is built from.

A run adds its records to a `Snapshot`; `commit` then writes `data/items/<source>.jsonl`
atomically, sorted by id with sorted keys, so that the same items give the same bytes. Each
record keeps the `first_seen` date of its first run; one a source stops listing stays, with
`listed` false and its last `last_seen`. A run that failed, or that returns far fewer items than
the snapshot holds (a layout change, a truncated download), does not replace the snapshot: its
records go to `<source>.rejected.jsonl` for a maintainer to read.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.identify import short_hash

BOOKKEEPING = ("first_seen", "last_seen", "listed")
DEFAULT_MIN_SHARE = 0.5


def dumps(record: dict) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def read_snapshot(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {r["id"]: r for r in map(json.loads, handle) if r}


def _content(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


@dataclass
class CommitResult:
    replaced: bool
    reason: str
    counts: dict = field(default_factory=dict)


class Snapshot:
    """The records of one run of one source, merged with that source's previous snapshot."""

    def __init__(self, path: Path, run_date: str):
        self.path = Path(path)
        self.run_date = run_date
        self.previous = read_snapshot(self.path)
        self.records: dict[str, dict] = {}
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "duplicate": 0, "renamed": 0}

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
        return self._count("unchanged" if _content(before) == _content(record) else "changed")

    def _count(self, outcome: str) -> str:
        self.counts[outcome] += 1
        return outcome

    def commit(self, run_ok: bool, min_share: float = DEFAULT_MIN_SHARE) -> CommitResult:
        """Write the merged snapshot, unless the run failed or collapsed."""
        listed_before = sum(1 for r in self.previous.values() if r.get("listed", True))
        counts = dict(self.counts, items=len(self.records))
        reason = ""
        if not run_ok:
            reason = "the run did not finish cleanly"
        elif len(self.records) < min_share * listed_before:
            reason = (f"only {len(self.records)} items against {listed_before} listed before "
                      f"(below {min_share:.0%})")
        if reason:
            _write(self.path.with_suffix(".rejected.jsonl"), self.records.values())
            return CommitResult(False, reason, counts)
        merged = dict(self.records)
        for old_id, old in self.previous.items():
            if old_id not in merged:
                merged[old_id] = dict(old, listed=False)
        counts["gone"] = sum(1 for r in self.previous if r not in self.records)
        _write(self.path, merged.values())
        return CommitResult(True, "snapshot replaced", counts)


def _write(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in sorted(records, key=lambda r: r["id"]):
            handle.write(dumps(record) + "\n")
    os.replace(temporary, path)
