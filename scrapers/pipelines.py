"""The Scrapy side of the evidence pipeline: each item goes through pipelines/ into the run's records.

validate → normalise → identify run per item; a refused item is dropped with a log line naming
the field and value, and counted under `frt/dropped/<field>`. A value normalisation had to drop
is logged and counted under `frt/problems/<reason>`. Each record keeps its position in the source
(scrapers/order.py). When the spider closes, the run is finished (scrapers/runs.py: monitors,
snapshot committed or kept, run and changes logged) or, for a worker of a distributed run, its
records and stats are handed to the coordinator that finishes it (scrapers/distributed.py).
"""

import logging
from dataclasses import fields, is_dataclass
from functools import cache

from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.identify import identify
from pipelines.normalise import normalise
from pipelines.store import RunRecords
from pipelines.validate import InvalidRecord, validate
from scrapers.distributed import hand_over
from scrapers.order import position
from scrapers.runs import finish_run, run_id

logger = logging.getLogger(__name__)


@cache
def _field_names(item_type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(item_type))


def item_to_record(item) -> dict:
    """The item as a plain dict, documents as dicts and lists copied: what dataclasses.asdict
    gives, without its deep copy of every value, which cost more than all the pipelines."""
    record = {"table": item.table}
    for name in _field_names(type(item)):
        value = getattr(item, name)
        if isinstance(value, list):
            value = [{k: getattr(v, k) for k in _field_names(type(v))} if is_dataclass(v) else v
                     for v in value]
        record[name] = value
    return record


class EvidencePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.records = RunRecords()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        run_id(self.crawler)
        incremental = getattr(self.crawler.spider, "incremental", False)
        self.stats.set_value("frt/run/mode", "incremental" if incremental else "full")

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
        self.records.append(position(item) or ("", "", "", len(self.records)), identify(record))
        return item

    def spider_closed(self, spider, reason):
        if self.crawler.settings.get("FRT_REDIS_URL"):
            hand_over(self.crawler, self.records)
        else:
            finish_run(self.crawler, self.stats.get_stats(), self.records)
