"""GDELT DOC 2.0 article lists: news about facial recognition in each language, as discovered documents.

One ArtList query per language, `"facial recognition" OR "face recognition" sourcelang:<language>`
(en, de, fr, it, es, pt, nl, pl, sr, ru, zh). GDELT searches the English machine translation of
the articles it monitors in 65 languages (it phased out searching their own words), so the English
phrase finds German or Chinese articles; the titles come back in their own language, which the
classifier reads with that language's lexicon. The API has no paging and returns at most 250
articles (`maxrecords`), so a window is paged by time: a window that comes back full is asked
again as two halves, down to MIN_WINDOW. The window runs from the start of the last `ok` gdelt run
(an hour earlier, so nothing falls between runs), else from GDELT's three months back, to now;
`-a since=YYYYMMDDHHMMSS -a until=...` set it, `-a languages=en,de` narrows the languages, and
`-a api=<address>` asks another server (a `{language}` in it names each language's capture).

GDELT asks for one request every 5 seconds: DOWNLOAD_DELAY 5, not randomised, one request at a
time. Its quirks (../shared/real/api_shapes/SHAPES.md, section 5): no articles is `{}` (counted under
`frt/problems/no_articles`); a rate limit or an error comes back as plain text or HTML with HTTP 200.
A rate-limited query is asked once more after the delay, then dropped (`frt/dropped/rate_limited`);
an HTML page, other text or broken JSON is dropped too (`html_page`, `not_json`); each is logged with
what came back, and the other queries go on. Only a run in which no query was answered fails.
"""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pycountry
import scrapy

from pipelines.snapshot.runlog import read_runs
from scrapers.discoveries import DiscoverySpider
from scrapers.items import DiscoveredDocument
from scrapers.runs import runs_dir

LIVE_API = "https://api.gdeltproject.org/api/v2/doc/doc"
LANGUAGES = ("en", "de", "fr", "it", "es", "pt", "nl", "pl", "sr", "ru", "zh")
PHRASES = '("facial recognition" OR "face recognition")'
MAX_RECORDS = 250
MIN_WINDOW = timedelta(hours=1)
GDELT_REACH = timedelta(days=90)  # the DOC API searches a rolling window of the last three months
OVERLAP = timedelta(hours=1)
STAMP = "%Y%m%d%H%M%S"
RATE_LIMIT_WORDS = ("limit requests", "rate limit", "too many requests")


def language_name(code: str) -> str:
    return pycountry.languages.get(alpha_2=code).name


def language_code(name: str | None) -> str | None:
    """GDELT's language name ("Portuguese") as ISO 639-1 ("pt")."""
    found = pycountry.languages.get(name=name) if name else None
    return getattr(found, "alpha_2", None)


def last_ok_start(settings) -> datetime | None:
    """When the last gdelt run that went wholly well started."""
    runs = [run for run in read_runs(runs_dir(settings), "gdelt") if run["status"] == "ok"]
    return datetime.fromisoformat(runs[-1]["started"]) if runs else None


class GdeltSpider(DiscoverySpider):
    name = "gdelt"
    what_failed = "no_query_answered"
    custom_settings = {**DiscoverySpider.custom_settings, "DOWNLOAD_DELAY": 5.0, "DOWNLOAD_DELAY_JITTER": 0,
                       "AUTOTHROTTLE_START_DELAY": 5.0, "CONCURRENT_REQUESTS": 1,
                       # every article has a title and the time GDELT saw it
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/published": 1.0}}

    def __init__(self, api: str = LIVE_API, languages: str = ",".join(LANGUAGES), since: str | None = None,
                 until: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.api, self.languages = api, [code.strip() for code in languages.split(",") if code.strip()]
        self.since = datetime.strptime(since, STAMP).replace(tzinfo=UTC) if since else None
        self.until = datetime.strptime(until, STAMP).replace(tzinfo=UTC) if until else datetime.now(UTC)

    def window_start(self) -> datetime:
        earliest = self.until - GDELT_REACH
        if self.since:
            return max(self.since, earliest)
        last = last_ok_start(self.crawler.settings)
        return max(last - OVERLAP, earliest) if last else earliest

    def query(self, code: str) -> str:
        return f"{PHRASES} sourcelang:{language_name(code).lower()}"

    async def start(self):
        start = self.window_start()
        for code in self.languages:
            yield self.request(code, start, self.until)

    def request(self, code: str, start: datetime, end: datetime, retried: bool = False) -> scrapy.Request:
        parameters = {"query": self.query(code), "mode": "ArtList", "format": "json",
                      "maxrecords": MAX_RECORDS, "sort": "DateDesc",
                      "startdatetime": start.strftime(STAMP), "enddatetime": end.strftime(STAMP)}
        return scrapy.Request(f"{self.api.format(language=code)}?{urlencode(parameters)}",
                              callback=self.parse_articles, errback=self.unreachable, dont_filter=retried,
                              cb_kwargs={"code": code, "start": start, "end": end, "retried": retried})

    def parse_articles(self, response, code: str, start: datetime, end: datetime, retried: bool = False):
        text = response.body.decode("utf-8", errors="replace").strip()
        where = f"GDELT query {code} {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"
        if any(words in text[:500].lower() for words in RATE_LIMIT_WORDS):
            if not retried:
                self.crawler.stats.inc_value("frt/problems/rate_limited")
                self.logger.warning("%s was rate-limited (%r): asked again", where, text[:80])
                return [self.request(code, start, end, retried=True)]
            return self.drop("rate_limited", where, text)
        if text[:1] == "<":
            return self.drop("html_page", where, text)
        try:
            answer = json.loads(text)
        except ValueError:
            return self.drop("not_json", where, text)
        if not isinstance(answer, dict):
            return self.drop("not_json", where, text)
        self.read += 1
        articles = answer.get("articles") or []
        if not articles:
            self.crawler.stats.inc_value("frt/problems/no_articles")
            return []
        found = [self.document(article, code) for article in articles]
        if len(articles) >= MAX_RECORDS and end - start > MIN_WINDOW:
            middle = start + (end - start) / 2
            found += [self.request(code, start, middle), self.request(code, middle, end)]
        return found

    def document(self, article: dict, code: str) -> DiscoveredDocument:
        return DiscoveredDocument(url=article.get("url") or "", title=article.get("title"),
                                  publisher=article.get("domain"), published=article.get("seendate"),
                                  language=language_code(article.get("language")) or code,
                                  spider=self.name, query=self.query(code))

    def unreachable(self, failure):
        self.drop("unreachable", f"GDELT query {failure.request.cb_kwargs['code']}",
                  f"{type(failure.value).__name__}: {failure.value}")
