"""Every event record in id order, read as a stream: the snapshots merged with the curated rows.

Each snapshot (data/items/<spider>.jsonl) is sorted by id, and so are the curated rows; merging the
sorted streams gives every record once, in id order, without holding them, so a million records
need no more memory than a thousand. Each record comes with where it was read (a snapshot's number
and the line's byte offset, or the curated row's place), so that the few records read again (the
rows of one event, merged) are fetched without reading everything again.

A snapshot line of a record its source still lists carries no `last_seen`: when the source last
listed it is the date of the spider's latest committed run, read from the run log
(data/runs/<spider>.jsonl). A record no longer listed keeps the `last_seen` its line was given when
it went. An id given by two records, or a snapshot out of id order, stops the build.
"""

import heapq
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import orjson

from pipelines.clean.organisations import canonicalise
from pipelines.read.curated import load_curated
from pipelines.snapshot.runlog import last_good_run, read_runs

CURATED = -1


class RecordAddress(NamedTuple):
    """Where a record was read: its snapshot's number (CURATED for the curated rows) and the line's
    byte offset (a curated row's place)."""

    number: int
    offset: int


class DuplicateIds(ValueError):
    """Two records with one id."""


class UnsortedSnapshot(ValueError):
    """A snapshot whose lines are not in id order (pipelines/snapshot/store.py writes them sorted)."""


def last_listed(runs_dir: Path, spider: str) -> str | None:
    """The run date of the spider's latest committed run: when its source last listed what it lists
    (None before the run log gave run dates: the lines' own `last_seen` then stands)."""
    run = last_good_run(read_runs(runs_dir, spider), mode=None)
    return run.get("run_date") if run else None


class Records:
    """The records of the snapshots under items_dir and of the curated files under curated_dir; the
    run log is read from runs_dir (default: `runs` beside items_dir)."""

    def __init__(self, items_dir: Path, curated_dir: Path, runs_dir: Path | None = None):
        self.paths = [p for p in sorted(Path(items_dir).glob("*.jsonl"))
                      if not p.name.endswith(".rejected.jsonl")]
        self.curated_dir = curated_dir
        runs_dir = Path(runs_dir) if runs_dir else Path(items_dir).parent / "runs"
        self.listed_on = [last_listed(runs_dir, path.stem) for path in self.paths]
        self._handles = {}

    @cached_property
    def curated(self) -> list[dict]:
        return sorted(load_curated(self.curated_dir), key=itemgetter("id"))

    def __iter__(self):
        """(record, address) in id order; each record a new dict, its organisation names canonical
        (a name added to data/curated/organisations.yml applies to snapshots scraped before)."""
        streams = [self._snapshot(number, path) for number, path in enumerate(self.paths)]
        streams.append((r["id"], RecordAddress(CURATED, n), r) for n, r in enumerate(self.curated))
        previous = ""
        for record_id, address, record in heapq.merge(*streams, key=itemgetter(0)):
            if record_id == previous:
                raise DuplicateIds(f"id {record_id} is used by more than one record")
            if record_id < previous:
                raise UnsortedSnapshot(f"{self._name(address)} is not sorted by id: {record_id} comes after "
                                       f"{previous}")
            previous = record_id
            yield self._completed(dict(record), address), address

    def _name(self, address: RecordAddress) -> str:
        return "the curated files" if address.number == CURATED else str(self.paths[address.number])

    def _completed(self, record: dict, address: RecordAddress) -> dict:
        """The record with its organisation names canonical and, if its source lists it, the day
        it was last listed."""
        if address.number != CURATED and record.get("listed", True) and self.listed_on[address.number]:
            record["last_seen"] = self.listed_on[address.number]
        return canonicalise(record)

    @staticmethod
    def _snapshot(number: int, path: Path):
        offset = 0
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    record = orjson.loads(line)
                    yield record["id"], RecordAddress(number, offset), record
                offset += len(line)

    def fetch(self, address: RecordAddress) -> dict:
        """The record read at `address`, read again and completed as the stream completes it."""
        if address.number == CURATED:
            return self._completed(dict(self.curated[address.offset]), address)
        handle = self._handles.get(address.number)
        if handle is None:
            handle = self._handles[address.number] = self.paths[address.number].open("rb")
        handle.seek(address.offset)
        return self._completed(orjson.loads(handle.readline()), address)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
