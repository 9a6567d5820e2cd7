"""CourtListener REST v4 search: US court opinions and dockets on face recognition, as discovered documents.

Two searches (../shared/real/api_shapes/SHAPES.md, section 2), the same words in each: case law
(`type=o`: opinions, such as the rulings of the Clearview AI privacy litigation) and RECAP federal
dockets (`type=r`: suits as they are filed, such as wrongful-arrest suits after a false match),
newest filed first, `-a filed_after=YYYY-MM-DD` for only the newer ones. Each answer's `next`
(DRF cursor pagination) is followed up to MAX_PAGES pages a search. A court record is material for
a person to review, never an event by itself: each result is a DiscoveredDocument
(scrapers/discoveries.py), titled with the case name, dated the day it was filed, its CourtListener
page as address, and a summary naming the court, the docket number, the citations and the search's
snippet, so the build's classifier can sort it into a lead (pipelines/discover).

The search needs a token, COURTLISTENER_TOKEN, sent as `Authorization: Token <token>` (anonymous use
is throttled hard). Without it the spider stops at once and its run is logged as skipped, not
failed (scrapers/runs.py, skip_run). An answer that refuses the token or the quota (HTTP 401, 403,
429 after its retries) stops the run, quoting the API's `detail`; an answer that is not a search
page is dropped with its reason and the other search goes on. `-a api=<address>` asks another
server: `{type}` and `{cursor}` in it name each page's capture (`first` for a search's first page).
"""

import json
import os
from urllib.parse import parse_qs, urlencode, urlsplit

import scrapy
from w3lib.html import remove_tags

from scrapers.discoveries import DiscoverySpider
from scrapers.items import DiscoveredDocument
from scrapers.runs import skip_run
from scrapers.spiders.openstates import REFUSALS, refused

SITE = "https://www.courtlistener.com"
LIVE_API = f"{SITE}/api/rest/v4/search/"
TOKEN_VARIABLE = "COURTLISTENER_TOKEN"
WORDS = '"facial recognition" OR "face recognition" OR "face geometry" OR faceprint'
SEARCHES = {"o": "opinions", "r": "dockets"}
MAX_PAGES = 10


def summary_of(result: dict) -> str:
    """The court, docket number, citations and the search's snippet, in one line."""
    parts = [result.get("court"), f"docket {result['docketNumber']}" if result.get("docketNumber") else None,
             "; ".join(result.get("citation") or []) or None]
    snippets = [o.get("snippet") for o in result.get("opinions") or []]
    snippets += [d.get("snippet") for d in result.get("recap_documents") or []]
    parts += [" ".join(remove_tags(s).split()) for s in snippets[:1] if s]
    return ". ".join(part for part in parts if part)


class CourtListenerSpider(DiscoverySpider):
    name = "courtlistener"
    what_failed = "no_search_answered"
    custom_settings = {**DiscoverySpider.custom_settings, "CONCURRENT_REQUESTS": 1,
                       # every case has a name and the day it was filed
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/published": 1.0}}

    def __init__(self, api: str = LIVE_API, filed_after: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.api, self.filed_after = api, filed_after
        self.token = os.environ.get(TOKEN_VARIABLE, "").strip()

    async def start(self):
        if not self.token:
            skip_run(self, f"courtlistener: {TOKEN_VARIABLE} is not set, so CourtListener was not asked")
        for kind in SEARCHES:
            yield self.request(kind)

    def request(self, kind: str, cursor: str | None = None, page: int = 1) -> scrapy.Request:
        parameters = [("type", kind), ("q", WORDS), ("order_by", "dateFiled desc")]
        parameters += [("filed_after", self.filed_after)] if self.filed_after else []
        parameters += [("cursor", cursor)] if cursor else []
        address = self.api.format(type=kind, cursor=cursor or "first")
        return scrapy.Request(f"{address}?{urlencode(parameters)}",
                              headers={"Authorization": f"Token {self.token}"}, callback=self.parse_page,
                              errback=self.unreachable, cb_kwargs={"kind": kind, "page": page},
                              meta={"handle_httpstatus_list": list(REFUSALS)})

    def parse_page(self, response, kind: str, page: int):
        if response.status in REFUSALS:
            refused(self, response, TOKEN_VARIABLE)
        where = f"CourtListener {SEARCHES[kind]} page {page}"
        try:
            answer = json.loads(response.body)
            results = answer["results"]
        except (ValueError, KeyError, TypeError):
            return self.drop("not_a_search_page", where, response.body.decode("utf-8", errors="replace"))
        self.read += 1
        found: list = [self.document(result, kind) for result in results]
        cursor = parse_qs(urlsplit(answer.get("next") or "").query).get("cursor")
        if cursor and page < MAX_PAGES:
            found.append(self.request(kind, cursor[0], page + 1))
        elif cursor:
            self.crawler.stats.inc_value("frt/problems/pages_left")
            self.logger.warning("%s: more pages than %d; the rest is left for the next run", where, MAX_PAGES)
        return found

    def document(self, result: dict, kind: str) -> DiscoveredDocument:
        address = result.get("absolute_url") if kind == "o" else result.get("docket_absolute_url")
        return DiscoveredDocument(url=f"{SITE}{address}" if address else "", title=result.get("caseName"),
                                  publisher="CourtListener", published=result.get("dateFiled"), language="en",
                                  summary=summary_of(result), spider=self.name,
                                  query=f"{SEARCHES[kind]}: {WORDS}")

    def unreachable(self, failure):
        self.drop("unreachable", f"CourtListener {SEARCHES[failure.request.cb_kwargs['kind']]}",
                  f"{type(failure.value).__name__}: {failure.value}")
