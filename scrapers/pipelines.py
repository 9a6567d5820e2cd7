"""The Scrapy side of the evidence pipeline: each item goes through pipelines/ into the run's records.

Each item is validated, normalised and identified as it passes, in the crawl's own process. A
refused item (a field breaking the data model, an unknown country, text no JSON line can hold) is
dropped with a log line naming the field and value, and counted under `frt/dropped/<field>`; a
value normalisation had to drop is logged and counted under `frt/problems/<reason>`. The record
then goes, with its position in the source (scrapers/order.py), into the run's Snapshot
(pipelines/snapshot/store.py), or, for a worker of a distributed run, to the coordinator
(scrapers/distributed.py). When the spider closes, the run is finished (scrapers/runs.py: records
settled in source order, monitors, snapshot committed or kept, run and changes logged) or the
worker hands its stats over to the coordinator that finishes it. The place lists are read as the
spider opens, before the first item; what is loaded by then is left out of the garbage collector's
scans (gc.freeze) until the spider closes.
"""

import gc
import logging
from dataclasses import is_dataclass

import orjson
from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.clean import places
from pipelines.clean.identify import identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import InvalidRecord, validate
from pipelines.snapshot.store import Snapshot
from scrapers.distributed import Handover, hand_over
from scrapers.items import DocumentRef
from scrapers.order import POSITION, position
from scrapers.runs import finish_run, run_id, snapshot_arguments

logger = logging.getLogger(__name__)
UNWRITABLE = "json"  # the `frt/dropped/` reason of a record no JSON line can hold


def item_to_record(item) -> dict:
    """The item as a plain dict, its documents copied as dicts (normalisation edits them): what
    dataclasses.asdict gives, without its deep copy of every value. Its fields are its attributes,
    less the position scrapers/order.py stamped on it."""
    record = {"table": item.table, **vars(item)}
    record.pop(POSITION, None)
    if type(documents := record.get("documents")) is list:
        record["documents"] = [d.__dict__.copy() if type(d) is DocumentRef or is_dataclass(d) else d
                               for d in documents]
    return record


class EvidencePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.records = None  # the run's Snapshot, or a distributed worker's Handover
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        run_id(self.crawler)
        mode = "incremental" if getattr(self.crawler.spider, "incremental", False) else "full"
        self.stats.set_value("frt/run/mode", mode)
        places.load()  # before the first item, which would otherwise wait for the place lists
        gc.freeze()  # what is loaded so far lives as long as the crawl: no collection scans it again
        self.records = (Handover(self.crawler) if self.crawler.settings.get("FRT_REDIS_URL")
                        else Snapshot(**snapshot_arguments(self.crawler, mode)))

    def process_item(self, item):
        try:
            record, problems = normalise(validate(item_to_record(item)))
            for problem in problems:
                reason, _, detail = problem.partition(": ")
                self.stats.inc_value(f"frt/problems/{reason}")
                logger.warning("%s %s: %s", item.source, item.source_id, detail)
            self.records.add(identify(record), position(item))
        except InvalidRecord as error:
            self._refuse(item, error.field, str(error))
        except orjson.JSONEncodeError as error:
            self._refuse(item, UNWRITABLE, f"no JSON line can hold it ({error})")
        return item

    def _refuse(self, item, reason: str, why: str):
        self.stats.inc_value(f"frt/dropped/{reason}")
        raise DropItem(f"{item.source} {item.source_id}: {why}")

    def spider_closed(self, spider, reason):
        if self.crawler.settings.get("FRT_REDIS_URL"):
            hand_over(self.crawler, self.records)
        else:
            finish_run(self.crawler, self.stats.get_stats(), self.records)
        gc.unfreeze()
