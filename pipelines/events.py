"""One event, one row: the build's step from the sources' records to the published events.

The records are read once, in id order (pipelines/stream.py). Withdrawn rows are left out
(pipelines/tombstones.py); every other record is written as its own row at once
(pipelines/rows.py), and what matching needs is kept on disk beside the database: each record's
table, source and where it was read, its blocking keys and the fields matching compares (the
documents it cites are in the citations just written). Then only the rows that share a useful
block are matched (pipelines/matching.py), clustered with people's decisions
(pipelines/clusters.py), and the rows of each cluster read again and merged under its oldest id
(pipelines/merge.py), the merged row taking the place of theirs. Memory grows with the rows that
may match, not with all rows.
"""

import logging
import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import sqlite_utils
import yaml

from pipelines.aliases import OrganisationAliases, forget_names
from pipelines.clusters import cluster, read_decisions
from pipelines.matching import MAX_BLOCK, Matcher, block_keys
from pipelines.merge import Ages, Merger, combine, duplicate_aliases
from pipelines.rows import Beside, RowWriter
from pipelines.schema import CITING
from pipelines.state import cites, shape
from pipelines.stream import Records
from pipelines.tombstones import read_tombstones, tombstone_rows, without_withdrawn_documents

# The fields matching compares (pipelines/matching.py), kept for each record.
MATCHED = ("id", "table", "source", "country", "region_code", "date", "date_precision", "person",
           "agency", "operator", "target", "jurisdiction", "kind", "vendors", "place")
SEPARATOR = "\x1f"
logger = logging.getLogger(__name__)
INDEX_TABLES = {
    "kept": "id text primary key, tbl text, source text, number integer, offset integer, fields blob",
    "keys": "block text, id text, source text",
    "seen": "id text, number integer, position integer, line blob, shape blob, cites blob, last_seen text",
}


@dataclass
class Events:
    aliases: list[dict]
    tombstones: list[dict]
    candidates: list[dict]
    withdrawn: list[dict]
    groups: dict[str, list[str]] = field(default_factory=dict)
    organisation_aliases: OrganisationAliases = field(default_factory=OrganisationAliases)


def matched_fields(record: dict) -> bytes:
    """The fields matching compares, as the index keeps them."""
    return orjson.dumps({f: record.get(f) for f in MATCHED})


def matching_index(path: Path) -> Beside:
    """A new file for what matching needs of each record, written beside the rows as they come."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for table, columns in INDEX_TABLES.items():
            conn.execute(f"create table {table} ({columns})")
    return Beside(path, {table: f"insert into {table} values ({', '.join('?' * (columns.count(',') + 1))})"
                         for table, columns in INDEX_TABLES.items()})


def repeating_sources(sources_file: Path) -> frozenset[str]:
    """The sources that may list one event as several rows (`repeats_events` in data/sources.yml)."""
    sources = yaml.safe_load(Path(sources_file).read_text(encoding="utf-8")) or []
    return frozenset(s["id"] for s in sources if s.get("repeats_events"))


class KeptRecords(Mapping):
    """The kept records' table and source by id, read from the index on disk."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __getitem__(self, record_id: str) -> dict:
        row = self.conn.execute("select tbl, source from kept where id = ?", (record_id,)).fetchone()
        if row is None:
            raise KeyError(record_id)
        return {"table": row[0], "source": row[1]}

    def __iter__(self):
        return (row[0] for row in self.conn.execute("select id from kept order by id"))

    def __len__(self) -> int:
        return self.conn.execute("select count(*) from kept").fetchone()[0]

    def where(self, record_id: str) -> tuple[int, int]:
        return self.conn.execute("select number, offset from kept where id = ?", (record_id,)).fetchone()


