"""One event, one row: from the sources' records to the rows of the published events.

Three steps, each a method the build calls in turn:
1. `collect` reads every record once (pipelines/read/records.py) and keeps on disk, in a work file
   beside the database, what matching needs of it: its table, source and where it was read, the
   fields matching compares, its blocking keys and the documents it cites. Withdrawn records are
   set aside for their tombstones (pipelines/ledgers/tombstones.py).
2. `match` scores only the rows that share a useful block (pipelines/match/matching.py) and clusters
   them with people's decisions (pipelines/match/clusters.py).
3. `write` reads the records again and writes each event's rows once (pipelines/write/rows.py): a
   record that matched no other as it is, the records of one cluster merged under its oldest id
   (pipelines/match/merge.py), read again from where they were read.
Memory grows with the rows that may match, not with all rows.
"""

import logging
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path

import orjson
import yaml

from pipelines.ledgers.aliases import OrganisationAliases, forget_names
from pipelines.ledgers.tombstones import read_tombstones, tombstone_rows, without_withdrawn_documents
from pipelines.match.clusters import cluster, read_decisions
from pipelines.match.matching import MAX_BLOCK, Matcher, block_keys
from pipelines.match.merge import Ages, Merger, combine, duplicate_aliases
from pipelines.read.records import RecordAddress, Records
from pipelines.write.rows import RowWriter

# The fields matching compares (pipelines/match/matching.py), kept for each record.
MATCHED = ("id", "table", "source", "country", "region_code", "date", "date_precision", "person",
           "agency", "operator", "target", "jurisdiction", "kind", "vendors", "place")
SEPARATOR = "\x1f"
WORK_TABLES = {
    "kept": "id text primary key, tbl text, source text, number integer, offset integer, fields blob",
    "keys": "block text, id text, source text",
    "cites": "document_id text, id text",
}
logger = logging.getLogger(__name__)


def repeating_sources(sources_file: Path) -> frozenset[str]:
    """The sources that may list one event as several rows (`repeats_events` in data/sources.yml)."""
    sources = yaml.safe_load(Path(sources_file).read_text(encoding="utf-8")) or []
    return frozenset(s["id"] for s in sources if s.get("repeats_events"))


class KeptRecords(Mapping):
    """The kept records' table and source by id, read from the work file."""

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


