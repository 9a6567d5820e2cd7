"""Distributed runs: worker processes, on this machine or others, share each spider's run via Redis.

`python -m nightly.workers --workers 2` (make scrape-distributed workers=2) runs every source
this way. For each spider the coordinator opens a run in Redis (frt:<spider>:run holds its id
and spider arguments; the queue, duplicate filter, records and stats of any earlier run are
cleared), starts the local workers (`scrapy crawl <spider>` with FRT_REDIS_URL: see
scrapers/distributed.py), waits until they and every worker that joined from another machine
have handed over, and finishes the run once, as a single process would (scrapers/runs.py): the
workers' stats merged, their records committed only if the monitors pass.

On another machine with the same checkout, `python -m nightly.workers --join atlas --redis-url
redis://coordinator:6379/0` starts a worker for the run that is open. Without --redis-url (or
FRT_REDIS_URL) the coordinator starts a private redis-server on a free loopback port. With
--captures the workers read the bundled captures through the loopback server, in a work folder.
"""

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime

import redis
from scrapy.crawler import Crawler
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from nightly.loopback import CRAWL_SETTINGS, CaptureServer
from nightly.night import REPO, Night, crawl_command, crawl_env
from nightly.plan import SOURCES, Step, plan
from nightly.redisserver import RedisServer
from pipelines.snapshot.store import Snapshot
from scrapers.distributed import handed_over, key, worker_id
from scrapers.runs import finish_run, snapshot_arguments

RUN_PARTS = ("run", "requests", "dupefilter", "records", "stats", "workers")
JOIN_WAIT = 30 * 60  # how long the coordinator waits for workers of other machines
logger = logging.getLogger(__name__)


def open_run(server: redis.Redis, step: Step, run_id: str) -> None:
    server.delete(*(key(step.spider, part) for part in RUN_PARTS))
    for stale in server.scan_iter(key(step.spider, "busy:*")):
        server.delete(stale)
    server.hset(key(step.spider, "run"), mapping={"id": run_id, "arguments": json.dumps(step.arguments)})


def worker_settings(redis_url: str, run_id: str, worker: str, settings: dict) -> dict:
    return {**settings, "FRT_REDIS_URL": redis_url, "FRT_RUN_ID": run_id, "FRT_WORKER_ID": worker}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def merge_stats(all_stats: list[dict]) -> dict:
    """One run's stats from its workers': counts added, the earliest start, the latest finish,
    a finish reason other than "finished" if any worker had one, other values from the first."""
    merged: dict = {}
    for stats in all_stats:
        for name, value in stats.items():
            if name in ("start_time", "finish_time"):
                value, pick = _time(value), min if name == "start_time" else max
                merged[name] = pick(merged[name], value) if name in merged else value
            elif name == "finish_reason":
                merged[name] = value if merged.get(name, "finished") == "finished" else merged[name]
            elif isinstance(value, int | float) and not isinstance(value, bool):
                before = merged.get(name)
                merged[name] = value + (before if isinstance(before, int | float) else 0)
            else:
                merged.setdefault(name, value)
    return merged


def wait_for_workers(server: redis.Redis, spider: str, deadline: float) -> list[str]:
    """Wait until no registered worker is left; return those still registered at the deadline."""
    while time.monotonic() < deadline:
        if not server.scard(key(spider, "workers")):
            return []
        time.sleep(0.5)
    return sorted(w.decode() for w in server.smembers(key(spider, "workers")))


def finish(server: redis.Redis, step: Step, night: Night, missing: list[str]) -> dict:
    """Merge what the workers handed over and finish the run once."""
    all_stats = [json.loads(s) for s in server.lrange(key(step.spider, "stats"), 0, -1)]
    stats = merge_stats(all_stats)
    if missing or not all_stats:
        stats["finish_reason"] = "worker_lost"
        lost = ", ".join(missing) or "all"
        stats["frt/source_error_message"] = f"workers that joined but never handed over: {lost}"
    settings = get_project_settings()
    settings.setdict({**night.settings, "FRT_ITEMS_DIR": str(night.items), "FRT_RUNS_DIR": str(night.runs),
                      "FRT_RUN_DATE": night.run_date}, priority="cmdline")
    crawler = Crawler(get_spider_loader(settings).load(step.spider), settings)
    snapshot = Snapshot(**snapshot_arguments(crawler, stats.get("frt/run/mode", "full")))
    for position, record in handed_over(server, step.spider):
        snapshot.add(record, position)
    run = finish_run(crawler, stats, snapshot, workers=len(all_stats))
    server.delete(*(key(step.spider, part) for part in RUN_PARTS))
    return run


