"""Scrapy add-ons for the spider benchmark: a pipeline that does nothing, and a clock.

`NoopPipeline` takes the place of the evidence pipeline to measure the engine's own limit.
`Clock` writes, when the engine stops (after every spider_closed handler, so after the snapshot
is written), the seconds since the engine started and the items scraped, to BENCH_CLOCK_FILE.
"""

import json
import time

from scrapy import signals


class NoopPipeline:
    def process_item(self, item):
        return item


class Clock:
    def __init__(self, crawler):
        self.crawler = crawler
        self.started = None
        crawler.signals.connect(self.engine_started, signal=signals.engine_started)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def engine_started(self):
        self.started = time.perf_counter()

    def engine_stopped(self):
        seconds = time.perf_counter() - self.started
        stats = self.crawler.stats.get_stats()
        with open(self.crawler.settings.get("BENCH_CLOCK_FILE"), "w", encoding="utf-8") as handle:
            json.dump({"seconds": seconds, "items": stats.get("item_scraped_count", 0),
                       "finish_reason": stats.get("finish_reason")}, handle)