class Events:
    """The events of one build. After `write`: `aliases` (ids retired by merges and by sources'
    declared duplicates), `tombstones`, `candidates` (pairs left to a person), `withdrawn` (the
    withdrawn records), `groups` (each merged row's id → its records' ids, survivor first) and
    `organisation_aliases`."""

    def __init__(self, records: Records, work_file: Path, sources_file: Path, tombstones_file: Path | None,
                 registered: dict[str, str]):
        self.records = records
        self.repeating = repeating_sources(sources_file)
        self.withdrawal = read_tombstones(tombstones_file)
        self.withdrawn_ids = {t["id"] for t in self.withdrawal}
        self.registered = registered
        self.work = sqlite3.connect(work_file, isolation_level=None)
        self.work.executescript("pragma journal_mode = off; pragma synchronous = off;")
        for table, columns in WORK_TABLES.items():
            self.work.execute(f"create table {table} ({columns})")
        self.kept = KeptRecords(self.work)
        self.aliases: list[dict] = []
        self.tombstones: list[dict] = []
        self.candidates: list[dict] = []
        self.withdrawn: list[dict] = []
        self.groups: dict[str, list[str]] = {}
        self.organisation_aliases = OrganisationAliases()
        self.declared: dict[str, list[dict]] = {}
        self.clusters = None

    def collect(self) -> None:
        """Read every record once: what matching needs kept in the work file, the withdrawn ones
        set aside."""
        tables: dict[str, str] = {}
        kept, keys, cites = [], [], []
        self.work.execute("begin")
        for record, address in self.records:
            record_id = record["id"]
            if record_id in self.withdrawn_ids:
                tables[record_id] = record["table"]
                tables.update((d["id"], "documents") for d in record["documents"])
                self.aliases += duplicate_aliases(record, record)
                self.withdrawn.append(record)
                continue
            tables.update((d["id"], "documents") for d in record["documents"]
                          if d["id"] in self.withdrawn_ids)
            record = without_withdrawn_documents(record, self.withdrawn_ids)
            if record.get("merged_ids"):
                self.declared[record_id] = duplicate_aliases(record, record)
            self.organisation_aliases.add(record)
            fields = orjson.dumps({f: record.get(f) for f in MATCHED})
            kept.append((record_id, record["table"], record["source"], *address, fields))
            keys += [(SEPARATOR.join(key), record_id, record["source"]) for key in block_keys(record)]
            cites += [(document, record_id) for document in {d["id"] for d in record["documents"]}]
            if len(kept) >= 5_000:
                self._keep(kept, keys, cites)
        self._keep(kept, keys, cites)
        self.work.execute("commit")
        self.work.execute("create index cites_by_document on cites (document_id, id)")
        forget_names()
        self.tombstones = tombstone_rows(self.withdrawal, tables, self.registered)

    def _keep(self, kept: list, keys: list, cites: list) -> None:
        for table, rows in (("kept", kept), ("keys", keys), ("cites", cites)):
            marks = ", ".join("?" * len(rows[0])) if rows else ""
            if rows:
                self.work.executemany(f"insert into {table} values ({marks})", rows)
            rows.clear()

    def shared_documents(self) -> dict[str, set[str]]:
        """Each document exactly two kept records cite → their ids."""
        found = self.work.execute(f"select document_id, group_concat(id, '{SEPARATOR}') from cites "
                                  "group by document_id having count(*) = 2")
        return {document: set(ids.split(SEPARATOR)) for document, ids in found}

    def blocks(self, shared: dict[str, set[str]]) -> dict[tuple, set[str]]:
        """The blocks that can give a pair: up to MAX_BLOCK rows, of two sources or of a source that
        repeats events; and each document only two rows cite."""
        repeating = ", ".join("?" * len(self.repeating)) or "null"
        found = self.work.execute(
            f"select block, group_concat(id, '{SEPARATOR}') from keys group by block "
            f"having count(*) between 2 and {MAX_BLOCK} and (count(distinct source) > 1 "
            f"or max(source in ({repeating})))", tuple(sorted(self.repeating)))
        blocks = {tuple(block.split(SEPARATOR)): set(ids.split(SEPARATOR)) for block, ids in found}
        blocks.update((("*", "document", document), ids) for document, ids in shared.items())
        return blocks

    def matchable(self, ids: set[str]):
        """The compared fields of these records, one at a time."""
        self.work.execute("create temp table wanted (id text primary key)")
        self.work.executemany("insert into wanted values (?)", ((i,) for i in ids))
        try:
            for (fields,) in self.work.execute("select fields from kept join wanted using (id) order by id"):
                yield orjson.loads(fields)
        finally:
            self.work.execute("drop table wanted")

    def match(self, decisions_file: Path | None) -> None:
        """Score the pairs of useful blocks and cluster them, people's decisions first."""
        started = time.perf_counter()
        shared = self.shared_documents()
        blocks = self.blocks(shared)
        matcher = Matcher(self.matchable(set().union(*blocks.values()) if blocks else set()), self.repeating,
                          shared=shared, blocks=blocks)
        matches = matcher.matches()
        logger.info("matching: %d blocks that can give a pair, %d rows in them, %d matches, in %.1f s",
                    len(blocks), len(matcher.sources), len(matches), time.perf_counter() - started)
        declared = {a["alias"]: i for i, aliases in self.declared.items() for a in aliases}
        self.clusters, self.candidates = cluster(self.kept, matches, read_decisions(decisions_file),
                                                 self.repeating, declared)

    def fetch(self, record_id: str) -> dict:
        """A kept record, read again from where it was read."""
        number, offset = self.work.execute("select number, offset from kept where id = ?",
                                           (record_id,)).fetchone()
        record = self.records.fetch(RecordAddress(number, offset))
        return without_withdrawn_documents(record, self.withdrawn_ids)

    def write(self, writer: RowWriter, ages: Ages) -> None:
        """Read the records again and write each event's rows once: the records of a cluster merged."""
        joined = self.clusters.joined()
        in_a_group = {record_id for group in joined for record_id in group}
        for record, _ in self.records:
            if record["id"] not in self.withdrawn_ids and record["id"] not in in_a_group:
                writer.add(without_withdrawn_documents(record, self.withdrawn_ids))
        merger = Merger(self.clusters, ages)
        for group in joined:
            merged, retired, members = merger.group([self.fetch(i) for i in group])
            writer.add(merged)
            self.aliases += retired
            self.groups[merged["id"]] = [m["id"] for m in members]
            for member in members:
                self.declared.pop(member["id"], None)
        writer.flush()
        logger.info("merging: %d groups of rows made one", len(self.groups))
        self.aliases += [a for aliases in self.declared.values() for a in aliases]
        self.aliases.sort(key=lambda a: a["alias"])

    def merged(self, record_id: str) -> tuple[dict, list[dict]]:
        """A published row's record as it was written, and the records merged into it."""
        if record_id not in self.groups:
            return dict(self.fetch(record_id), merged_ids=[]), []
        members = [self.fetch(i) for i in self.groups[record_id]]
        return combine(members, members[0]), members

    def close(self) -> None:
        self.work.close()
        self.records.close()
