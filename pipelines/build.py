"""The database build: item snapshots and curated files → data/evidence.db, atomically.

The build reads only text (data/items/*.jsonl, data/curated/*.yml, data/sources.yml,
data/aliases.csv, data/decisions.csv, data/tombstones.yml, data/redactions.yml,
data/published_ids.txt), writes a new database beside the old one and swaps it in with one rename,
so Datasette never sees half a database and a failed build leaves the last one in place. The same
text gives the same ids and rows. Withdrawn rows become tombstones, rows of one event merge under
its oldest id (pipelines/events.py), redactions apply to the rows before any index or full-text
index is made, and with --register every id ever published must still resolve. The records are
read as a stream and written as they come, so memory does not grow with their number. Beside
the database the build leaves data/evidence.db.state, from which an --incremental build writes
only what a night changed, and keeps the database it replaced as data/evidence.db.spare, into
which the next night's delta build writes (pipelines/spare.py).
Usage: python -m pipelines.build [--db data/evidence.db] [--register] [--incremental].
"""

import argparse
import json
import logging
import os
import resource
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
import yaml

from pipelines.aliases import read_aliases, resolve
from pipelines.claims import evaluate_claims, insert_claims
from pipelines.delta import Fetcher, Refused, Rewriter, open_state, plan
from pipelines.events import matching_index, resolve_events
from pipelines.merge import Ages
from pipelines.operations import (
    changes_files,
    load_captures,
    refresh_operations,
)
from pipelines.published import check, published_now, read_registry, registered_with, write_registry
from pipelines.redact import Redactor, read_redactions
from pipelines.rows import RowWriter, move_staged
from pipelines.schema import (
    COLUMNS,
    count_evidence,
    create_indexes,
    create_search_indexes,
    create_tables,
    create_views,
    dangling_keys,
    move_counts,
)
from pipelines.second_process import SecondProcess
from pipelines.spare import Spare, swap
from pipelines.state import finish_state, inputs_digest, stage_state, stage_update, state_path
from pipelines.stream import Records
from pipelines.tables import insert_rows
from pipelines.tombstones import orphans, read_tombstones
from pipelines.vocab import EVENT_TABLES

DATA = Path(__file__).resolve().parent.parent / "data"
STORED_TABLES = (*EVENT_TABLES, "documents", "organisations", "citations", "event_organisations",
                 "id_aliases", "tombstones", "match_candidates", "sources")
PAGE_TABLES = (*EVENT_TABLES, "documents", "organisations", "sources")
# Their rows are all written before matching (documents and organisations once moved from the
# staging file, pipelines/rows.py), which then uses only its own file for a while.
INDEXED_WHILE_MATCHING = (*EVENT_TABLES, "citations", "event_organisations", "runs", "changes", "documents",
                          "organisations")
# The files of a build beside the database, named <database>.<process id>.<suffix>: the new database,
# what matching needs (pipelines/events.py), documents and organisations (pipelines/rows.py), the
# records a night only saw again (pipelines/delta.py).
BUILD_FILES = ("tmp", "index", "staging", "seen")
COPY_CHUNK = 64 << 20
logger = logging.getLogger(__name__)


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


def source_rows(path: Path, conn: sqlite3.Connection) -> list[dict]:
    counts: dict[str, tuple[int, str | None]] = {}
    for table in EVENT_TABLES:  # each from its index on (source, last_seen) alone
        for source, rows, last in conn.execute(
                f"select source, count(*), max(last_seen) from [{table}] group by source"):
            own, seen = counts.get(source, (0, None))
            counts[source] = own + rows, max(filter(None, (seen, last)), default=None)
    rows = []
    for source in yaml.safe_load(path.read_text(encoding="utf-8")):
        own, last_run = counts.get(source["id"], (0, None))
        rows.append({**{c: source.get(c) for c in COLUMNS["sources"]}, "rows": own, "last_run": last_run})
    return sorted(rows, key=lambda r: r["id"])


