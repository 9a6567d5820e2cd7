"""Every event record in id order, read as a stream: the snapshots merged with the curated rows.

Each snapshot (data/items/<source>.jsonl) is sorted by id, and so are the curated rows; merging the
sorted streams gives every record once, in id order, without holding them, so a million records
need no more memory than a thousand. Each record comes with where it was read (a snapshot and the
line's byte offset, or its place among the curated rows), so that the few records read again later
(the rows of one event, merged) are fetched without reading everything again, and with its place
among its snapshot's records and a digest of its line, which the next build compares to find what
changed (pipelines/delta.py). An id given by two records, or a snapshot out of id order, stops the
build.
"""

import heapq
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import orjson
import xxhash

from pipelines.curated import load_curated
from pipelines.organisations import canonicalise

CURATED = -1
SORTED = orjson.OPT_SORT_KEYS


class Where(NamedTuple):
    """Where a record was read: its snapshot's number (CURATED for the curated rows), the line's byte
    offset (a curated row's place), its place among the snapshot's records, and its line's digest."""

    number: int
    offset: int
    position: int
    digest: bytes


def line_digest(line: bytes) -> bytes:
    """What tells a line from the same record's line of another night (a change, not a secret):
    XXH3's 128 bits, twice as fast as SHA-1 over a million lines."""
    return xxhash.xxh3_128_digest(line)


class DuplicateIds(ValueError):
    """Two records with one id."""


class UnsortedSnapshot(ValueError):
    """A snapshot whose lines are not in id order (pipelines/store.py writes them sorted)."""


class Records:
    """The records of the snapshots under items_dir and of the curated files under curated_dir."""

    def __init__(self, items_dir: Path, curated_dir: Path):
        self.paths = [p for p in sorted(Path(items_dir).glob("*.jsonl"))
                      if not p.name.endswith(".rejected.jsonl")]
        self.curated_dir = curated_dir
        self._handles = {}

    @cached_property
    def curated(self) -> list[dict]:
        """The curated rows, read when first asked for (a delta build seldom needs them)."""
        return sorted(load_curated(self.curated_dir), key=itemgetter("id"))

    def __iter__(self):
        """(record, where) in id order; each record a new dict, its organisation names canonical
        (a name added to data/curated/organisations.yml applies to snapshots scraped before)."""
        streams = [self._snapshot(number, path) for number, path in enumerate(self.paths)]
        streams.append((r["id"], Where(CURATED, n, n, line_digest(orjson.dumps(r, option=SORTED))), r)
                       for n, r in enumerate(self.curated))
        previous = ""
        for record_id, where, record in heapq.merge(*streams, key=itemgetter(0)):
            if record_id == previous:
                raise DuplicateIds(f"id {record_id} is used by more than one record")
            if record_id < previous:
                raise UnsortedSnapshot(f"{self._name(where)} is not sorted by id: {record_id} comes after "
                                       f"{previous}")
            previous = record_id
            yield canonicalise(dict(record)), where

    def _name(self, where: Where) -> str:
        return "the curated files" if where[0] == CURATED else str(self.paths[where[0]])

    @staticmethod
    def _snapshot(number: int, path: Path):
        offset = position = 0
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    record = orjson.loads(line)
                    yield record["id"], Where(number, offset, position, line_digest(line)), record
                    position += 1
                offset += len(line)

    def fetch(self, where: tuple[int, int]) -> dict:
        """The record read at `where` (a snapshot's number and a byte offset), read again, its
        organisation names canonical."""
        number, offset = where[:2]
        if number == CURATED:
            return canonicalise(dict(self.curated[offset]))
        handle = self._handles.get(number) or self._handles.setdefault(number, self.paths[number].open("rb"))
        handle.seek(offset)
        return canonicalise(orjson.loads(handle.readline()))

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
