"""The database build: item snapshots and curated files → data/evidence.db, in full, atomically.

The build reads only text (data/items/*.jsonl, data/runs/, data/curated/*.yml, data/sources.yml,
data/aliases.csv, data/decisions.csv, data/tombstones.yml, data/redactions.yml,
data/published_ids.txt, data/discovered/*.jsonl, data/leads_reviewed.csv) and makes the whole
database again, one step after another:

1. read every record (pipelines/read/records.py) and keep what matching needs (pipelines/match/events.py);
2. match rows within their blocking keys and cluster them, people's decisions first;
3. write each event's rows once, the rows of one event merged under its oldest id;
4. tombstones, aliases, match candidates, sources, the run log and captures, the discovered documents
   and their leads for review (pipelines/discover/leads.py); redactions applied;
5. indexes, the evidence view, its counts, the letters' claims, the foreign key check, full-text
   indexes;
6. every registered id still resolves (with --register), no redacted value is left in the file,
   and the new file is swapped in with one rename.

The new database is written beside the old one, so Datasette never sees half a database and a
failed build leaves the last one in place. The same text gives the same bytes.
Usage: python -m pipelines.build [--db data/evidence.db] [--items data/items] [--register].
"""

import argparse
import logging
import os
import resource
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
import yaml

from pipelines.discover.leads import insert_leads
from pipelines.ledgers.aliases import read_aliases, resolve
from pipelines.ledgers.published import check, published_now, read_registry, registered_with, write_registry
from pipelines.ledgers.redact import Redactor, read_redactions
from pipelines.ledgers.tombstones import orphans
from pipelines.match.events import Events
from pipelines.match.merge import Ages
from pipelines.read.records import Records
from pipelines.vocab import EVENT_TABLES
from pipelines.write.claims import evaluate_claims, insert_claims
from pipelines.write.operations import insert_captures, insert_run_log
from pipelines.write.rows import RowWriter
from pipelines.write.schema import (
    COLUMNS,
    count_evidence,
    create_indexes,
    create_search_indexes,
    create_tables,
    create_views,
    dangling_keys,
)

DATA = Path(__file__).resolve().parent.parent / "data"
STORED_TABLES = (*EVENT_TABLES, "documents", "organisations", "citations", "event_organisations",
                 "id_aliases", "tombstones", "match_candidates", "sources", "leads", "discovered_documents")
PAGE_TABLES = (*EVENT_TABLES, "documents", "organisations", "sources")
# The files of a build beside the database, named <database>.<process id>.<suffix>: the new
# database, and the work file of matching (pipelines/match/events.py).
BUILD_FILES = ("tmp", "work")
logger = logging.getLogger(__name__)


class Steps:
    """Logs how long each step of the build took and the peak memory so far."""

    def __init__(self):
        self.started = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        logger.info("build: %s in %.1f s (peak memory %d MB)", step, now - self.started, peak)
        self.started = now


class RowIds:
    """Every id that has a row page in the database being built → its table (claims come later)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def get(self, row_id: str, default=None):
        for table in PAGE_TABLES:
            if self.conn.execute(f"select 1 from [{table}] where id = ?", (row_id,)).fetchone():
                return table
        return default

    def __contains__(self, row_id: str) -> bool:
        return self.get(row_id) is not None


def remove_leftovers(db_path: Path) -> None:
    """Remove the files a killed build left beside the database, named with the id of a process
    that no longer runs."""
    for path in db_path.parent.glob(f"{db_path.name}.*.*"):
        pid = path.name[len(db_path.name) + 1:].partition(".")[0]
        if pid.isdigit() and path.suffix[1:] in BUILD_FILES and not _running(int(pid)):
            path.unlink(missing_ok=True)
            logger.info("removed %s, left by a build that was killed", path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def open_new(path: Path) -> sqlite_utils.Database:
    """A new database file, swapped in only once complete and synced to disk: no journal and no
    sync per write. Deleted and rewritten values are zeroed, so that a value a redaction clears
    does not stay behind in a free page."""
    db = sqlite_utils.Database(path)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536", "secure_delete = ON"):
        db.execute(f"PRAGMA {pragma}")
    return db


def source_rows(sources_file: Path, conn: sqlite3.Connection) -> list[dict]:
    """The rows of `sources`: each source of data/sources.yml with its rows and latest last_seen."""
    counts: dict[str, tuple[int, str | None]] = {}
    for table in EVENT_TABLES:
        for source, rows, last in conn.execute(
                f"select source, count(*), max(last_seen) from [{table}] group by source"):
            own, seen = counts.get(source, (0, None))
            counts[source] = own + rows, max(filter(None, (seen, last)), default=None)
    found = []
    for source in yaml.safe_load(Path(sources_file).read_text(encoding="utf-8")):
        own, last_run = counts.get(source["id"], (0, None))
        found.append({**{c: source.get(c) for c in COLUMNS["sources"]}, "rows": own, "last_run": last_run})
    return sorted(found, key=lambda r: r["id"])


def redactor_for(redactions_file: Path | None, events: Events, aliases: list[dict], present: RowIds,
                 strict: bool) -> Redactor:
    """The build's Redactor, given the rows (and the records merged into them) it redacts."""
    redactions = read_redactions(redactions_file)
    by_alias = {a["alias"]: a["id"] for a in aliases}
    records, members = {}, {}
    for redaction in redactions:
        row_id = by_alias.get(redaction["id"], redaction["id"])
        if present.get(row_id) in EVENT_TABLES and row_id not in records:
            records[row_id], members[row_id] = events.merged(row_id)
    return Redactor(redactions, records, members, by_alias, strict=strict)


