"""The Scrapy side of the evidence pipeline: each item goes through pipelines/ and into a snapshot.

validate → normalise → identify run per item; a refused item is dropped with a log line naming
the field and value, and counted under `frt/dropped/<field>`. A value normalisation had to drop
is logged and counted under `frt/problems/<reason>`. When the spider closes, the run's snapshot
replaces the last good one only if the run finished cleanly and did not collapse (see
pipelines/store.py); the outcome is logged and counted under `frt/snapshot/*`.
"""

import logging
from dataclasses import asdict
from datetime import date
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.identify import identify
from pipelines.normalise import normalise
from pipelines.store import Snapshot
from pipelines.validate import InvalidRecord, validate

logger = logging.getLogger(__name__)


def item_to_record(item) -> dict:
    return {"table": item.table, **asdict(item)}


class EvidencePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.snapshot: Snapshot | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        settings = self.crawler.settings
        run_date = settings.get("FRT_RUN_DATE") or date.today().isoformat()
        path = Path(settings.get("FRT_ITEMS_DIR")) / f"{self.crawler.spider.name}.jsonl"
        self.snapshot = Snapshot(path, run_date)

    def process_item(self, item):
        try:
            record, problems = normalise(validate(item_to_record(item)))
        except InvalidRecord as error:
            self.stats.inc_value(f"frt/dropped/{error.field}")
            raise DropItem(f"{item.source} {item.source_id}: {error}") from None
        for problem in problems:
            reason, _, detail = problem.partition(": ")
            self.stats.inc_value(f"frt/problems/{reason}")
            logger.warning("%s %s: %s", item.source, item.source_id, detail)
        outcome = self.snapshot.add(identify(record))
        self.stats.inc_value(f"frt/snapshot/{outcome}")
        return item

    def spider_closed(self, spider, reason):
        failures = ("spider_exceptions/", "downloader/exception_count", "frt/source_error")
        errors = sum(v for k, v in self.stats.get_stats().items() if k.startswith(failures))
        run_ok = reason == "finished" and not errors
        result = self.snapshot.commit(run_ok, self.crawler.settings.getfloat("FRT_SNAPSHOT_MIN_SHARE"))
        self.stats.set_value("frt/snapshot_replaced", int(result.replaced))
        for key, value in result.counts.items():
            self.stats.set_value(f"frt/run/{key}", value)
        log = logger.info if result.replaced else logger.error
        log("%s snapshot %s: %s %s", spider.name, self.snapshot.path,
            result.reason if not result.replaced else "replaced", result.counts)
