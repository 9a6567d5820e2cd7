"""Each monitor of a run, tripped by a fixture through the real engine; a tripped run keeps the snapshot.

A run's line in runs/<spider>.jsonl must say what failed, in words a maintainer reads; the
snapshot must stay byte for byte as it was; a good run logs its changes.
"""

import json
import shutil
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from conftest import CAPTURES, FIXTURES, crawl

from nightly.loopback import CaptureServer
from pipelines.snapshot.runlog import append_run, read_changes, read_runs
from scrapers.runs import run_id

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def atlas(items, path, **settings):
    return crawl("atlas", items, f"start_url={path if isinstance(path, str) else path.as_uri()}",
                 settings={**FAST, **settings})


def last_run(items, spider="atlas"):
    return read_runs(items / "runs", spider)[-1]


@pytest.fixture(scope="module")
def good_crawl(tmp_path_factory):
    """A good run of the demo capture (368 deployments), crawled once per module."""
    items = tmp_path_factory.mktemp("good") / "items"
    code, _, log = atlas(items, CAPTURES / "atlas" / "download.csv")
    assert code == 0 and last_run(items)["status"] == "ok", log
    return items


@pytest.fixture
def seeded(good_crawl, tmp_path):
    """This test's copy of the good run's folder (snapshot, run log, archive, cache), and the
    snapshot's bytes."""
    items = shutil.copytree(good_crawl, tmp_path / "items")
    return items, (items / "atlas.jsonl").read_bytes()


def test_a_good_run_is_logged_with_its_changes(seeded):
    items, _ = seeded
    run = last_run(items)
    assert run["status"] == "ok" and run["snapshot"] == "replaced" and run["mode"] == "full"
    assert (run["items"], run["new"], run["changed"], run["gone"], run["dropped"]) == (368, 368, 0, 0, 0)
    assert run["finish_reason"] == "finished" and run["error"] is None
    assert run["run"].startswith("atlas-") and run["started"] <= run["finished"]
    changes = list(read_changes(items / "runs"))
    assert len(changes) == 368 and {c["change"] for c in changes} == {"added"}
    assert changes[0] == {"run": run["run"], "id": "dep-atlas-aos0137", "table": "deployments",
                          "change": "added", "diff": None}


def test_finished_cleanly_trips_on_an_html_page(seeded):
    items, before = seeded
    atlas(items, FIXTURES / "atlas_error_page.html")
    run = last_run(items)
    assert run["status"] == "failed" and run["snapshot"] == "kept" and run["finish_reason"] == "not_csv"
    assert "is not the Atlas CSV (starts '<!DOCTYPE html>" in run["error"]
    assert (items / "atlas.jsonl").read_bytes() == before


def test_source_answered_trips_on_http_500(seeded):
    items, before = seeded
    with CaptureServer(CAPTURES) as server:
        server.fail("atlas/download.csv", 500)
        atlas(items, server.url("atlas/download.csv"))
    run = last_run(items)
    assert run["status"] == "failed" and run["snapshot"] == "kept"
    assert run["error"] == (f"HTTP 500 from {server.url('atlas/download.csv')}; "
                            "1 request(s) given up after retries")
    assert run["http_status"] == {"200": 1, "500": 1}  # robots.txt, then the CSV: a 500 is not retried
    assert run["requests"] == 2
    assert (items / "atlas.jsonl").read_bytes() == before


def test_item_count_trips_on_a_collapse_against_the_last_good_run(seeded):
    items, before = seeded
    atlas(items, FIXTURES / "atlas_synthetic.csv")
    run = last_run(items)
    assert run["status"] == "failed" and run["items"] == 2
    assert run["error"] == "only 2 items against 368 in the last good run (below 50%)"
    assert (items / "atlas.jsonl").read_bytes() == before
    rejected = (items / "atlas.rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in rejected] == ["dep-atlas-aos9001", "dep-atlas-aos9002"]


def test_validation_errors_trip_when_many_items_are_refused(tmp_path):
    items = tmp_path / "items"
    atlas(items, FIXTURES / "atlas_many_refused.csv")
    run = last_run(items)
    assert run["status"] == "failed" and run["dropped"] == 6
    assert run["dropped_reasons"] == {"source_id": 6}
    assert run["error"] == "6 of 24 items refused (25%, limit 10%): source_id 6"
    assert not (items / "atlas.jsonl").exists()


def test_a_few_refused_items_make_a_partial_run(tmp_path):
    items = tmp_path / "items"
    atlas(items, FIXTURES / "atlas_many_refused.csv", FRT_MAX_DROPPED_SHARE=0.3)
    run = last_run(items)
    assert run["status"] == "partial" and run["snapshot"] == "replaced" and run["items"] == 18


def test_field_coverage_trips_when_a_required_field_is_empty(tmp_path):
    items = tmp_path / "items"
    atlas(items, FIXTURES / "atlas_no_states.csv")
    run = last_run(items)
    assert run["status"] == "failed" and run["items"] == 24
    assert "Event/region (expected 0.95, got 0.0" in run["error"]
    assert not (items / "atlas.jsonl").exists()


def test_item_count_is_not_judged_on_an_incremental_run(tmp_path):
    items = tmp_path / "items"
    (items / "runs").mkdir(parents=True)
    (items / "runs" / "aiid.jsonl").write_text(json.dumps(
        {"run": "aiid-20260101T000000Z", "spider": "aiid", "status": "ok", "mode": "full",
         "items": 400, "started": "2026-01-01T00:00:00Z"}) + "\n")
    pages = iter([FIXTURES / "aiid_graphql_page_last.json"])
    with CaptureServer(FIXTURES) as server:
        server.answer("api/graphql", lambda query, body: (200, "application/json", next(pages).read_bytes()))
        code, _, log = crawl("aiid", items, "route=graphql", "since=9000",
                             f"graphql_url={server.url('api/graphql')}", settings=FAST)
    run = last_run(items, "aiid")
    assert run["mode"] == "incremental" and run["status"] == "ok", log
    assert run["items"] == 3 and run["new"] == 3


class Stats(dict):
    def get_value(self, key):
        return self.get(key)

    def set_value(self, key, value):
        self[key] = value


def test_a_run_started_in_the_second_of_a_logged_run_gets_its_own_id(tmp_path):
    """The id names the run's WARC file and its changes: two runs in one second must not share it."""
    start = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)

    def new_run():
        return SimpleNamespace(stats=Stats(start_time=start), settings={"FRT_RUNS_DIR": str(tmp_path)},
                               spidercls=SimpleNamespace(name="atlas"))

    ids = []
    for _ in range(3):
        ids.append(run_id(new_run()))
        append_run(tmp_path, {"run": ids[-1], "spider": "atlas", "status": "ok",
                              "started": start.isoformat()})
    assert ids == ["atlas-20261122T010203Z", "atlas-20261122T010203Z-2", "atlas-20261122T010203Z-3"]
