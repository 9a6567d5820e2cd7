"""The database build: item snapshots and curated files → data/evidence.db, atomically.

The build reads only text (data/items/*.jsonl, data/curated/*.yml, data/sources.yml,
data/aliases.csv, data/decisions.csv, data/tombstones.yml, data/redactions.yml,
data/published_ids.txt), writes a new database beside the old one and swaps it in with one rename,
so Datasette never sees half a database and a failed build leaves the last one in place. The same
text gives the same ids and rows. Withdrawn rows become tombstones, rows of one event merge under
its oldest id (pipelines/events.py), redactions apply before anything is written, and with
--register every id ever published must still resolve. Usage: python -m pipelines.build
[--db data/evidence.db] [--register] [--incremental].
"""

import argparse
import json
import logging
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
import yaml

from pipelines.aliases import organisation_aliases, read_aliases, resolve
from pipelines.claims import evaluate_claims
from pipelines.curated import load_curated
from pipelines.events import resolve_events
from pipelines.incremental import refill_search_indexes, reusable, update_tables
from pipelines.operations import load_operations
from pipelines.organisations import named_organisations, organisation_id, organisation_kind, registry
from pipelines.published import check, published_now, read_registry, registered_with, write_registry
from pipelines.redact import Redactor, read_redactions
from pipelines.schema import COLUMNS, create_indexes, create_search_indexes, create_tables, create_views
from pipelines.store import read_snapshot
from pipelines.tables import insert_rows
from pipelines.tombstones import orphans
from pipelines.vocab import EVENT_TABLES

DATA = Path(__file__).resolve().parent.parent / "data"
STORED_TABLES = (*EVENT_TABLES, "documents", "organisations", "citations", "event_organisations",
                 "id_aliases", "tombstones", "match_candidates", "sources")
logger = logging.getLogger(__name__)


def read_records(items_dir: Path, curated_dir: Path) -> list[dict]:
    """All event records: every snapshot under items_dir, then the curated files; sorted by id."""
    records = []
    for path in sorted(Path(items_dir).glob("*.jsonl")):
        if path.name.endswith(".rejected.jsonl"):
            continue
        records.extend(read_snapshot(path).values())
    records.extend(load_curated(curated_dir))
    ids = [r["id"] for r in records]
    if len(ids) != len(set(ids)):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"ids used by more than one record: {duplicated[:10]}")
    return sorted(records, key=lambda r: r["id"])


def event_row(record: dict) -> dict:
    row = {column: record.get(column) for column in COLUMNS[record["table"]]}
    if "vendor" in row:
        row["vendor"] = "; ".join(record.get("vendors") or []) or None
    row["listed"] = int(record.get("listed", True))
    row["year"] = int(record["date"][:4]) if record.get("date") else None
    return row


def build_rows(records: list[dict]) -> dict[str, list[dict]]:
    """Rows for every table, in a deterministic order, from the event records."""
    tables: dict[str, list[dict]] = {t: [] for t in COLUMNS}
    documents: dict[str, dict] = {}
    citations: dict[tuple, dict] = {}
    organisations = {organisation_id(o["name"]): {
        "id": organisation_id(o["name"]), "name": o["name"], "kind": o.get("kind"),
        "country": o.get("country"), "website": o.get("website"),
        "aliases": json.dumps(sorted(o.get("aliases", [])), ensure_ascii=False)}
        for o in registry()}
    links = {}
    for record in records:
        tables[record["table"]].append(event_row(record))
        for document in record["documents"]:
            doc = documents.setdefault(document["id"], {"id": document["id"]})
            for column in COLUMNS["documents"]:
                if doc.get(column) is None and document.get(column) is not None:
                    doc[column] = document[column]
            doc.setdefault("source", record["source"])
            for column in ("first_seen", "last_seen"):
                if record.get(column):
                    values = [v for v in (doc.get(column), record[column]) if v]
                    doc[column] = min(values) if column == "first_seen" else max(values)
            citations.setdefault((record["id"], document["id"]), {
                "event_id": record["id"], "document_id": document["id"],
                "event_table": record["table"], "role": document.get("role"), "quote": None})
        for name, role in named_organisations(record):
            org_id = organisation_id(name)
            organisations.setdefault(org_id, {"id": org_id, "name": name,
                                              "kind": organisation_kind(name, role),
                                              "country": None, "website": None, "aliases": "[]"})
            links[(record["id"], org_id, role)] = {"event_id": record["id"], "event_table": record["table"],
                                                    "organisation_id": org_id, "role": role}
    tables["documents"] = [documents[k] for k in sorted(documents)]
    tables["citations"] = [citations[k] for k in sorted(citations)]
    tables["organisations"] = [organisations[k] for k in sorted(organisations)]
    tables["event_organisations"] = [links[k] for k in sorted(links)]
    return tables


