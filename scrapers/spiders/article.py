"""Each discovered article's own page, fetched once: its metadata and main text, as a discovered document.

The articles are the records the other discovery spiders keep in `<discovered>/*.jsonl`; an
article whose id `<discovered>/article.jsonl` already holds was fetched before and is not asked
again (`-a limit=N` asks at most N, oldest first seen first). Each page is asked like any source's
(robots.txt obeyed, one request at a time per site). From the page, beautifulsoup4 (with lxml)
reads its metadata: the JSON-LD article object (headline, datePublished, author, publisher,
isAccessibleForFree, inLanguage), OpenGraph and `article:` meta tags, `<meta name=author>`,
`<link rel=canonical>`, `<html lang>` and `<title>`; trafilatura takes the main text out of the
page's boilerplate, and py3langid says which language that text is in. The record keeps the
discovered address (so its id is the discovered document's, which pipelines/discover reads in
its place: the page's title, date, author and the start of its text for the classifier, more than
a feed's title) and fills what the page lacks from the discovered record.

A page that cannot serve is dropped, counted under `frt/dropped/<reason>` and logged, and the
others go on: `http_error`, `not_html`, `undecodable` (bytes that are not text in the page's
encoding), `paywalled` (JSON-LD isAccessibleForFree false and little text), `cookie_wall` (little
text, about cookies or consent), `too_little_text` (under MIN_TEXT characters of main text),
`same_article` (its canonical URL, or the hash of its text, was already met in this run: one
article under several addresses), `unreachable` (no answer, or robots.txt forbids it). A page with
no date, on the page or in its discovery, is kept and counted under `frt/problems/no_date`. A
dropped page is asked again on a later night; a run fails only when no page could be read.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import py3langid
import scrapy
import trafilatura
from bs4 import BeautifulSoup

from pipelines.discover.documents import read_discovered
from pipelines.snapshot.store import read_snapshot
from scrapers.discoveries import DiscoverySpider, discovered_dir
from scrapers.items import DiscoveredDocument

MIN_TEXT = 300
ARTICLE_TYPES = {"Article", "NewsArticle", "ReportageNews", "AnalysisNewsArticle", "BlogPosting",
                 "OpinionNewsArticle", "Report"}
COOKIE_WORDS = re.compile(r"\b(cookies?|consent|privacy settings|accept all)\b", re.IGNORECASE)


@dataclass(kw_only=True)
class ArticleDocument(DiscoveredDocument):
    """A discovered document read off its own page: its summary is the page's main text."""

    author: str | None = None


def _first(*values):
    return next((value.strip() for value in values if isinstance(value, str) and value.strip()), None)


def _name(value) -> str | None:
    """A schema.org Person or Organization (or a list of them, or a plain string) as names."""
    if isinstance(value, list):
        return _first("; ".join(name for name in map(_name, value) if name))
    if isinstance(value, dict):
        return _first(value.get("name"))
    return _first(value)


def json_ld_article(soup: BeautifulSoup) -> dict:
    """The page's JSON-LD article object (in a list or an @graph too); {} if none can be read."""
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.string or "")
        except ValueError:
            continue
        candidates = data if isinstance(data, list) else [data]
        candidates += [node for item in list(candidates) if isinstance(item, dict)
                       for node in item.get("@graph", [])]
        for node in candidates:
            types = node.get("@type") if isinstance(node, dict) else None
            if set(types if isinstance(types, list) else [types]) & ARTICLE_TYPES:
                return node
    return {}


