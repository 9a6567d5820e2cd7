"""Distributed runs under scrapy-redis, with a real redis-server on loopback.

Two workers share a source's run (the AIID's: its capture takes more than one request): no request
is fetched twice, and the snapshot is byte for byte that of a single-process run. A failing source
fails the shared run and keeps its rows; a worker started with `join` for an open run counts as
one of its workers.

redis-server comes from the Debian package (`make test` installs it when run as root). Where it
is missing these tests skip, saying so, except with CI=true, where they fail.
"""

import os
import shutil
import threading
from collections import Counter

import pytest
import redis
from conftest import CAPTURES, REPO, RUN_DATE, crawl

from nightly.loopback import CaptureServer
from nightly.night import Night
from nightly.plan import CAPTURES as CAPTURE_PATHS
from nightly.plan import Step
from nightly.redisserver import RedisServer, find
from nightly.workers import finish, join, open_run, run_distributed
from pipelines.snapshot.runlog import read_runs

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


@pytest.fixture(scope="module")
def redis_url():
    if not find():
        message = "redis-server is not installed (apt-get install redis-server; make test does it as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": with CI=true these tests must run")
        pytest.skip(message)
    with RedisServer() as url:
        yield url


def night_in(tmp_path) -> Night:
    return Night(items=tmp_path / "items", runs=tmp_path / "runs", db=tmp_path / "evidence.db",
                 archive=tmp_path / "archive", cache=tmp_path / "httpcache", logs=tmp_path / "logs",
                 summary=tmp_path / "summary.md", settings=FAST, run_date=RUN_DATE)


def steps(server, *spiders: str) -> list[Step]:
    return [Step(spider, {"start_url": server.url(CAPTURE_PATHS[spider])}) for spider in spiders]


@pytest.fixture(scope="module")
def both(redis_url, tmp_path_factory):
    """The AIID capture (three requests: robots.txt aside, its incidents and its duplicates) crawled
    by one process, then by two workers sharing one run."""
    single, distributed = tmp_path_factory.mktemp("single"), tmp_path_factory.mktemp("distributed")
    with CaptureServer(CAPTURES) as server:
        for step in steps(server, "aiid"):
            code, _, log = crawl(step.spider, single / "items", f"start_url={step.arguments['start_url']}",
                                 settings=FAST)
            assert code == 0, log
        before = len(server.requests())
        runs = run_distributed(steps(server, "aiid"), 2, redis_url, night_in(distributed))
        requests = server.requests()[before:]
    return {"single": single, "distributed": distributed, "runs": runs, "requests": requests}


def test_two_workers_give_the_snapshots_of_one_process(both):
    single = (both["single"] / "items" / "aiid.jsonl").read_bytes()
    assert (both["distributed"] / "items" / "aiid.jsonl").read_bytes() == single
    assert [(r["spider"], r["status"], r["workers"], r["items"]) for r in both["runs"]] == [
        ("aiid", "ok", 2, 68)]


def test_no_request_is_fetched_twice(both):
    fetched = Counter((r.method, r.path) for r in both["requests"] if r.path != "/robots.txt")
    assert fetched == {("GET", "/aiid/duplicates.csv"): 1, ("GET", "/aiid/incidents.csv"): 1}
    robots = sum(1 for r in both["requests"] if r.path == "/robots.txt")
    assert 1 <= robots <= 2  # each worker that downloads reads robots.txt once


def test_the_run_log_has_one_line_per_run_with_its_workers(both):
    runs = read_runs(both["distributed"] / "runs")
    assert [(r["spider"], r["workers"], r["mode"], r["snapshot"]) for r in runs] == [
        ("aiid", 2, "full", "replaced")]
    # Times are to the second: a small run can start and finish within one.
    assert all(r["started"] <= r["finished"] and r["duration_s"] >= 0 for r in runs)


def test_a_failing_source_fails_the_shared_run_and_keeps_its_rows(redis_url, tmp_path):
    (tmp_path / "items").mkdir()
    shutil.copy(REPO / "data" / "items" / "atlas.jsonl", tmp_path / "items")  # the last good snapshot
    before = (tmp_path / "items" / "atlas.jsonl").read_bytes()
    with CaptureServer(CAPTURES) as server:
        server.fail("atlas/download.csv", 500)
        [run] = run_distributed(steps(server, "atlas"), 2, redis_url, night_in(tmp_path))
    assert run["status"] == "failed" and run["snapshot"] == "kept" and run["workers"] == 2
    assert run["error"].startswith(f"HTTP 500 from {server.url('atlas/download.csv')}")
    assert (tmp_path / "items" / "atlas.jsonl").read_bytes() == before


def test_workers_that_join_an_open_run_are_counted(redis_url, tmp_path):
    night = night_in(tmp_path)
    with CaptureServer(CAPTURES) as server:
        [step] = steps(server, "atlas")
        client = redis.Redis.from_url(redis_url)
        assert join(step.spider, redis_url, night) == 1  # no run is open yet
        open_run(client, step, "atlas-20261121T000000Z")
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(join(step.spider, redis_url, night)))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run = finish(client, step, night, missing=[])
    assert codes == [0, 0]
    assert (run["run"], run["workers"], run["status"]) == ("atlas-20261121T000000Z", 2, "ok")
    assert run["items"] == 368
    assert not client.exists("frt:atlas:run")
