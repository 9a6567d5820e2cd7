"""The discovery spiders' pipeline: what they found into `<discovered>/<spider>.jsonl`, the run judged.

Each DiscoveredDocument is made a record (pipelines/discover/documents.py); one with no web address
or no title is dropped and counted under `frt/dropped/<field>`. The same document listed by several
feeds or searches of one run is one record with every query that listed it, its fields from the
first listing in source order (scrapers/order.py), so the record does not depend on which answer
came first. When the spider closes, the records go into the spider's Snapshot, which is incremental:
a feed lists only its latest entries, so a document it no longer lists is kept, not marked gone.
The run is then judged, committed and logged like any source's (scrapers/runs.py). The folder is
FRT_DISCOVERED_DIR, else `discovered` beside the items folder (data/discovered). DiscoverySpider is
what the two spiders share.
"""

from pathlib import Path

import scrapy
from scrapy import signals
from scrapy.exceptions import DropItem

from pipelines.discover.documents import NotADocument, merged, record_of
from pipelines.snapshot.store import NO_POSITION, Snapshot
from scrapers.order import position
from scrapers.runs import finish_run, run_id, snapshot_arguments
from scrapers.sourceerror import stop


def discovered_dir(settings) -> Path:
    items = Path(settings.get("FRT_ITEMS_DIR"))
    return Path(settings.get("FRT_DISCOVERED_DIR") or items.parent / "discovered")


class DiscoveryPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.found: dict[str, list[tuple[tuple, dict]]] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        run_id(self.crawler)
        self.crawler.stats.set_value("frt/run/mode", "incremental")

    def process_item(self, item):
        try:
            record = record_of(vars(item))
        except NotADocument as error:
            self.crawler.stats.inc_value(f"frt/dropped/{error.field}")
            raise DropItem(str(error)) from None
        self.found.setdefault(record["id"], []).append((position(item) or NO_POSITION, record))
        return item

    def spider_closed(self, spider, reason):
        arguments = snapshot_arguments(self.crawler, "incremental")
        arguments["path"] = discovered_dir(self.crawler.settings) / f"{spider.name}.jsonl"
        snapshot = Snapshot(**arguments)
        for record_id in sorted(self.found):
            listings = sorted(self.found[record_id], key=lambda listing: listing[0])
            snapshot.add(merged([record for _, record in listings]), listings[0][0])
        finish_run(self.crawler, self.crawler.stats.get_stats(), snapshot)


class DiscoverySpider(scrapy.Spider):
    """What the feeds and gdelt spiders share: this pipeline, a feed or query whose answer cannot be
    read dropped with its reason while the others go on, and a run in which none could be read
    stopped (`what_failed`: the reason it closes with)."""

    custom_settings = {"ITEM_PIPELINES": {"scrapers.discoveries.DiscoveryPipeline": 300},
                       "FRT_ANSWERS_MAY_FAIL": True}  # scrapers/monitors.py: a failed answer is a drop
    what_failed = "nothing_read"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.read, self.dropped = 0, 0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    def drop(self, reason: str, where: str, what: str) -> list:
        """Count and log an answer that could not be read."""
        self.dropped += 1
        self.crawler.stats.inc_value(f"frt/dropped/{reason}")
        self.logger.error("%s dropped, %s: %s", where, reason, what[:200])
        return []

    def idle(self):
        if self.dropped and not self.read:
            stop(self, self.what_failed,
                 f"{self.name}: nothing could be read ({self.dropped} answers dropped: see the log)")
