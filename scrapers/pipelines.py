"""The Scrapy side of the evidence pipeline: each item goes through pipelines/ into the run's records.

Each item is validated as it passes, and its country checked; a refused item is dropped with a
log line naming the field and value, and counted under `frt/dropped/<field>`. The record then
goes, with its position in the source (scrapers/order.py), to be normalised, identified and
staged in the run's snapshot by a second process (pipelines/staging.py), or, for a worker of a
distributed run, to the coordinator (scrapers/distributed.py). A value normalisation had to drop
is logged and counted under `frt/problems/<reason>`. When the spider closes, the run is finished
(scrapers/runs.py: records settled in source order, monitors, snapshot committed or kept, run and
changes logged) or the worker hands its stats over to the coordinator that finishes it.
"""

import logging
from dataclasses import is_dataclass

from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.normalise import refuse_unknown_country
from pipelines.staging import StagingProcess
from pipelines.validate import InvalidRecord, validate
from scrapers.distributed import Handover, hand_over
from scrapers.order import POSITION, position
from scrapers.runs import finish_run, run_id, snapshot_arguments

logger = logging.getLogger(__name__)


def item_to_record(item) -> dict:
    """The item as a plain dict, documents as dicts and lists copied: what dataclasses.asdict
    gives, without its deep copy of every value, which cost more than all the pipelines. Its
    fields are its attributes, less the position scrapers/order.py stamped on it."""
    record = {"table": item.table, **vars(item)}
    record.pop(POSITION, None)
    for name, value in record.items():
        if type(value) is list and value:
            record[name] = [vars(v).copy() if is_dataclass(v) else v for v in value]
    return record


class EvidencePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.records = None  # the run's StagingProcess, or a distributed worker's Handover
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        run_id(self.crawler)
        incremental = getattr(self.crawler.spider, "incremental", False)
        mode = "incremental" if incremental else "full"
        self.stats.set_value("frt/run/mode", mode)
        distributed = self.crawler.settings.get("FRT_REDIS_URL")
        self.records = (Handover(self.crawler, self.report) if distributed
                        else StagingProcess(self.report, **snapshot_arguments(self.crawler, mode)))

    def process_item(self, item):
        try:
            record = refuse_unknown_country(validate(item_to_record(item)))
        except InvalidRecord as error:
            self.stats.inc_value(f"frt/dropped/{error.field}")
            raise DropItem(f"{item.source} {item.source_id}: {error}") from None
        self.records.add(record, position(item))  # normalised, identified and staged from here
        return item

    def report(self, label: str, problems: list[str]) -> None:
        """Count and log the problems normalising one record met ("<source> <source id>")."""
        for problem in problems:
            reason, _, detail = problem.partition(": ")
            self.stats.inc_value(f"frt/problems/{reason}")
            logger.warning("%s: %s", label, detail)

    def spider_closed(self, spider, reason):
        if self.crawler.settings.get("FRT_REDIS_URL"):
            hand_over(self.crawler, self.records)
        else:
            finish_run(self.crawler, self.stats.get_stats(), self.records.finish())
