"""The measured steps that run in their own process, so that each one's peak memory is its own.

    python -m bench.steps csvloop FILE                the parsing limit: a csv.DictReader loop
    python -m bench.steps build DB ITEMS [--incremental]
    python -m bench.steps baseline SOURCE_DB DB       the storage limit: executemany + FTS rebuild

Each prints one JSON object with its own timing. Every path a build could write to is given
explicitly and lies under bench/work/, so nothing reaches data/.
"""

import argparse
import csv
import json
import logging
import sqlite3
import sys
import time
from pathlib import Path

import sqlite_utils

from pipelines import build as database
from pipelines.schema import FTS_COLUMNS, TYPES, create_tables

REPO = Path(__file__).resolve().parent.parent
BUILT_AT = "2026-01-01T00:00:00Z"
BATCH = 10_000


def csv_loop(path: Path) -> dict:
    started = time.perf_counter()
    rows = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += row["Technology"] == "Face Recognition"
    return {"seconds": time.perf_counter() - started, "items": rows}


def run_build(db: Path, items: Path, incremental: bool) -> dict:
    started = time.perf_counter()
    counts = database.build(db, items_dir=items, curated_dir=REPO / "data" / "curated",
                            sources_file=REPO / "data" / "sources.yml",
                            aliases_file=items.parent / "aliases.csv", built_at=BUILT_AT,
                            **({"incremental": True} if incremental else {}))
    return {"seconds": time.perf_counter() - started, "counts": counts}


def baseline(source: Path, target: Path) -> dict:
    """The same rows as the built database, into the same tables in one transaction with bare
    executemany, then the same full-text indexes: the least any build of these rows can cost."""
    target.unlink(missing_ok=True)
    reader = sqlite3.connect(source)
    db = sqlite_utils.Database(target)
    create_tables(db)
    started = time.perf_counter()
    conn = db.conn
    rows = 0
    with conn:
        for table, types in TYPES.items():
            columns = ", ".join(f"[{c}]" for c in types)
            insert = f"insert into [{table}] ({columns}) values ({', '.join('?' * len(types))})"
            cursor = reader.execute(f"select {columns} from [{table}]")
            while batch := cursor.fetchmany(BATCH):
                conn.executemany(insert, batch)
                rows += len(batch)
    for table, columns in FTS_COLUMNS.items():
        db[table].enable_fts(columns, tokenize="porter", create_triggers=False)
    db.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("csvloop").add_argument("file", type=Path)
    build_parser = commands.add_parser("build")
    build_parser.add_argument("db", type=Path)
    build_parser.add_argument("items", type=Path)
    build_parser.add_argument("--incremental", action="store_true")
    baseline_parser = commands.add_parser("baseline")
    baseline_parser.add_argument("source", type=Path)
    baseline_parser.add_argument("db", type=Path)
    args = parser.parse_args()
    if args.command == "csvloop":
        result = csv_loop(args.file)
    elif args.command == "build":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # into the step's log
        result = run_build(args.db, args.items, args.incremental)
    else:
        result = baseline(args.source, args.db)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