def page_ids(tables: dict[str, list[dict]]) -> dict[str, str]:
    """Every id that has a row page (claims come later) → its table."""
    return {row["id"]: table for table in (*EVENT_TABLES, "documents", "organisations", "sources")
            for row in tables[table]}


def source_rows(path: Path, records: list[dict]) -> list[dict]:
    rows = []
    for source in yaml.safe_load(path.read_text(encoding="utf-8")):
        own = [r for r in records if r["source"] == source["id"]]
        seen = [r["last_seen"] for r in own if r.get("last_seen")]
        rows.append({**{c: source.get(c) for c in COLUMNS["sources"]},
                     "rows": len(own), "last_run": max(seen) if seen else None})
    return sorted(rows, key=lambda r: r["id"])


def build(db_path: Path, items_dir: Path = DATA / "items", curated_dir: Path = DATA / "curated",
          sources_file: Path = DATA / "sources.yml", aliases_file: Path = DATA / "aliases.csv",
          built_at: str | None = None, decisions_file: Path | None = DATA / "decisions.csv",
          tombstones_file: Path | None = DATA / "tombstones.yml",
          redactions_file: Path | None = DATA / "redactions.yml",
          published_file: Path | None = DATA / "published_ids.txt", register: bool = False,
          incremental: bool = False) -> dict[str, int]:
    """Build the database at db_path from text; return the row count of each table.

    With `incremental`, a copy of the database already at db_path (if its tables, indexes and
    full-text indexes are the ones this build makes) is brought to the new rows by writing only
    the rows that differ (pipelines/incremental.py); the result holds the same rows as a full build.

    `published_file` (data/published_ids.txt) gives the day each id was first published, which
    decides the oldest id of merged rows. With `register`, every id registered there must still
    resolve, and the ids this build publishes for the first time are added once it succeeded.
    """
    db_path = Path(db_path)
    built = built_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    registered = read_registry(published_file)
    published_days = {i: day for i, (_, day) in registered.items()}
    events = resolve_events(read_records(items_dir, curated_dir), decisions_file, tombstones_file,
                            sources_file, registered, built[:10])
    tables = build_rows(events.records)
    tables["tombstones"] = sorted(events.tombstones + orphans(events.withdrawn, events.tombstones,
                                                              set(page_ids(tables))), key=lambda t: t["id"])
    tombstoned = {t["id"]: t["withdrawn_from"] for t in tables["tombstones"]}
    originals = [record for members in events.members.values() for record in members]
    generated = events.aliases + organisation_aliases(originals, published_days, built[:10])
    tables["id_aliases"] = resolve(generated, read_aliases(aliases_file), page_ids(tables), tombstoned)
    tables["match_candidates"] = events.candidates
    tables["sources"] = source_rows(sources_file, events.records)
    redactor = Redactor(read_redactions(redactions_file), {r["id"]: r for r in events.records},
                        events.members, {a["alias"]: a["id"] for a in tables["id_aliases"]},
                        strict=register)
    redactor.apply(tables)
    temporary = db_path.with_name(db_path.name + f".{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        # A redacted value could stay behind in the old file's full-text segments: redactions
        # always get a whole new file.
        reuse = incremental and not redactor.values and reusable(db_path)
        if reuse:
            shutil.copyfile(db_path, temporary)
        db = sqlite_utils.Database(temporary)
        # A temporary file, swapped in only once it is complete and synced to disk: no journal,
        # and no sync per insert batch (they cost more than the whole build).
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        with db.conn:  # one transaction
            if reuse:
                changed = update_tables(db, {table: tables[table] for table in STORED_TABLES})
                logger.info("incremental build on %s: %s", db_path, changed)
            else:
                create_tables(db)
                for table in STORED_TABLES:
                    insert_rows(db.conn, table, tables[table])
        load_operations(db, Path(items_dir).parent)
        create_indexes(db)
        create_views(db)
        db["build"].insert({"key": "built_at", "value": built}, pk="key")
        claims = evaluate_claims(db, Path(curated_dir) / "claims.yml")
        redactor.scrub_rows("claims", claims)
        db["claims"].insert_all(claims)
        broken = db.conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise ValueError(f"foreign keys that point nowhere: {broken[:10]}")
        if reuse:
            refill_search_indexes(db, kept=STORED_TABLES)
        else:
            db.vacuum()  # before full-text indexing: VACUUM may renumber the rowids FTS points at
            create_search_indexes(db)
        now = published_now(db.conn)
        if register:
            check(registered, now)
        db.close()
        redactor.check_file(temporary)
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, db_path)
        if register:
            write_registry(published_file, registered_with(registered, now, built[:10]))
    finally:
        temporary.unlink(missing_ok=True)
    with sqlite3.connect(db_path) as conn:
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0]
                for t in (*EVENT_TABLES, "documents", "citations", "organisations", "claims")}


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
