"""Incremental fetching over loopback: conditional requests, 304s, WARC evidence, AIID's `since`.

An unchanged source costs a "304 Not Modified" per request and is archived as a revisit record;
a changed one is fetched whole and its change logged field by field; the AIID is asked only for
incidents newer than the highest its snapshot holds.
"""

import hashlib
import json
import shutil
import zipfile
from datetime import date

import pytest
from conftest import CAPTURES, FIXTURES, REPO, crawl
from warcio.archiveiterator import ArchiveIterator

from nightly.loopback import CaptureServer
from nightly.plan import aiid_since, live_step
from pipelines.archive.warc import cdxj_lines, package_wacz, payload_digest
from pipelines.snapshot.runlog import append_run, read_changes, read_runs
from pipelines.snapshot.store import read_snapshot

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}
CSV = CAPTURES / "atlas" / "download.csv"


@pytest.fixture(scope="module")
def atlas_twice(tmp_path_factory):
    """The Atlas capture crawled over loopback, then crawled again from a copy of that first crawl
    twice: once unchanged, once after a test edit of the CSV. For each second crawl: its items
    folder, the two runs of its run log and the requests it made."""
    root = tmp_path_factory.mktemp("incremental")
    changed = root / "download.csv"
    changed.write_text(CSV.read_text().replace("hired DataWorks Plus in 2017",
                                               "hired DataWorks Plus in 2017 (a test edit)"))
    first = root / "first" / "items"
    nights = {}
    with CaptureServer(CAPTURES) as server:
        url = f"start_url={server.url('atlas/download.csv')}"
        assert crawl("atlas", first, url, settings=FAST)[0] == 0
        for name in ("unchanged", "changed"):
            items = shutil.copytree(first, root / name / "items")
            if name == "changed":
                server.replace("atlas/download.csv", changed)
            before = len(server.requests())
            assert crawl("atlas", items, url, settings=FAST)[0] == 0
            nights[name] = items, read_runs(items / "runs", "atlas"), server.requests()[before:]
    return nights


@pytest.fixture
def unchanged(atlas_twice):
    return atlas_twice["unchanged"]


def records(warc_path):
    with open(warc_path, "rb") as handle:
        return [(r.rec_type, r.rec_headers, r.content_stream().read()) for r in ArchiveIterator(handle)]


def test_an_unchanged_source_costs_only_304s(unchanged):
    items, (first, second), requests = unchanged
    assert first["http_status"] == {"200": 2} and first["conditional"] == 0
    assert second["http_status"] == {"304": 2} and second["requests"] == second["conditional"] == 2
    assert [(r.path, r.status, r.conditional) for r in requests] == [
        ("/robots.txt", 304, True), ("/atlas/download.csv", 304, True)]
    assert second["status"] == "ok" and (second["items"], second["changed"]) == (368, 0)
    assert [c for c in read_changes(items / "runs") if c["run"] == second["run"]] == []


def test_the_answers_are_kept_in_warc_files(unchanged):
    items, (first, second), _ = unchanged
    body = CSV.read_bytes()
    [name] = first["archives"]
    responses = [(h, payload) for kind, h, payload in records(items / "archive" / name) if kind == "response"]
    csv = next((h, p) for h, p in responses if h.get_header("WARC-Target-URI").endswith("/download.csv"))
    assert csv[1] == body
    revisits = [h for kind, h, _ in records(items / "archive" / second["archives"][0]) if kind == "revisit"]
    revisit = next(h for h in revisits if h.get_header("WARC-Target-URI").endswith("/download.csv"))
    assert revisit.get_header("WARC-Profile").endswith("/revisit/server-not-modified")
    assert revisit.get_header("WARC-Payload-Digest") == payload_digest(body)


