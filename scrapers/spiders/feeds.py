"""RSS and Atom feeds of digital-rights groups and biometrics news: each entry, as a discovered document.

The feeds are listed in data/feeds.yml (url, publisher, language, and where the address was found);
`-a feeds=<file>` reads another list, whose addresses may be files beside it (a capture run).
feedparser reads RSS 0.9x to 2.0 and Atom 1.0 in any declared encoding. Each feed is asked like any
source (robots.txt obeyed, one request at a time per site, and the HTTP cache's conditional request,
so an unchanged feed costs a "304 Not Modified"). A feed that answers with an HTTP error, an empty
body, an HTML page or anything feedparser cannot read as a feed is dropped with its reason
(`frt/dropped/feed_http_error`, `feed_empty`, `feed_is_html`, `feed_unparseable`,
`feed_unreachable`), logged and counted in the run, and the other feeds are read as usual; only a
run in which no feed could be read fails (`no_feed_read`). A feed readable despite errors (a
wrong encoding declared, a stray character) is read and counted under
`frt/problems/feed_not_well_formed` (a feed served without an XML Content-Type is not).
"""

import re
from pathlib import Path

import feedparser
import scrapy
import yaml

from scrapers.discoveries import DiscoverySpider
from scrapers.items import DiscoveredDocument

FEEDS_FILE = Path(__file__).resolve().parents[2] / "data" / "feeds.yml"
FEED_FIELDS = ("url", "publisher", "language")
HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                        re.IGNORECASE | re.DOTALL)


def read_feeds(path: Path) -> list[dict]:
    """The feeds of a list; an address without a scheme is a file beside the list."""
    feeds = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    for feed in feeds:
        if missing := [key for key in FEED_FIELDS if not feed.get(key)]:
            raise ValueError(f"{path}: the feed {feed} lacks {', '.join(missing)}")
        address = feed["url"]
        feed["address"] = address if "://" in address else (Path(path).parent / address).resolve().as_uri()
    return feeds


class FeedsSpider(DiscoverySpider):
    name = "feeds"
    what_failed = "no_feed_read"
    # every entry has a title; feeds date nearly all of theirs
    custom_settings = {**DiscoverySpider.custom_settings,
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/published": 0.8}}

    def __init__(self, feeds: str = str(FEEDS_FILE), **kwargs):
        super().__init__(**kwargs)
        self.feeds = read_feeds(Path(feeds))

    async def start(self):
        for feed in self.feeds:
            yield scrapy.Request(feed["address"], callback=self.parse_feed, errback=self.unreachable,
                                 cb_kwargs={"feed": feed}, meta={"handle_httpstatus_all": True})

    def parse_feed(self, response, feed: dict):
        body = response.body
        if response.status >= 400:
            return self.drop("feed_http_error", feed, f"HTTP {response.status}")
        if not body.strip():
            return self.drop("feed_empty", feed, "an empty answer")
        if HTML_START.match(body[:4096]):
            return self.drop("feed_is_html", feed, f"an HTML page (starts {body[:60]!r})")
        headers = {"content-location": response.url}
        if content_type := response.headers.get("Content-Type"):  # none for a file: feedparser reads the XML
            headers["content-type"] = content_type.decode("latin-1")
        parsed = feedparser.parse(body, response_headers=headers)
        if not parsed.version:
            return self.drop("feed_unparseable", feed, f"no RSS or Atom ({parsed.get('bozo_exception')})")
        if parsed.bozo and not isinstance(parsed.bozo_exception, feedparser.NonXMLContentType):
            self.crawler.stats.inc_value("frt/problems/feed_not_well_formed")
            self.logger.warning("feed %s is read despite %s", feed["url"], parsed.bozo_exception)
        self.read += 1
        return [DiscoveredDocument(url=entry.get("link") or "", title=entry.get("title"),
                                   publisher=feed["publisher"],
                                   published=entry.get("published") or entry.get("updated"),
                                   language=feed["language"], summary=entry.get("summary"),
                                   spider=self.name, query=feed["url"])
                for entry in parsed.entries]

    def unreachable(self, failure):
        self.drop("feed_unreachable", failure.request.cb_kwargs["feed"], f"{type(failure.value).__name__}: "
                                                                          f"{failure.value}")

    def drop(self, reason: str, feed: dict, what: str) -> list:
        return super().drop(reason, f"feed {feed['url']} ({feed['publisher']})", what)
