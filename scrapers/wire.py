"""What crossed the wire: every request and answer is counted, and every answer kept in a WARC file.

This downloader middleware sits next to the downloader, after the HTTP cache, so it sees what the
source really answered: a conditional request and its "304 Not Modified", an HTTP 500 before any
retry. It counts frt/http/requests, frt/http/conditional (requests sent with If-None-Match or
If-Modified-Since), frt/http/status/<code>, and keeps the last failure in frt/http/last_error.
With FRT_ARCHIVE_DIR set, each answer is written to the run's WARC file
(<FRT_ARCHIVE_DIR>/<run id>[-<worker>].warc.gz, counted under frt/archive/<file name>): the
request, then the response as received, or for a 304 a revisit record pointing to the copy the
cache holds. The file name and the answer's WARC-Record-ID are left in request.meta["warc_file"]
and request.meta["warc_record_id"]. Only http(s) is recorded: a file:// capture is already a file.
"""

from http.client import responses as REASONS
from pathlib import Path

from scrapy import signals
from scrapy.utils.httpobj import urlparse_cached

from pipelines.archive.warc import WarcFile
from scrapers.runs import run_id

WEB = ("http", "https")


def _pairs(headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


class WireRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive_dir = crawler.settings.get("FRT_ARCHIVE_DIR")
        self.warc: WarcFile | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _warc(self) -> WarcFile:
        if self.warc is None:
            name, worker = run_id(self.crawler), self.crawler.settings.get("FRT_WORKER_ID")
            file_name = f"{name}-{worker}.warc.gz" if worker else f"{name}.warc.gz"
            self.warc = WarcFile(Path(self.archive_dir) / file_name, {
                "run": name, "operator": self.crawler.settings.get("USER_AGENT")})
        return self.warc

    def process_request(self, request):
        if urlparse_cached(request).scheme in WEB:
            self.stats.inc_value("frt/http/requests")
            if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
                self.stats.inc_value("frt/http/conditional")

    def process_response(self, request, response):
        if urlparse_cached(request).scheme not in WEB:
            return response
        self.stats.inc_value(f"frt/http/status/{response.status}")
        if response.status >= 400:
            self.stats.set_value("frt/http/last_error", f"HTTP {response.status} from {response.url}")
        if self.archive_dir:
            cached = request.meta.get("cached_response")
            warc = self._warc()
            request.meta["warc_file"] = warc.path.name
            request.meta["warc_record_id"] = warc.write_exchange(
                url=response.url, method=request.method, request_headers=_pairs(request.headers),
                request_body=request.body or b"", status=response.status,
                reason=REASONS.get(response.status, ""), response_headers=_pairs(response.headers),
                body=response.body, stored_body=cached.body if cached is not None else None)
            self.stats.set_value(f"frt/archive/{warc.path.name}", warc.records)
        return response

    def process_exception(self, request, exception):
        if urlparse_cached(request).scheme in WEB:
            self.stats.set_value("frt/http/last_error",
                                 f"{type(exception).__name__} on {request.url}: {exception}")

    def spider_closed(self, spider, reason):
        if self.warc is not None:
            self.warc.close()
