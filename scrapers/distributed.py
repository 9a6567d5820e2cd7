"""Distributed runs: the same spiders, with their request queue and duplicate filter in Redis.

With FRT_REDIS_URL set (`-s FRT_REDIS_URL=redis://host:6379/0` or the environment), a crawl is
one worker of the run a coordinator opened (nightly/workers.py). The `Distributed` add-on then
switches in scrapy-redis: its scheduler keeps the requests in Redis, so a worker on any machine
may fetch any of them, and its duplicate filter, shared by all workers, lets no request be
fetched twice (every worker's start request but the first is filtered out). `WorkerPresence`
registers the worker in the run and keeps an idle worker open while another still has requests
in flight, since their answers may bring more requests. A worker commits nothing: it puts its
records (with their source positions) in Redis a batch at a time (`Handover`), at its close
`hand_over` adds the rest and its stats, and the coordinator finishes the run once. The run id
(FRT_RUN_ID) comes from the coordinator.

Redis keys, for spider S: frt:S:run (the open run: its id and spider arguments),
frt:S:requests, frt:S:dupefilter, frt:S:records, frt:S:stats, frt:S:workers (the workers that
have not handed over yet), frt:S:busy:<worker> (requests in flight; expires, so a worker that
died does not hold the others forever).
"""

import json
import os
import socket
from datetime import datetime

import orjson
import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

BUSY_TTL = 300
HANDOVER_BATCH = 1000


def key(spider: str, part: str) -> str:
    return f"frt:{spider}:{part}"


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Distributed:
    """Scrapy add-on: turns a crawl into a Redis worker when FRT_REDIS_URL is set."""

    def update_settings(self, settings):
        url = settings.get("FRT_REDIS_URL")
        if not url:
            return
        settings.set("REDIS_URL", url, "addon")
        settings.set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", "addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
        settings.set("SCHEDULER_PERSIST", True, "addon")  # the coordinator clears the keys
        settings.set("SCHEDULER_QUEUE_KEY", "frt:%(spider)s:requests", "addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", "frt:%(spider)s:dupefilter", "addon")
        settings.set("FRT_WORKER_ID", settings.get("FRT_WORKER_ID") or worker_id(), "addon")
        settings.set_in_component_priority_dict("EXTENSIONS", WorkerPresence, 500)


class WorkerPresence:
    """A worker registers in the run, publishes its requests in flight, and stays open while another
    worker still has some (their answers may bring more requests)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.server = redis.Redis.from_url(crawler.settings.get("FRT_REDIS_URL"))
        self.worker = crawler.settings.get("FRT_WORKER_ID")
        self.in_flight = 0
        for signal, step in ((signals.request_reached_downloader, 1),
                             (signals.request_left_downloader, -1)):
            crawler.signals.connect(self._counter(step), signal=signal, weak=False)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _key(self, part: str) -> str:
        return key(self.crawler.spidercls.name, part)

    def spider_opened(self, spider):
        self.server.sadd(self._key("workers"), self.worker)

    def _counter(self, step: int):
        def count(request, spider):
            self.in_flight += step
            self.server.set(self._key(f"busy:{self.worker}"), self.in_flight, ex=BUSY_TTL)
        return count

    def spider_idle(self, spider):
        mine = self._key(f"busy:{self.worker}").encode()
        others = [k for k in self.server.scan_iter(self._key("busy:*")) if k != mine]
        if any(int(self.server.get(k) or 0) > 0 for k in others):
            raise DontCloseSpider


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else value


class Handover:
    """A worker's identified records, with their source positions, put in Redis a batch at a time."""

    def __init__(self, crawler):
        self.server = redis.Redis.from_url(crawler.settings.get("FRT_REDIS_URL"))
        self.key = key(crawler.spidercls.name, "records")
        self.pending: list[bytes] = []

    def add(self, record: dict, position: tuple | None = None) -> None:
        """Take a record as a Snapshot does (orjson.JSONEncodeError for one no JSON line can hold)."""
        self.pending.append(orjson.dumps([list(position or ()), record]))
        if len(self.pending) >= HANDOVER_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.server.rpush(self.key, *self.pending)
            self.pending = []


def handed_over(server: redis.Redis, spider: str):
    """(position, record) pairs the workers put in Redis, read a batch at a time."""
    records = key(spider, "records")
    for start in range(0, server.llen(records), HANDOVER_BATCH):
        for raw in server.lrange(records, start, start + HANDOVER_BATCH - 1):
            position, record = orjson.loads(raw)
            yield tuple(position) or None, record


def hand_over(crawler, records: Handover) -> None:
    """Put the rest of a worker's records and its stats in Redis for the coordinator; commit nothing
    here."""
    records.flush()
    server = records.server
    name = crawler.spidercls.name
    stats = {k: _jsonable(v) for k, v in crawler.stats.get_stats().items()}
    worker = crawler.settings.get("FRT_WORKER_ID")
    server.rpush(key(name, "stats"), json.dumps(stats, default=str))
    server.delete(key(name, f"busy:{worker}"))
    server.srem(key(name, "workers"), worker)