def page_metadata(soup: BeautifulSoup, url: str) -> dict:
    """Canonical URL, title, publisher, author, published, language and accessibility of a page."""
    article = json_ld_article(soup)

    def meta(key: str) -> str | None:
        tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
        return _first(tag.get("content")) if tag else None

    link = soup.find("link", rel="canonical")
    canonical = _first(link.get("href") if link else None, meta("og:url"))
    html = soup.find("html")
    return {"canonical_url": urljoin(url, canonical) if canonical else url,
            "title": _first(article.get("headline"), meta("og:title"),
                            soup.title.string if soup.title else None),
            "publisher": _first(_name(article.get("publisher")), meta("og:site_name")),
            "author": _first(_name(article.get("author")), meta("article:author"), meta("author")),
            "published": _first(article.get("datePublished"), meta("article:published_time"),
                                meta("date")),
            "declared_language": _first(article.get("inLanguage"), html.get("lang") if html else None),
            "free": article.get("isAccessibleForFree") not in (False, "False", "false")}


def language_of(text: str, declared: str | None) -> str | None:
    """The language py3langid finds in the text; the page's declared one for a text too short."""
    if len(text) >= MIN_TEXT:
        return py3langid.classify(text)[0]
    return declared.split("-")[0].lower() if declared else None


def fetched_before(directory: Path) -> set[str]:
    return set(read_snapshot(directory / "article.jsonl"))


class ArticleSpider(DiscoverySpider):
    name = "article"
    what_failed = "no_article_read"
    custom_settings = {**DiscoverySpider.custom_settings,
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/summary": 1.0}}

    def __init__(self, limit: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.limit = int(limit) if limit else None
        self.canonicals: set[str] = set()
        self.hashes: set[str] = set()

    async def start(self):
        directory = discovered_dir(self.crawler.settings)
        before = fetched_before(directory)
        waiting = sorted((record for record in read_discovered(directory)
                          if record["id"] not in before and record["spider"] != self.name),
                         key=lambda record: (record.get("first_seen") or "", record["id"]))
        for record in waiting[:self.limit]:
            yield scrapy.Request(record["url"], callback=self.parse_article, errback=self.unreachable,
                                 cb_kwargs={"found": record}, meta={"handle_httpstatus_all": True})

    def parse_article(self, response, found: dict):
        if response.status >= 400:
            return self.drop("http_error", found, f"HTTP {response.status}")
        content_type = (response.headers.get("Content-Type") or b"text/html").decode("latin-1")
        if "html" not in content_type.lower():
            return self.drop("not_html", found, f"served as {content_type}")
        try:
            html = response.body.decode(response.encoding)
        except (UnicodeDecodeError, LookupError) as error:
            return self.drop("undecodable", found, f"not {response.encoding}: {error}")
        soup = BeautifulSoup(html, "lxml")
        page = page_metadata(soup, response.url)
        text = trafilatura.extract(html, url=response.url, include_comments=False, include_tables=False) or ""
        if len(text) < MIN_TEXT:
            if not page["free"]:
                return self.drop("paywalled", found, f"{len(text)} characters, isAccessibleForFree false")
            if COOKIE_WORDS.search(text or soup.get_text(" ")):
                return self.drop("cookie_wall", found, f"{len(text)} characters about cookies or consent")
            return self.drop("too_little_text", found, f"{len(text)} characters of main text")
        digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()
        if page["canonical_url"] in self.canonicals or digest in self.hashes:
            return self.drop("same_article", found, f"its canonical URL ({page['canonical_url']}) or "
                                                    "its text was read already in this run")
        self.canonicals.add(page["canonical_url"])
        self.hashes.add(digest)
        published = page["published"] or found.get("published")
        if not published:
            self.crawler.stats.inc_value("frt/problems/no_date")
        self.read += 1
        language = language_of(text, page["declared_language"]) or found.get("language")
        return [ArticleDocument(url=found["url"], title=page["title"] or found["title"],
                                publisher=page["publisher"] or found.get("publisher"),
                                published=published, author=page["author"], language=language,
                                summary=text, spider=self.name, query=found["id"])]

    def unreachable(self, failure):
        found = failure.request.cb_kwargs["found"]
        self.drop("unreachable", found, f"{type(failure.value).__name__}: {failure.value}")

    def drop(self, reason: str, found: dict, what: str) -> list:
        return super().drop(reason, f"article {found['url']}", what)
