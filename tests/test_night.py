"""A test night over loopback: three sources, two of them broken on the second night.

Night 1 runs every source healthy. On night 2 the AIID serves an HTML error page instead of its
CSV, the second source (the Atlas spider on a synthetic capture) renamed a column, and the third
(the AIID spider on a synthetic capture) did not change. The summary must name each problem; the
broken sources keep their rows; the unchanged source costs only conditional requests answered
"304 Not Modified"; the night exits 1. (A source answering HTTP 500, which is not asked again, is
tests/test_monitors.py's test_source_answered_trips_on_http_500; every fault, tests/test_faults.py.)
"""

import shutil
import sqlite3

import pytest
from conftest import CAPTURES, FIXTURES, REPO

from nightly.checks import resolving_ids
from nightly.loopback import CRAWL_SETTINGS, CaptureServer
from nightly.night import Night, run_night
from nightly.plan import Step
from pipelines.snapshot.runlog import read_runs
from pipelines.snapshot.store import read_snapshot
from publish.releases import read_manifest, sha256_of

SOURCES = {"aiid": "aiid/incidents.csv", "example_atlas": "example_atlas/download.csv",
           "example_aiid": "example_aiid/incidents.csv"}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Run both nights once; return what the tests look at."""
    tmp = tmp_path_factory.mktemp("night")
    root = tmp / "captures"
    shutil.copytree(CAPTURES / "aiid", root / "aiid")
    (root / "example_atlas").mkdir()
    shutil.copy(FIXTURES / "atlas_synthetic.csv", root / "example_atlas" / "download.csv")
    (root / "example_aiid").mkdir()
    shutil.copy(FIXTURES / "aiid_synthetic_incidents.csv", root / "example_aiid" / "incidents.csv")
    shutil.copy(FIXTURES / "aiid_synthetic_duplicates.csv", root / "example_aiid" / "duplicates.csv")
    data = tmp / "data"
    shutil.copytree(REPO / "data" / "items", data / "items")
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", str(REPO / "tests"))  # where night_spiders.py is
    settings = {**CRAWL_SETTINGS, "SPIDER_MODULES": "scrapers.spiders,night_spiders"}

    def night(run_date):
        return Night(items=data / "items", runs=data / "runs", db=data / "evidence.db",
                     archive=tmp / "archive", cache=tmp / "httpcache", logs=tmp / "logs" / run_date,
                     summary=tmp / f"summary-{run_date}.md", settings=settings, run_date=run_date,
                     releases=tmp / "releases")

    with CaptureServer(root) as server:
        steps = [Step(spider, {"start_url": server.url(path)}) for spider, path in SOURCES.items()]
        first_code, first = run_night(steps, night("2026-11-21"))
        snapshots = {s: (data / "items" / f"{s}.jsonl").read_bytes() for s in SOURCES}
        first_requests = len(server.requests())
        server.replace("aiid/incidents.csv", FIXTURES / "atlas_error_page.html")
        server.replace("example_atlas/download.csv", FIXTURES / "atlas_renamed_columns.csv")
        second_code, second = run_night(steps, night("2026-11-22"))
        second_night = server.requests()[first_requests:]
    mp.undo()
    runs = {s: read_runs(data / "runs", s) for s in SOURCES}
    return {"first": (first_code, first), "second": (second_code, second), "snapshots": snapshots,
            "data": data, "runs": runs, "requests": second_night, "server": server,
            "releases": tmp / "releases"}


def test_the_first_night_is_healthy(nights):
    code, summary = nights["first"]
    assert code == 0, summary
    assert {s: runs[0]["status"] for s, runs in nights["runs"].items()} == {
        "aiid": "ok", "example_atlas": "partial", "example_aiid": "ok"}
    assert "| example_atlas | partial | 2 | 2 | 0 | 0 | 1 (source_id 1) |" in summary


def test_the_second_night_needs_a_human(nights):
    code, summary = nights["second"]
    assert code == 1
    assert summary.startswith("# Nightly 2026-11-22: needs a human (aiid failed, example_atlas failed, "
                              "example_aiid ok +0 ~0 -0; failed: aiid, example_atlas)")


def test_the_summary_names_each_problem(nights):
    _, summary = nights["second"]
    url = nights["server"].url
    assert (f"- **aiid** (failed): {url('aiid/incidents.csv')} is not CSV but markup "
            "(starts '<!DOCTYPE html>") in summary
    assert (f"- **example_atlas** (failed): {url('example_atlas/download.csv')} lacks columns "
            "['Agency']") in summary
    assert "**example_aiid**" not in summary
    assert "| aiid | FAILED | 0 | - | - | - | 0 |" in summary
    assert "| example_aiid | ok | 3 | 0 | 0 | 0 | 0 |" in summary


def test_the_broken_sources_keep_their_rows(nights):
    data, before = nights["data"], nights["snapshots"]
    for spider in ("aiid", "example_atlas"):
        assert (data / "items" / f"{spider}.jsonl").read_bytes() == before[spider]
        assert nights["runs"][spider][-1]["snapshot"] == "kept"
    published = resolving_ids(data / "evidence.db")  # rows, or aliases of rows merged by the build
    for spider in ("aiid", "example_atlas"):
        ids = set(read_snapshot(data / "items" / f"{spider}.jsonl"))
        assert ids and ids <= published


def test_the_unchanged_source_costs_only_conditional_requests(nights):
    run = nights["runs"]["example_aiid"][-1]
    assert run["status"] == "ok" and (run["new"], run["changed"], run["gone"]) == (0, 0, 0)
    assert run["http_status"] == {"304": 3} and run["requests"] == run["conditional"] == 3
    own = [r for r in nights["requests"] if r.path.startswith("/example_aiid/")]
    assert sorted(r.path for r in own) == ["/example_aiid/duplicates.csv", "/example_aiid/incidents.csv"]
    assert all(r.conditional and r.status == 304 for r in own)


def test_the_database_holds_every_run_and_change(nights):
    with sqlite3.connect(nights["data"] / "evidence.db") as conn:
        runs = conn.execute("select spider, status, snapshot, http_status from runs "
                            "where spider = 'example_aiid' or status = 'failed' order by spider").fetchall()
        changes = dict(conn.execute("select change, count(*) from changes where run like 'example_atlas-%' "
                                    "group by change"))
        total = conn.execute("select count(*) from runs").fetchone()[0]
    assert total == 6
    assert runs == [("aiid", "failed", "kept", '{"200": 1, "304": 2}'),
                    ("example_aiid", "ok", "replaced", '{"200": 3}'),
                    ("example_aiid", "ok", "replaced", '{"304": 3}'),
                    ("example_atlas", "failed", "kept", '{"200": 1, "304": 1}')]
    assert changes == {"added": 2}


def test_each_night_keeps_its_database_as_a_release(nights):
    releases = read_manifest(nights["releases"])
    assert len(releases) == 2 and releases[0]["built_at"] > releases[1]["built_at"]
    for entry, (_, summary) in zip(releases, (nights["second"], nights["first"]), strict=True):
        assert f"release {entry['file']} (SHA-256 {entry['sha256']})" in summary
        assert sha256_of(nights["releases"] / entry["file"]) == entry["sha256"]
    served = (nights["data"] / "evidence.db").read_bytes()
    assert (nights["releases"] / releases[0]["file"]).read_bytes() == served