def swap(new: Path, db_path: Path) -> None:
    """Put the database file `new` in place of the one at db_path, once it is on disk."""
    with Path(new).open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(new, db_path)


def build(db_path: Path, items_dir: Path = DATA / "items", curated_dir: Path = DATA / "curated",
          sources_file: Path = DATA / "sources.yml", aliases_file: Path = DATA / "aliases.csv",
          built_at: str | None = None, decisions_file: Path | None = DATA / "decisions.csv",
          tombstones_file: Path | None = DATA / "tombstones.yml",
          redactions_file: Path | None = DATA / "redactions.yml",
          published_file: Path | None = DATA / "published_ids.txt", register: bool = False,
          runs_dir: Path | None = None, discovered_dir: Path | None = DATA / "discovered",
          leads_file: Path | None = DATA / "leads_reviewed.csv") -> dict[str, int]:
    """Build the database at db_path from text; return the row count of each table.

    `runs_dir` is the run log (default: `runs` beside items_dir). `published_file` gives the day
    each id was first published, which decides the oldest id of merged rows. With `register`,
    every id registered there must still resolve, and the ids this build publishes for the first
    time are added once it succeeded.
    """
    db_path = Path(db_path)
    built = built_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    runs_dir = Path(runs_dir) if runs_dir else Path(items_dir).parent / "runs"
    registered = read_registry(published_file)
    published_days = {i: day for i, (_, day) in registered.items()}
    remove_leftovers(db_path)
    new_file, work_file = (db_path.with_name(f"{db_path.name}.{os.getpid()}.{s}") for s in BUILD_FILES)
    steps = Steps()
    try:
        db = open_new(new_file)
        create_tables(db)
        events = Events(Records(items_dir, curated_dir, runs_dir), work_file, sources_file, tombstones_file,
                        {i: table for i, (table, _) in registered.items()})
        try:
            events.collect()
            steps.done(f"{len(events.kept)} records read, {len(events.withdrawn)} withdrawn")
            events.match(decisions_file)
            steps.done("rows matched and clustered")
            with db.conn:  # an event row's `added` is the day its id was published, or today
                events.write(RowWriter(db.conn, published_days, built[:10]),
                             Ages(published_days, built[:10]))
            steps.done(f"rows of every event written, {len(events.groups)} merged")
            present = RowIds(db.conn)
            tombstones = sorted(events.tombstones + orphans(events.withdrawn, events.tombstones, present),
                                key=lambda t: t["id"])
            generated = events.aliases + events.organisation_aliases.rows(published_days, built[:10])
            aliases = resolve(generated, read_aliases(aliases_file), present,
                              {t["id"]: t["withdrawn_from"] for t in tombstones}, strict=register)
            redactor = redactor_for(redactions_file, events, aliases, present, strict=register)
        finally:
            events.close()
        with db.conn:
            db["tombstones"].insert_all(tombstones)
            db["id_aliases"].insert_all(aliases)
            db["match_candidates"].insert_all(events.candidates)
            db["sources"].insert_all(source_rows(sources_file, db.conn))
            insert_run_log(db, runs_dir)
            insert_captures(db, Path(items_dir).parent / "documents.jsonl")
            discovered = insert_leads(db, discovered_dir, leads_file)
            redactor.apply_to_database(db.conn, STORED_TABLES)
        leads = ", ".join(f"{n} {what}" for what, n in sorted(discovered.items()))
        steps.done(f"tombstones, aliases, candidates, sources, run log, captures, leads ({leads}), "
                   "redactions")
        create_indexes(db)
        create_views(db)
        count_evidence(db)
        claims, claim_links = evaluate_claims(db, Path(curated_dir) / "claims.yml")
        redactor.scrub_rows("claims", claims)
        with db.conn:
            insert_claims(db, claims, claim_links)
            db["build"].insert({"key": "built_at", "value": built}, pk="key")
        broken = dangling_keys(db.conn)
        if broken:
            raise ValueError(f"foreign keys that point nowhere: {broken[:10]}")
        steps.done("indexes, views, claims and the foreign key check")
        create_search_indexes(db)
        steps.done("full-text indexes")
        now = published_now(db.conn) if register else {}
        if register:
            check(registered, now)
        db.close()
        redactor.check_file(new_file)
        swap(new_file, db_path)
        steps.done("checked, synced to disk and swapped in")
        if register:
            write_registry(published_file, registered_with(registered, now, built[:10]))
    finally:
        for path in (new_file, work_file):
            path.unlink(missing_ok=True)
    return counted(db_path)


def counted(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0]
                for t in (*EVENT_TABLES, "documents", "citations", "organisations", "claims")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "evidence.db")
    parser.add_argument("--items", type=Path, default=DATA / "items",
                        help="the item snapshots (default: data/items; the run log is runs/ beside it)")
    parser.add_argument("--published", type=Path, default=DATA / "published_ids.txt",
                        help="the registry of published ids (default: data/published_ids.txt)")
    parser.add_argument("--discovered", type=Path, default=DATA / "discovered",
                        help="the discovered documents, made leads for review (default: data/discovered)")
    parser.add_argument("--register", action="store_true",
                        help="check that every registered id still resolves, then register the new ones")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = build(args.db, items_dir=args.items, published_file=args.published, register=args.register,
                   discovered_dir=args.discovered)
    logger.info("built %s: %s", args.db, ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