def test_a_night_is_packaged_as_a_wacz(unchanged, tmp_path):
    items, runs, _ = unchanged
    warcs = [items / "archive" / run["archives"][0] for run in runs]
    wacz = package_wacz(warcs, tmp_path / "night.wacz", title="test night")
    with zipfile.ZipFile(wacz) as archive:
        package = json.loads(archive.read("datapackage.json"))
        for resource in package["resources"]:
            data = archive.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
        assert archive.getinfo(f"archive/{warcs[0].name}").compress_type == zipfile.ZIP_STORED
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").splitlines()]
    assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
    assert pages[0]["format"] == "json-pages-1.0"
    assert {p["url"].rsplit("/", 1)[-1] for p in pages[1:]} == {"robots.txt", "download.csv"}
    index = [line for warc in warcs for line in cdxj_lines(warc, warc.name)]
    statuses = sorted(json.loads(line.split(" ", 2)[2])["status"] for line in index)
    assert statuses == ["200", "200", "304", "304"]


def test_a_changed_source_is_fetched_again_and_its_change_logged(atlas_twice):
    items, (first, second), requests = atlas_twice["changed"]
    assert [(r.path, r.status) for r in requests] == [("/robots.txt", 304), ("/atlas/download.csv", 200)]
    assert (second["changed"], second["unchanged"]) == (1, 367)
    [change] = [c for c in read_changes(items / "runs") if c["run"] == second["run"]]
    assert change["id"] == "dep-atlas-aos0137" and change["change"] == "changed"
    assert list(change["diff"]) == ["summary"] and "(a test edit)" in change["diff"]["summary"][1]


def test_aiid_since_is_the_highest_incident_of_the_snapshot(tmp_path):
    assert aiid_since(REPO / "data" / "items") == 896
    assert aiid_since(tmp_path) == 0


def test_the_aiid_is_read_whole_weekly_and_incrementally_between(tmp_path):
    items, runs = REPO / "data" / "items", tmp_path / "runs"
    assert live_step("aiid", items, runs, date(2026, 11, 21)).arguments == {}
    append_run(runs, {"run": "aiid-20261119T020000Z", "spider": "aiid", "status": "ok", "mode": "full",
                      "started": "2026-11-19T02:00:00Z", "items": 18})
    incremental = live_step("aiid", items, runs, date(2026, 11, 21))
    assert incremental.arguments == {"route": "graphql", "since": "896"}
    assert live_step("aiid", items, runs, date(2026, 11, 26)).arguments == {}
    assert live_step("atlas", items, runs, date(2026, 11, 21)).arguments == {}


def test_the_graphql_route_asks_only_for_newer_incidents(tmp_path):
    items = tmp_path / "items"
    items.mkdir()
    (items / "aiid.jsonl").write_bytes((REPO / "data" / "items" / "aiid.jsonl").read_bytes())
    before = read_snapshot(items / "aiid.jsonl")
    pages = {0: FIXTURES / "aiid_graphql_page_full.json", 50: FIXTURES / "aiid_graphql_page_last.json"}
    asked = []

    def answer(query, body):
        variables = json.loads(body)["variables"]
        asked.append(variables)
        return 200, "application/json", pages[variables["skip"]].read_bytes()

    with CaptureServer(FIXTURES) as server:
        server.answer("api/graphql", answer)
        # the synthetic incidents name no place, so no country: judge the other fields only
        rules = json.dumps({"Event/title": 1.0, "Event/date": 0.95, "Event/documents": 1.0})
        code, _, log = crawl("aiid", items, "route=graphql", f"since={aiid_since(items)}",
                             f"graphql_url={server.url('api/graphql')}",
                             settings={**FAST, "SPIDERMON_FIELD_COVERAGE_RULES": rules})
    assert code == 0, log
    assert asked == [{"since": 896, "skip": 0, "limit": 50}, {"since": 896, "skip": 50, "limit": 50}]
    run = read_runs(items / "runs", "aiid")[-1]
    assert run["mode"] == "incremental" and run["status"] == "ok" and run["gone"] == 0
    after = read_snapshot(items / "aiid.jsonl")
    assert set(before) < set(after) and all(after[i]["listed"] for i in before if before[i]["listed"])
    assert len(after) - len(before) == run["new"] > 0