def redactor_for(redactions_file: Path | None, resolver, events, aliases: list[dict], present: RowIds,
                 strict: bool) -> Redactor:
    """The build's Redactor, given the rows (and the records merged into them) it redacts."""
    redactions = read_redactions(redactions_file)
    by_alias = {a["alias"]: a["id"] for a in aliases}
    records, members = {}, {}
    for redaction in redactions:
        row_id = by_alias.get(redaction["id"], redaction["id"])
        if present.get(row_id) in EVENT_TABLES and row_id not in records:
            records[row_id], members[row_id] = resolver.merged(row_id, events.groups)
    return Redactor(redactions, records, members, by_alias, strict=strict)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def remove_leftovers(db_path: Path) -> list[Path]:
    """Remove the files a killed build left beside the database (a new database, staging and
    matching files: gigabytes at a million records), named with the id of a process that no longer
    runs; return them."""
    left = []
    for path in db_path.parent.glob(f"{db_path.name}.*.*"):
        pid = path.name[len(db_path.name) + 1:].partition(".")[0]
        if pid.isdigit() and path.suffix[1:] in BUILD_FILES and not _running(int(pid)):
            path.unlink(missing_ok=True)
            left.append(path)
    return left


def copy_unless(stop: threading.Event, source: Path, target: Path) -> bool:
    """Copy a file by the kernel (sendfile, without Python's lock) a chunk at a time until it is
    copied (True) or `stop` is set (False)."""
    with open(source, "rb") as reading, open(target, "wb") as writing:
        offset = 0
        while not stop.is_set():
            sent = os.sendfile(writing.fileno(), reading.fileno(), offset, COPY_CHUNK)
            if not sent:
                return True
            offset += sent
    return False


def open_new(path: Path) -> sqlite_utils.Database:
    """A database file that is swapped in only once complete and synced to disk: no journal, and no
    sync per write."""
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -131072")  # 128 MiB
    db.execute("PRAGMA threads = 2")  # sorts for indexes on helper threads
    return db


def _move_and_index(path: str, staging_path: Path, inbox, outbox) -> None:
    db = sqlite_utils.Database(path)  # SQLite's small default cache: the build's memory stays flat
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "threads = 2"):
        db.execute(f"PRAGMA {pragma}")
    move_staged(db.conn, staging_path)
    create_indexes(db, INDEXED_WHILE_MATCHING)
    db.close()
    outbox.put(("done",))


def beside_matching(path: Path, staging_path: Path) -> SecondProcess:
    """Move the documents and organisations of the staging file into the database being built at
    `path`, and make the indexes of the tables already filled, in another process while matching
    works from its own file (`result()` waits for the end); nothing else may use the database's
    file meanwhile."""
    return SecondProcess(_move_and_index, (str(path), staging_path), name="frt-beside-matching",
                         called="the process working beside matching",
                         doing="moving the staged rows and indexing " + ", ".join(INDEXED_WHILE_MATCHING))


class Steps:
    """Logs how long each step of the build took and the peak memory so far."""

    def __init__(self):
        self.started = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        # this process's only: a spawned process's own peak, as the kernel counts it, includes
        # what it shared with this one before it began (make bench adds them up instead)
        logger.info("build: %s in %.1f s (peak memory %d MB)", step, now - self.started, peak)
        self.started = now


