"""The documents spider's pipeline: its findings folded into data/documents.jsonl, its run logged.

When the spider closes, each page check is folded into the document's entry (pipelines/archive/captures.py:
a first capture, or live, changed, gone, error) and each Wayback answer recorded; the file is
rewritten sorted, and the run gets its line in the run log like any spider's: items (pages
checked), new (first captures), changed, gone. It fails only if the spider did not finish.
"""

from collections import Counter
from dataclasses import asdict
from pathlib import Path

from scrapy import signals

from pipelines.archive.captures import apply_check, apply_wayback, read_state, write_state
from pipelines.snapshot.runlog import append_run
from scrapers.items import DocumentCheck, WaybackCopy
from scrapers.runs import run_date, run_id, run_line, runs_dir


def documents_file(settings) -> Path:
    """FRT_DOCUMENTS_FILE, or documents.jsonl beside the items folder (data/documents.jsonl)."""
    return Path(settings.get("FRT_DOCUMENTS_FILE") or Path(settings.get("FRT_ITEMS_DIR")).parent
                / "documents.jsonl")


class DocumentCheckPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.checks: list[DocumentCheck] = []
        self.copies: list[WaybackCopy] = []
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        run_id(self.crawler)

    def process_item(self, item):
        (self.checks if isinstance(item, DocumentCheck) else self.copies).append(item)
        return item

    def spider_closed(self, spider, reason):
        settings, stats = self.crawler.settings, self.crawler.stats
        today = run_date(settings)
        path = documents_file(settings)
        state = read_state(path)
        found = Counter()
        for check in sorted(self.checks, key=lambda c: c.document_id):
            entry = state.setdefault(check.document_id, {"id": check.document_id, "url": check.url})
            found[apply_check(entry, asdict(check), today)] += 1
        for copy in self.copies:
            entry = state.setdefault(copy.document_id, {"id": copy.document_id})
            apply_wayback(entry, copy.wayback_url, today)
        write_state(path, state)
        for outcome, count in found.items():
            stats.set_value(f"frt/documents/{outcome}", count)
        if found["error"]:
            stats.set_value("frt/problems/unreachable", found["error"])
        counts = {"items": len(self.checks), "new": found["captured"], "changed": found["changed"],
                  "gone": found["gone"], "unchanged": found["live"]}
        finished = reason == "finished"
        run = run_line(stats.get_stats(), spider.name, today, "ok" if finished else "failed", counts,
                       None if finished else f"the spider stopped: {reason}")
        append_run(runs_dir(settings), run)