class Resolver:
    """Reads every record once, writes its rows, and merges the rows of one event."""

    def __init__(self, records: Records, writer: RowWriter, index_path: Path, repeating: frozenset[str],
                 tombstones: list[dict], registered: dict[str, str]):
        self.records, self.writer, self.repeating = records, writer, repeating
        self.registered = registered
        self.tombstones = tombstones
        self.withdrawn_ids = {t["id"] for t in tombstones}
        self.index = sqlite3.connect(index_path, isolation_level=None)  # written by the writer's process
        self.kept = KeptRecords(self.index)

    def read(self) -> Events:
        """Pass over every record: its rows written, what matching needs kept on disk."""
        events = Events([], [], [], [])
        declared: dict[str, list[dict]] = {}
        tables: dict[str, str] = {}
        beside = self.writer.keep_beside
        for record, where in self.records:
            record_id = record["id"]
            if record_id in self.withdrawn_ids:
                # any change to a withdrawn record is a change of shape: its tombstone is made from it
                beside("seen", [(record_id, where.number, where.position, where.digest, where.digest,
                                 where.digest, record.get("last_seen"))])
                tables[record_id] = record["table"]
                tables.update((d["id"], "documents") for d in record["documents"])
                events.aliases += duplicate_aliases(record, record)
                events.withdrawn.append(record)
                continue
            tables.update((d["id"], "documents") for d in record["documents"]
                          if d["id"] in self.withdrawn_ids)
            record = without_withdrawn_documents(record, self.withdrawn_ids)
            if record.get("merged_ids"):
                declared[record_id] = duplicate_aliases(record, record)
            events.organisation_aliases.add(record)
            matched, keys = matched_fields(record), list(block_keys(record))
            beside("kept", [(record_id, record["table"], record["source"], where.number, where.offset,
                             matched)])
            beside("keys", [(SEPARATOR.join(key), record_id, record["source"]) for key in keys])
            beside("seen", [(record_id, where.number, where.position, where.digest,
                             shape(record, matched, keys), cites(record), record.get("last_seen"))])
            self.writer.add(record)
        self.writer.finish()
        forget_names()
        events.tombstones = tombstone_rows(self.tombstones, tables, self.registered)
        self.declared = declared
        return events

    def shared_documents(self) -> dict[str, set[str]]:
        """Each document only two kept rows cite → their ids (from the citations written so far, one
        for each record and document: no row is merged yet)."""
        conn = self.writer.conn
        sqlite_utils.Database(conn)["citations"].create_index(list(CITING), if_not_exists=True)
        found = conn.execute(f"select document_id, group_concat(event_id, '{SEPARATOR}') from citations "
                             "group by document_id having count(*) = 2")
        return {document: set(ids.split(SEPARATOR)) for document, ids in found}

    def blocks(self, shared: dict[str, set[str]]) -> dict[tuple, set[str]]:
        """The blocks that can give a pair: up to MAX_BLOCK rows, of two sources or of a source that
        repeats events."""
        repeating = ", ".join("?" * len(self.repeating)) or "null"
        found = self.index.execute(
            f"select block, group_concat(id, '{SEPARATOR}') from keys group by block "
            f"having count(*) between 2 and {MAX_BLOCK} and (count(distinct source) > 1 "
            f"or max(source in ({repeating})))", tuple(sorted(self.repeating)))
        blocks = {tuple(block.split(SEPARATOR)): set(ids.split(SEPARATOR)) for block, ids in found}
        blocks.update((("*", "document", document), ids) for document, ids in shared.items())
        return blocks

    def matchable(self, ids: set[str]) -> list[dict]:
        self.index.execute("create temp table wanted (id text primary key)")
        self.index.executemany("insert into wanted values (?)", ((i,) for i in ids))
        found = self.index.execute("select fields from kept join wanted using (id) order by id")
        records = [orjson.loads(fields) for (fields,) in found]
        self.index.execute("drop table wanted")
        return records

    def fetch(self, record_id: str) -> dict:
        """A kept record, read again as it was written."""
        record = self.records.fetch(self.kept.where(record_id))
        return without_withdrawn_documents(record, self.withdrawn_ids)

    def resolve(self, events: Events, decisions_file: Path | None, ages: Ages, while_matching=None) -> Events:
        """Match, cluster and merge; the merged rows replace their records' rows. `while_matching`
        starts work on the database's file in a second process (pipelines/second_process.py) once
        matching has read what it needs from it, work that moves the staged documents and
        organisations into it (the build's, pipelines/build.py); the merges wait for its result."""
        started = time.perf_counter()
        shared = self.shared_documents()
        meanwhile = while_matching() if while_matching else None
        try:
            blocks = self.blocks(shared)
            candidates = self.matchable(set().union(*blocks.values()) if blocks else set())
            matches = Matcher(candidates, self.repeating, shared=shared, blocks=blocks).matches()
            logger.info("matching: %d blocks that can give a pair, %d rows in them, %d matches, in %.1f s",
                        len(blocks), len(candidates), len(matches), time.perf_counter() - started)
            declared = {a["alias"]: i for i, aliases in self.declared.items() for a in aliases}
            clusters, events.candidates = cluster(self.kept, matches, read_decisions(decisions_file),
                                                  self.repeating, declared)
            if meanwhile:
                waiting = time.perf_counter()
                meanwhile.result()
                logger.info("matching: waited %.1f s for the work beside it", time.perf_counter() - waiting)
                self.writer.staged_moved()
        except BaseException:
            if meanwhile:
                meanwhile.stop()
            raise
        merger = Merger(clusters, ages)
        for group in clusters.joined():
            merged, retired, members = merger.group([self.fetch(i) for i in group])
            self.writer.remove(members)
            self.writer.add(merged)
            events.aliases += retired
            events.groups[merged["id"]] = [m["id"] for m in members]
            for member in members:
                self.declared.pop(member["id"], None)
        logger.info("merging: %d groups of rows made one", len(events.groups))
        self.writer.complete()
        events.aliases += [a for aliases in self.declared.values() for a in aliases]
        events.aliases.sort(key=lambda a: a["alias"])
        return events

    def merged(self, record_id: str, groups: dict[str, list[str]]) -> tuple[dict, list[dict]]:
        """A published row's record as it was written, and the records merged into it (`groups`:
        each merged row's id → the ids of its records, survivor first)."""
        if record_id not in groups:
            return dict(self.fetch(record_id), merged_ids=[]), []
        members = [self.fetch(i) for i in groups[record_id]]
        return combine(members, members[0]), members

    def close(self) -> None:
        self.writer.close()
        self.index.close()
        self.records.close()


def resolve_events(records: Records, writer: RowWriter, index_path: Path, sources_file: Path,
                   decisions_file: Path | None, tombstones_file: Path | None, ages: Ages,
                   registered: dict[str, str], while_matching=None) -> tuple:
    """Write the rows of every published event; return the Events and the Resolver (to read a
    record again: a redaction needs the values it clears)."""
    resolver = Resolver(records, writer, index_path, repeating_sources(sources_file),
                        read_tombstones(tombstones_file), registered)
    try:
        return resolver.resolve(resolver.read(), decisions_file, ages, while_matching), resolver
    except BaseException:
        resolver.close()
        raise