def build(db_path: Path, items_dir: Path = DATA / "items", curated_dir: Path = DATA / "curated",
          sources_file: Path = DATA / "sources.yml", aliases_file: Path = DATA / "aliases.csv",
          built_at: str | None = None, decisions_file: Path | None = DATA / "decisions.csv",
          tombstones_file: Path | None = DATA / "tombstones.yml",
          redactions_file: Path | None = DATA / "redactions.yml",
          published_file: Path | None = DATA / "published_ids.txt", register: bool = False,
          incremental: bool = False) -> dict[str, int]:
    """Build the database at db_path from text; return the row count of each table.

    The records are read once, as a stream, and their rows written as they come (pipelines/events.py);
    the rows are written into a new file, which then gets its indexes and full-text indexes, and
    the state the next build starts from is written beside it (pipelines/state.py). With
    `incremental`, a night that only edited records or saw them again (a later last_seen) writes
    just their rows into the spare kept beside the database at db_path (pipelines/spare.py) or else
    into a copy of that database (pipelines/delta.py); any other night is built whole. Either way
    the result holds the same rows as a full build.

    `published_file` (data/published_ids.txt) gives the day each id was first published, which
    decides the oldest id of merged rows. With `register`, every id registered there must still
    resolve, and the ids this build publishes for the first time are added once it succeeded.
    """
    db_path = Path(db_path)
    built = built_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    registered = read_registry(published_file)
    published_days = {i: day for i, (_, day) in registered.items()}
    files = [db_path.with_name(f"{db_path.name}.{os.getpid()}.{suffix}") for suffix in BUILD_FILES]
    temporary, index_file, staging_file, seen_file = files
    for path in files:
        path.unlink(missing_ok=True)
    for path in remove_leftovers(db_path):
        logger.info("removed %s, left by a build that was killed", path)
    records = Records(items_dir, curated_dir)
    ledgers = [sources_file, aliases_file, decisions_file, tombstones_file, redactions_file, published_file]
    inputs = inputs_digest(records.paths, curated_dir, ledgers)
    steps = Steps()
    if incremental and build_delta(db_path, temporary, records, inputs, built, steps, seen_file=seen_file,
                                   data_dir=Path(items_dir).parent, register=register, registered=registered,
                                   curated_dir=curated_dir, sources_file=sources_file, ledgers=ledgers,
                                   tombstones_file=tombstones_file, redactions_file=redactions_file,
                                   published_file=published_file):
        return counted(db_path)
    state_file = state_path(db_path)
    files.append(state_file.with_name(state_file.name + ".tmp"))
    noting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frt-state")
    try:
        staged = sqlite_utils.Database(sqlite3.connect(temporary))
        # A new file, swapped in only once it is complete and synced to disk: no journal, and no
        # sync per insert batch (they cost more than the whole build).
        staged.execute("PRAGMA journal_mode = OFF")
        staged.execute("PRAGMA synchronous = OFF")
        staged.execute("PRAGMA cache_size = -131072")  # 128 MiB
        staged.execute("PRAGMA threads = 2")  # sorts for indexes on helper threads
        # The rows of merged records are deleted: a value a redaction clears must not stay behind in
        # a free page of the file.
        staged.execute("PRAGMA secure_delete = ON")
        create_tables(staged)
        runs_dir = Path(items_dir).parent / "runs"
        with staged.conn:  # one transaction
            writer = RowWriter(staged.conn, staging_file, matching_index(index_file), runs_dir=runs_dir)
            try:
                events, resolver = resolve_events(
                    records, writer, index_file, sources_file, decisions_file, tombstones_file,
                    Ages(published_days, built[:10]), {i: t for i, (t, _) in registered.items()},
                    while_matching=lambda: beside_matching(temporary, staging_file))
            except BaseException:
                writer.close()
                raise
            try:
                present = RowIds(staged.conn)
                tombstones = sorted(events.tombstones + orphans(events.withdrawn, events.tombstones,
                                                                present), key=lambda t: t["id"])
                generated = events.aliases + events.organisation_aliases.rows(published_days, built[:10])
                aliases = resolve(generated, read_aliases(aliases_file), present,
                                  {t["id"]: t["withdrawn_from"] for t in tombstones})
                steps.done("rows of every event, merged")
                redactor = redactor_for(redactions_file, resolver, events, aliases, present, strict=register)
            finally:
                resolver.close()
            insert_rows(staged.conn, "tombstones", tombstones)
            insert_rows(staged.conn, "id_aliases", aliases)
            insert_rows(staged.conn, "match_candidates", events.candidates)
            insert_rows(staged.conn, "sources", source_rows(sources_file, staged.conn))
            redactor.apply_to_database(staged.conn, STORED_TABLES)
        staged.close()
        # The state for the next build is written meanwhile by a thread: its work is SQLite's,
        # which lets go of Python's lock (3-4 s at 1M records, beside the indexes).
        noted = noting.submit(stage_state, state_file, index_file, events.groups, inputs, len(records.paths))
        steps.done("aliases, tombstones, candidates, sources, redactions")
        db = open_new(temporary)
        load_captures(db, Path(items_dir).parent)  # the run log came with the rows
        create_indexes(db)
        steps.done("captures and indexes")
        create_views(db)
        count_evidence(db)
        claims = evaluate_claims(db, Path(curated_dir) / "claims.yml")
        redactor.scrub_rows("claims", claims)
        with db.conn:
            insert_claims(db.conn, claims)
        broken = dangling_keys(db.conn)
        if broken:
            raise ValueError(f"foreign keys that point nowhere: {broken[:10]}")
        steps.done("views, claims and the foreign key check")
        create_search_indexes(db)
        steps.done("full-text indexes")
        staged_state, fingerprint = noted.result()
        db["build"].insert_all([{"key": "built_at", "value": built}, {"key": "inputs", "value": fingerprint}],
                               pk="key")
        steps.done("state for the next build")
        now = published_now(db.conn) if register else {}
        if register:
            check(registered, now)
        db.close()
        redactor.check_file(temporary)
        swap(temporary, db_path, keep_spare=not read_redactions(redactions_file))
        steps.done("checked, synced to disk and swapped in")
        if register:
            write_registry(published_file, registered_with(registered, now, built[:10]))
        finish_state(staged_state, state_file, state_meta(fingerprint, built, register, records, curated_dir,
                                                          ledgers, runs_dir))
    finally:
        noting.shutdown()  # the state is written before its files go
        for path in files:
            path.unlink(missing_ok=True)
    return counted(db_path)


