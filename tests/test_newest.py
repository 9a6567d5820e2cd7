"""Newest evidence is what entered the evidence base last: each event row's `added` is the day its
id was first published (data/published_ids.txt) or the build's day for an id not registered yet;
new_evidence and the home page order by it, then by the event's date; it is bookkeeping, so a
build on another day gives every row the same content hash."""

import sqlite3

import pytest
from conftest import RELEASE, REPO
from scrapy.selector import Selector

from pipelines.build import build
from pipelines.ledgers.published import read_registry
from pipelines.vocab import EVENT_TABLES
from publish.cite import content_hash

REGISTRY = {row_id: day for row_id, (_, day) in read_registry(REPO / "data" / "published_ids.txt").items()}


def rows_of(db_path) -> dict[str, dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    with conn:
        rows = {row["id"]: dict(row) for table in EVENT_TABLES
                for row in conn.execute(f"select * from [{table}]")}
    conn.close()
    return rows


@pytest.fixture(scope="module")
def demo_rows(demo_db):
    return rows_of(demo_db)


def test_each_row_is_added_on_its_registry_day_or_the_builds(demo_rows):
    build_day = RELEASE[:10]
    for row_id, row in demo_rows.items():
        assert row["added"] == REGISTRY.get(row_id, build_day), row_id
    days = {row["added"] for row in demo_rows.values()}
    assert {"2026-11-21", "2026-12-08"} <= days  # the registry's first day and a later one


def test_new_evidence_lists_the_latest_registrations_first_then_by_date(demo_site, demo_rows):
    response = demo_site.get("/evidence/new_evidence.json?_shape=objects")
    assert response.status_code == 200
    listed = response.json()["rows"]
    assert len(listed) == 100
    latest = max(REGISTRY[row_id] for row_id in demo_rows if row_id in REGISTRY)
    assert listed[0]["added"] == latest == "2026-12-08"  # the day of the latest registrations
    assert [(r["added"], r["date"] or "") for r in listed] == sorted(
        ((r["added"], r["date"] or "") for r in listed), reverse=True)
    for row in listed:
        assert row["added"] == demo_rows[row["id"]]["added"]
    events_of_2025 = [r for r in listed[:20] if (r["date"] or "").startswith("2025")]
    assert events_of_2025  # curated rows of 2025, registered lately, are among the newest


def test_home_page_shows_the_queries_newest_rows_and_says_what_the_order_means(demo_site):
    listed = demo_site.get("/evidence/new_evidence.json?_shape=objects").json()["rows"]
    page = Selector(text=demo_site.get("/").text)
    panel = page.xpath("//section[h2='Newest evidence']")
    links = panel.css("ol.row-list li a::attr(href)").getall()
    assert links == [f"/evidence/{r['event_table']}/{r['id']}" for r in listed[:8]]
    note = " ".join(" ".join(panel.css("p.note ::text").getall()).split())
    assert "first published" in note and "date of its event" in note
    assert f"added {listed[0]['added']}" in " ".join(panel.css("li .meta-line::text").getall())


def test_a_build_on_another_day_keeps_every_hash_and_every_registered_day(tmp_path, demo_rows):
    later = tmp_path / "later.db"
    build(later, items_dir=REPO / "data" / "items", curated_dir=REPO / "data" / "curated",
          built_at="2027-01-15T08:00:00Z")
    later_rows = rows_of(later)
    assert later_rows.keys() == demo_rows.keys()
    for row_id, row in later_rows.items():
        assert content_hash(row) == content_hash(demo_rows[row_id]), row_id
        assert row["added"] == REGISTRY.get(row_id, "2027-01-15"), row_id
        if row_id in REGISTRY:
            assert row["added"] == demo_rows[row_id]["added"]