def run_distributed(steps: list[Step], workers: int, redis_url: str, night: Night) -> list[dict]:
    """Run each step with `workers` local worker processes sharing one run; return the runs."""
    server = redis.Redis.from_url(redis_url)
    runs = []
    night.logs.mkdir(parents=True, exist_ok=True)
    for step in steps:
        run_id = f"{step.spider}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        open_run(server, step, run_id)
        processes = {}
        for n in range(workers):
            worker = f"{worker_id()}-{n}"
            log = (night.logs / f"{step.spider}-{n}.log").open("w", encoding="utf-8")
            command = crawl_command(step, worker_settings(redis_url, run_id, worker, night.settings))
            processes[worker] = (subprocess.Popen(command, cwd=REPO, env=crawl_env(night), stdout=log,
                                                  stderr=subprocess.STDOUT), log)
        for process, log in processes.values():
            process.wait()
            log.close()
        # a local worker still registered has exited without handing over
        dead = [w for w in processes if server.srem(key(step.spider, "workers"), w)]
        missing = dead + wait_for_workers(server, step.spider, time.monotonic() + JOIN_WAIT)
        runs.append(finish(server, step, night, missing))
    return runs


def join(spider: str, redis_url: str, night: Night) -> int:
    """Start one worker here for the open run of `spider`; return its exit status."""
    server = redis.Redis.from_url(redis_url)
    run = server.hgetall(key(spider, "run"))
    if not run:
        logger.error("no run of %s is open on %s", spider, redis_url)
        return 1
    step = Step(spider, json.loads(run[b"arguments"]))
    settings = worker_settings(redis_url, run[b"id"].decode(), worker_id(), night.settings)
    return subprocess.run(crawl_command(step, settings), cwd=REPO, env=crawl_env(night)).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spiders", nargs="*", default=list(SOURCES))
    parser.add_argument("--workers", type=int, default=2, help="local worker processes per spider")
    parser.add_argument("--redis-url", default=None, help="default: FRT_REDIS_URL, else a private server")
    parser.add_argument("--join", metavar="SPIDER", help="start one worker for the open run of SPIDER")
    parser.add_argument("--captures", action="store_true",
                        help="over the bundled captures through loopback, in build/distributed-captures/")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    work = REPO / "build" / ("distributed-captures" if args.captures else "distributed")
    data = work / "data" if args.captures else REPO / "data"
    if args.captures and not (data / "items").exists():
        shutil.copytree(REPO / "data" / "items", data / "items")
    night = Night(items=data / "items", runs=data / "runs", db=data / "evidence.db",
                  archive=work / "archive" if args.captures else REPO / "archive",
                  cache=work / "httpcache" if args.captures else REPO / ".scrapy" / "httpcache",
                  logs=work / "logs", summary=work / "summary.md",
                  settings=CRAWL_SETTINGS if args.captures else {})
    url = args.redis_url or os.environ.get("FRT_REDIS_URL")
    if args.join:
        return join(args.join, url, night) if url else parser.error("--join needs --redis-url")
    with ExitStack() as stack:
        url = url or stack.enter_context(RedisServer())
        server = stack.enter_context(CaptureServer(REPO / "data" / "captures")) if args.captures else None
        steps = plan(args.spiders, night.items, night.runs, date.today(), url_for=server and server.url)
        runs = run_distributed(steps, args.workers, url, night)
    for run in runs:
        print(f"{run['spider']}: {run['status']} with {run['workers']} workers, {run['items']} items, "
              f"{run['new']} new, {run['changed']} changed, {run['gone']} gone {run['error'] or ''}")
    return 1 if any(run["status"] == "failed" for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
