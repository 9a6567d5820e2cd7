"""The measured steps that run in their own process, so that each one's peak memory is its own.

    python -m bench.steps csvloop FILE                the parsing limit: a csv.DictReader loop
    python -m bench.steps build DB ITEMS [--code CHECKOUT]
    python -m bench.steps baseline SOURCE_DB DB       the storage limit: executemany + FTS rebuild

Each prints one JSON object with its own timing. `build` is the full build of this checkout, or
with `--code` that of another checkout of the project (its `pipelines` package, imported in
place of this one's), always from the same inputs: the items given and this checkout's data/
files, read only. Every path a build could write to is given explicitly and lies under
bench/work/, so nothing reaches data/.
"""

import argparse
import csv
import importlib
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import sqlite_utils

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
BUILT_AT = "2026-01-01T00:00:00Z"
BATCH = 10_000


def csv_loop(path: Path) -> dict:
    started = time.perf_counter()
    rows = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += row["Technology"] == "Face Recognition"
    return {"seconds": time.perf_counter() - started, "items": rows}


def run_build(db: Path, items: Path, code: Path) -> dict:
    sys.path.insert(0, str(code))  # the checkout's pipelines package comes first: this process runs its code
    database = importlib.import_module("pipelines.build")
    started = time.perf_counter()
    counts = database.build(db, items_dir=items, built_at=BUILT_AT, aliases_file=items.parent / "aliases.csv",
                            curated_dir=DATA / "curated", sources_file=DATA / "sources.yml",
                            decisions_file=DATA / "decisions.csv", tombstones_file=DATA / "tombstones.yml",
                            redactions_file=DATA / "redactions.yml",
                            published_file=DATA / "published_ids.txt")
    seconds = time.perf_counter() - started
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"seconds": seconds, "counts": counts, "code": str(code), "commit": commit or None}


def baseline(source: Path, target: Path) -> dict:
    """The rows of the built database at `source`, into the same tables (its own `create table`
    statements) in one transaction with bare executemany, then the same full-text indexes: the
    least any build of these rows can cost. It reads the file alone, so it needs no checkout's code."""
    target.unlink(missing_ok=True)
    reader = sqlite_utils.Database(source)
    searched = {t.name: fts for t in reader.tables if (fts := t.detect_fts()) not in (None, t.name)}
    tables = [t for t in reader.tables
              if not any(t.name == fts or t.name.startswith(f"{fts}_") for fts in searched.values())]
    db = sqlite_utils.Database(target)
    for table in tables:
        db.execute(table.schema)
    started = time.perf_counter()
    conn = db.conn
    rows = 0
    with conn:
        for table in tables:
            columns = ", ".join(f"[{c}]" for c in table.columns_dict)
            insert = f"insert into [{table.name}] ({columns}) values ({', '.join('?' * len(table.columns))})"
            cursor = reader.execute(f"select {columns} from [{table.name}]")
            while batch := cursor.fetchmany(BATCH):
                conn.executemany(insert, batch)
                rows += len(batch)
    for table, fts in searched.items():
        db[table].enable_fts(list(reader[fts].columns_dict), tokenize="porter", create_triggers=False)
    db.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("csvloop").add_argument("file", type=Path)
    build_parser = commands.add_parser("build")
    build_parser.add_argument("db", type=Path)
    build_parser.add_argument("items", type=Path)
    build_parser.add_argument("--code", type=Path, default=REPO,
                              help="the checkout whose build runs (default: this one)")
    baseline_parser = commands.add_parser("baseline")
    baseline_parser.add_argument("source", type=Path)
    baseline_parser.add_argument("db", type=Path)
    args = parser.parse_args()
    if args.command == "csvloop":
        result = csv_loop(args.file)
    elif args.command == "build":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # into the step's log
        result = run_build(args.db, args.items, args.code.resolve())
    else:
        result = baseline(args.source, args.db)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
