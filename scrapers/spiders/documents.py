"""The pages the evidence cites: each fetched politely, captured, and checked again later.

Not a source of rows: it reads the documents the snapshots and curated files cite, and
pipelines/archive/captures.py chooses which are due tonight (never captured first, then the longest
unchecked). Each page is fetched like any other request (robots.txt obeyed, one request at a time
per site, a conditional request when a copy is cached), the answer goes to the run's WARC file
(scrapers/wire.py), and the spider yields what it found: status, sha256 of the body and of its
visible text. For a page with no archived copy yet it asks the Wayback Machine's availability API
whether one exists. scrapers/documentchecks.py folds the findings into data/documents.jsonl.
Arguments: limit (pages a night, 300), recheck_days (7), wayback_api (the availability API).
"""

from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import scrapy
from scrapy.http import HtmlResponse, TextResponse

from pipelines.archive.captures import cited, due, read_state, text_sha256
from pipelines.archive.warc import content_sha256
from pipelines.read.records import Records
from scrapers.documentchecks import documents_file
from scrapers.items import DocumentCheck, WaybackCopy

WAYBACK_API = "https://archive.org/wayback/available"
VISIBLE_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
PAGE_TITLE = "//meta[@property='og:title']/@content | //head/title/text()"
TITLE_LENGTH = 300  # a page title longer than this is not a title


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DocumentsSpider(scrapy.Spider):
    name = "documents"
    custom_settings = {"ITEM_PIPELINES": {"scrapers.documentchecks.DocumentCheckPipeline": 300},
                       "DOWNLOAD_MAXSIZE": 50 * 2**20, "RETRY_TIMES": 1}

    def __init__(self, limit: str = "300", recheck_days: str = "7", wayback_api: str = WAYBACK_API,
                 **kwargs):
        super().__init__(**kwargs)
        self.limit, self.recheck_days, self.wayback_api = int(limit), int(recheck_days), wayback_api

    async def start(self):
        settings = self.crawler.settings
        records = Records(Path(settings.get("FRT_ITEMS_DIR")), Path(settings.get("FRT_CURATED_DIR")))
        documents = cited(record for record, _ in records)
        today = settings.get("FRT_RUN_DATE") or date.today().isoformat()
        for document in due(documents, read_state(documents_file(settings)), today, self.limit,
                            self.recheck_days):
            meta = {"document_id": document["id"], "handle_httpstatus_all": True}
            yield scrapy.Request(document["url"], callback=self.parse_page, errback=self.unreachable,
                                 meta=meta)
            if document["wayback"]:
                yield scrapy.Request(f"{self.wayback_api}?{urlencode({'url': document['url']})}",
                                     callback=self.parse_wayback, meta={"document_id": document["id"]})

    def parse_page(self, response):
        body, title = response.body, None
        if isinstance(response, HtmlResponse):
            text = " ".join(response.xpath(VISIBLE_TEXT).getall())
            title = " ".join((response.xpath(PAGE_TITLE).get() or "").split())[:TITLE_LENGTH] or None
        elif isinstance(response, TextResponse):
            text = response.text
        else:
            text = body.hex()
        yield DocumentCheck(
            document_id=response.meta["document_id"], url=response.request.url, fetched=_now(),
            http_status=response.status, content_sha256=content_sha256(body),
            text_sha256=text_sha256(text), bytes=len(body),
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1") or None,
            warc=response.meta.get("warc_file"), record=response.meta.get("warc_record_id"),
            page_title=title if response.status < 400 else None)

    def unreachable(self, failure):
        request = failure.request
        yield DocumentCheck(document_id=request.meta["document_id"], url=request.url, fetched=_now(),
                            error=f"{type(failure.value).__name__}: {failure.value}")

    def parse_wayback(self, response):
        closest = (response.json().get("archived_snapshots") or {}).get("closest") or {}
        url = closest.get("url") if closest.get("available") else None
        yield WaybackCopy(document_id=response.meta["document_id"],
                          wayback_url=url.replace("http://", "https://", 1) if url else None)
