"""A row's content hash pins its facts: builds whose snapshots differ only in what a crawl rewrites
(first_seen, last_seen, listed) give every event row the same hash; a changed fact changes it."""

import shutil
import sqlite3

import orjson
import pytest
from conftest import REPO

from pipelines.build import build
from pipelines.vocab import EVENT_TABLES
from publish.cite import content_hash

BUILT_AT = "2026-12-08T00:00:00Z"


def copy_items(target, rewrite=None):
    """The repository's snapshots and run log under target/, each record rewritten by `rewrite`."""
    items = target / "items"
    items.mkdir(parents=True)
    shutil.copytree(REPO / "data" / "runs", target / "runs")
    for path in sorted((REPO / "data" / "items").glob("*.jsonl")):
        records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        lines = [orjson.dumps(rewrite(n, r) if rewrite else r, option=orjson.OPT_SORT_KEYS)
                 for n, r in enumerate(records)]
        (items / path.name).write_bytes(b"\n".join(lines) + b"\n")
    return items


def crawled_again(number: int, record: dict) -> dict:
    """What later crawls do to a record: seen first on another day, one in three no longer listed."""
    gone = number % 3 == 0
    return {**record, "first_seen": "2026-10-01", "listed": not gone,
            "last_seen": "2026-12-07" if gone else None}


def hashes(db_path) -> dict[str, str]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    with conn:
        return {row["id"]: content_hash(dict(row)) for table in EVENT_TABLES
                for row in conn.execute(f"select * from [{table}]")}


def bookkeeping(db_path) -> set[tuple]:
    with sqlite3.connect(db_path) as conn:
        return {row for table in EVENT_TABLES
                for row in conn.execute(f"select id, first_seen, last_seen, listed from [{table}]")}


@pytest.mark.parametrize("registered", [True, False], ids=["published-ids", "no-registry"])
def test_builds_differing_only_in_bookkeeping_give_every_row_the_same_hash(tmp_path, registered):
    published = REPO / "data" / "published_ids.txt" if registered else None
    rewrite = crawled_again if registered else (  # without the registry, first_seen decides ages
        lambda number, record: {**crawled_again(number, record), "first_seen": record.get("first_seen")})
    built = {}
    for name, change in (("before", None), ("after", rewrite)):
        built[name] = tmp_path / f"{name}.db"
        build(built[name], items_dir=copy_items(tmp_path / name, change), published_file=published,
              built_at=BUILT_AT)
    before, after = hashes(built["before"]), hashes(built["after"])
    assert len(before) > 100 and before == after
    assert bookkeeping(built["before"]) != bookkeeping(built["after"])  # what the crawls did shows


def test_a_changed_fact_changes_the_rows_hash(tmp_path):
    def retitled(number, record):  # the Atlas's first row, which no curated row overrides
        return {**record, "title": record["title"] + "."} if record["id"] == "dep-atlas-aos0137" else record
    build(tmp_path / "a.db", items_dir=copy_items(tmp_path / "a"), built_at=BUILT_AT)
    build(tmp_path / "b.db", items_dir=copy_items(tmp_path / "b", retitled), built_at=BUILT_AT)
    before, after = hashes(tmp_path / "a.db"), hashes(tmp_path / "b.db")
    assert sorted(row_id for row_id in before if before[row_id] != after[row_id]) == ["dep-atlas-aos0137"]
