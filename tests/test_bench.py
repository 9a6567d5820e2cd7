"""The benchmark's generated data: shaped like the real sources, obviously synthetic, and read by
the real spider and pipelines; and its check that two databases hold the same rows."""

import csv
import shutil
import sqlite3

import pytest
from conftest import REPO, file_response, make_spider

from bench.generate import ATLAS_HEADER, change_rows, write_atlas_csv, write_news_snapshot
from bench.profile import load_profile
from bench.run import edit_records, same_database
from pipelines.build import build
from pipelines.store import read_snapshot
from scrapers.spiders.atlas import AtlasSpider


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def test_the_profile_is_measured_from_real_rows(profile):
    summary = profile.summary()
    assert summary["atlas_rows_measured"] >= 15 and summary["aiid_incidents_measured"] >= 15
    assert 10 <= summary["median_summary_words"] <= 60
    assert 0 < summary["url_reuse"] < 1
    assert "en" in summary["languages"]
    assert "Idemia" in profile.vendors.values or "DataWorks Plus" in profile.vendors.values


def test_generated_atlas_rows_are_synthetic_and_parse(tmp_path, profile):
    path = write_atlas_csv(tmp_path / "download.csv", 300, profile)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ATLAS_HEADER and len(rows) == 300
    assert all(r["Agency"].startswith("Example ") and r["Summary"].startswith("Synthetic benchmark row")
               for r in rows)
    assert all(r[f"Link {n}"].startswith("https://example.org/") for r in rows for n in (1, 2, 3)
               if r[f"Link {n}"])
    items = list(make_spider(AtlasSpider).parse(file_response(path)))
    assert len(items) == 300 and items[0].source_id == "AOS0000000"
    assert write_atlas_csv(tmp_path / "again.csv", 300, profile).read_bytes() == path.read_bytes()
    assert change_rows(path, tmp_path / "night.csv", 0.1) in range(15, 50)


def test_a_night_with_one_record_in_a_hundred_changed(tmp_path, profile):
    items = tmp_path / "items"
    write_news_snapshot(items, 300, profile, "2026-01-01")
    records = read_snapshot(items / "aiid.jsonl")
    assert len(records) == 300 and all(r["title"].startswith("Synthetic incident") for r in records.values())
    night = tmp_path / "night"
    night.mkdir()
    assert edit_records(items / "aiid.jsonl", night / "aiid.jsonl", 0.01) == 3
    edited = read_snapshot(night / "aiid.jsonl")
    assert sum(edited[i] != records[i] for i in records) == 3


def test_same_database_tells_a_changed_row(tmp_path):
    first = tmp_path / "a.db"
    shutil.copytree(REPO / "data" / "items", tmp_path / "items")
    build(first, items_dir=tmp_path / "items", built_at="2026-01-01T00:00:00Z")
    second = tmp_path / "b.db"
    shutil.copy(first, second)
    assert same_database(first, second)
    with sqlite3.connect(second) as conn:
        conn.execute("update legal_actions set title = 'Synthetic change' "
                     "where rowid = (select min(rowid) from legal_actions)")
    assert not same_database(first, second)
