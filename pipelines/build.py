"""The database build: item snapshots and curated files → data/evidence.db, atomically.

The build reads only text (data/items/*.jsonl, data/curated/*.yml, data/sources.yml,
data/aliases.csv), writes a new database beside the old one and swaps it in with one rename, so
Datasette never sees half a database and a failed build leaves the last one in place. The same
text gives the same ids and rows. Usage: python -m pipelines.build [--db data/evidence.db].
"""

import argparse
import csv
import json
import logging
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
import yaml

from pipelines.claims import evaluate_claims
from pipelines.curated import load_curated
from pipelines.identify import event_id, organisation_id
from pipelines.operations import load_operations
from pipelines.organisations import registry
from pipelines.schema import COLUMNS, FACETS, FTS_COLUMNS, create_tables, create_views
from pipelines.store import read_snapshot
from pipelines.vocab import EVENT_TABLES

DATA = Path(__file__).resolve().parent.parent / "data"
ORGANISATION_ROLES = {"operator": "operator", "agency": "agency", "target": "target"}
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


def organisation_links(record: dict):
    for field, role in ORGANISATION_ROLES.items():
        if record.get(field):
            yield record[field], role
    for vendor in record.get("vendors") or ():
        yield vendor, "vendor"


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
    aliases = {}
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
        for name, role in organisation_links(record):
            org_id = organisation_id(name)
            organisations.setdefault(org_id, {"id": org_id, "name": name,
                                              "kind": "vendor" if role == "vendor" else "operator",
                                              "country": None, "website": None, "aliases": "[]"})
            links[(record["id"], org_id, role)] = {"event_id": record["id"], "event_table": record["table"],
                                                    "organisation_id": org_id, "role": role}
        for merged in record.get("merged_ids") or ():
            alias = event_id(record["table"], record["source"], merged)
            aliases[alias] = {"alias": alias, "id": record["id"],
                              "reason": f"{record['source']} lists {merged} as a duplicate",
                              "since": record.get("first_seen")}
    tables["documents"] = [documents[k] for k in sorted(documents)]
    tables["citations"] = [citations[k] for k in sorted(citations)]
    tables["organisations"] = [organisations[k] for k in sorted(organisations)]
    tables["event_organisations"] = [links[k] for k in sorted(links)]
    tables["id_aliases"] = [aliases[k] for k in sorted(aliases)]
    return tables


def read_aliases(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


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
          built_at: str | None = None) -> dict[str, int]:
    """Build the database at db_path from text; return the row count of each table."""
    db_path = Path(db_path)
    records = read_records(items_dir, curated_dir)
    tables = build_rows(records)
    tables["id_aliases"] = sorted(tables["id_aliases"] + read_aliases(aliases_file),
                                  key=lambda r: r["alias"])
    tables["sources"] = source_rows(sources_file, records)
    temporary = db_path.with_name(db_path.name + f".{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        db = sqlite_utils.Database(temporary)
        create_tables(db)
        for table in [*EVENT_TABLES, "documents", "organisations", "citations",
                      "event_organisations", "id_aliases", "sources"]:
            db[table].insert_all(tables[table], columns=None)
        load_operations(db, Path(items_dir).parent)
        for table, columns in FACETS.items():
            for column in columns:
                db[table].create_index([column], if_not_exists=True)
        create_views(db)
        built = built_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        db["build"].insert({"key": "built_at", "value": built}, pk="key")
        db["claims"].insert_all(evaluate_claims(db, Path(curated_dir) / "claims.yml"))
        broken = db.conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise ValueError(f"foreign keys that point nowhere: {broken[:10]}")
        db.vacuum()  # before full-text indexing: VACUUM may renumber the rowids FTS points at
        for table, columns in FTS_COLUMNS.items():
            db[table].enable_fts(columns, tokenize="porter", create_triggers=False)
        db.close()
        os.replace(temporary, db_path)
    finally:
        temporary.unlink(missing_ok=True)
    with sqlite3.connect(db_path) as conn:
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0]
                for t in (*EVENT_TABLES, "documents", "citations", "organisations", "claims")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DATA / "evidence.db")
    parser.add_argument("--items", type=Path, default=DATA / "items")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    counts = build(args.db, items_dir=args.items)
    logger.info("built %s: %s", args.db, ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