def counted(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0]
                for t in (*EVENT_TABLES, "documents", "citations", "organisations", "claims")}


def state_meta(fingerprint: str, built: str, registered: bool, records: Records, curated_dir: Path,
               ledgers: list, runs_dir: Path) -> dict:
    """What the state notes of a build: the inputs are digested again, as registering new ids
    changed the registry, which the database already agrees with."""
    return {"fingerprint": fingerprint, "built_at": built, "registered": "1" if registered else "0",
            "inputs": inputs_digest(records.paths, curated_dir, ledgers), "changes": changes_files(runs_dir)}


def build_delta(db_path: Path, temporary: Path, records: Records, inputs: str, built: str, steps: Steps, *,
                seen_file: Path, data_dir: Path, register: bool, registered: dict, curated_dir: Path,
                sources_file: Path, ledgers: list, tombstones_file: Path | None, redactions_file: Path | None,
                published_file: Path | None) -> bool:
    """The delta build (pipelines/delta.py) into the spare (pipelines/spare.py) where it can be, else
    into a copy of the database at db_path, swapped in: True. False, saying why, where the night
    changed more than the changed records' own rows: the database is then built whole."""
    state_file = state_path(db_path)
    if not state_file.exists() or not db_path.exists():
        logger.info("delta build on %s refused: no database with a state beside it; the database is built "
                    "whole instead", db_path)
        return False
    withdrawn = {t["id"] for t in read_tombstones(tombstones_file)}
    redactions = read_redactions(redactions_file)
    spare, state, staged_state = Spare(db_path), None, None
    into = temporary
    copying = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frt-copy")
    try:
        taken = spare.take()
        if taken is None and spare.path.exists():
            logger.info("the spare of %s is in use or has no state: the last database is copied", db_path)
        if taken is not None:
            try:
                state = open_state(taken)
                delta = plan(spare.path, records, state, inputs, built, withdrawn, redactions, seen_file)
                into = spare.path
            except Refused as reason:
                logger.info("delta build on %s into its spare refused: %s; the last database is copied",
                            db_path, reason)
                if state is not None:
                    state.close()
                    state = None
                spare.give_back()
        if into != spare.path:
            # the database is copied while the snapshots are read, and the copy stopped if the night
            # is refused (at a million records a refused night built whole had waited for the whole
            # copy: 144 s against 132 s for a full build; 122.4 s with the copy stopped)
            stop = threading.Event()
            copied = copying.submit(copy_unless, stop, db_path, temporary)
            try:
                state = open_state(state_file)
                delta = plan(db_path, records, state, inputs, built, withdrawn, redactions, seen_file)
            except Refused as reason:
                stop.set()
                logger.info("delta build on %s refused: %s; the database is built whole instead",
                            db_path, reason)
                return False
            copied.result()
        steps.done(f"{len(delta.changed)} changed records and {delta.seen.count} only seen again found")
        in_spare = into == spare.path
        where = "the spare, the database one build back" if in_spare else "a copy of the last database"
        if in_spare:
            spare.writing()
        db = open_new(into)
        with db.conn:
            fetch = Fetcher(state, delta.offsets, records, withdrawn)
            rewriter = Rewriter(db.conn, state, fetch)
            seen_rows = rewriter.seen_again(delta.seen, delta.later)  # first: it attaches a file
            rows = rewriter.rewrite(delta.changed, delta.recited)
            for table, count in seen_rows.items():
                rows[table] = rows.get(table, 0) + count
            refresh_operations(db, data_dir, json.loads(state.meta["changes"]))
            db.execute("delete from sources")
            insert_rows(db.conn, "sources", source_rows(sources_file, db.conn))
            move_counts(db, rewriter.moves)
            db.execute("delete from claims")
            db.execute("delete from claim_evidence")
            claims = evaluate_claims(db, Path(curated_dir) / "claims.yml")
            db.execute("update build set value = ? where key = 'built_at'", [built])
            db.execute("update build set value = ? where key = 'inputs'", [delta.fingerprint])
        with db.conn:
            insert_claims(db.conn, claims)
        logger.info("delta build on %s: %d changed records, %d only seen again, rows written: %s, into %s",
                    db_path, len(delta.changed), delta.seen.count, rows, where)
        steps.done(f"changed rows written into {where}")
        now = published_now(db.conn) if register else {}
        if register:
            check(registered, now)
        db.close()
        staged_state = stage_update(spare.taken if in_spare else state_file, delta.changed, delta.seen.path,
                                    in_place=in_spare)
        swap(into, db_path)
        spare.swapped()
        if register:
            write_registry(published_file, registered_with(registered, now, built[:10]))
        finish_state(staged_state, state_file, state_meta(
            delta.fingerprint, built, register or state.meta.get("registered") == "1", records, curated_dir,
            ledgers, data_dir / "runs"))
        steps.done("synced to disk and swapped in")
        return True
    finally:
        copying.shutdown()  # the copy is over before its file goes
        if state is not None:
            state.close()
        temporary.unlink(missing_ok=True)
        seen_file.unlink(missing_ok=True)
        spare.close()
        if staged_state is not None:
            staged_state.unlink(missing_ok=True)
        records.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "evidence.db")
    parser.add_argument("--items", type=Path, default=DATA / "items")
    parser.add_argument("--published", type=Path, default=DATA / "published_ids.txt",
                        help="the registry of published ids (default: data/published_ids.txt)")
    parser.add_argument("--register", action="store_true",
                        help="check that every registered id still resolves, then register the new ones")
    parser.add_argument("--incremental", action="store_true",
                        help="start from a copy of the database at --db and write only the rows that differ")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = build(args.db, items_dir=args.items, published_file=args.published, register=args.register,
                   incremental=args.incremental)
    logger.info("built %s: %s", args.db, ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
