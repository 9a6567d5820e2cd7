"""Open States API v3 `/bills`: US state bills on facial recognition → legal_actions (bill, law, resolution).

One full-text query, `q="facial recognition"`, over every state (Open States searches each state's
bills; `-a jurisdiction=md` narrows it to one), newest action first, 20 bills a page (the API's
maximum), each page asked in turn up to the answer's `pagination.max_page`, with the bill's actions,
sources and abstracts included (../shared/real/api_shapes/SHAPES.md, section 1). Each bill is a
LegalAction: kind `law` once an action says it was signed or became law, `resolution` for a
resolution, else `bill`; status and date from its latest action that says where it stands
(ACTION_STATUSES: introduced → proposed, passed a chamber → pending, signed or became law → enacted,
vetoed or failed → rejected, withdrawn); jurisdiction the state; sources its Open States page (a
dataset) and the legislature pages Open States lists (primary). Full text matches bills that only
mention the words in passing: a bill whose title, abstracts and subjects do not name face
recognition is not kept (counted under `frt/problems/not_about_face_recognition`).

The API needs a key, OPENSTATES_API_KEY, sent as the `X-API-KEY` header. Without it the spider
stops at once and its run is logged as skipped, not failed (scrapers/runs.py, skip_run). An answer
that refuses the key or the quota (HTTP 401, 403, 429, after the retries of a 429) stops the run,
quoting the API's own `detail`. `-a api=<address>` asks another server (a `{page}` in it names each
page's capture).
"""

import json
import os
import re
from urllib.parse import urlencode

import scrapy

from scrapers.items import DocumentRef, LegalAction
from scrapers.runs import skip_run
from scrapers.sourceerror import stop

LIVE_API = "https://v3.openstates.org/bills"
KEY_VARIABLE = "OPENSTATES_API_KEY"
QUERY = '"facial recognition"'
PER_PAGE = 20
INCLUDES = ("actions", "sources", "abstracts")
REFUSALS = (401, 403, 429)
ABOUT_FACES = re.compile(r"\bfac(?:e|ial)[\s-]*(?:recognition|surveillance|identification|biometric)",
                         re.IGNORECASE)
# Open States' action classifications (the OCD vocabulary) that say where a bill stands
ACTION_STATUSES = {"became-law": "enacted", "executive-signature": "enacted",
                   "executive-veto": "rejected", "failure": "rejected", "withdrawal": "withdrawn",
                   "passage": "pending", "introduction": "proposed", "filing": "proposed"}
ENACTING = {"became-law", "executive-signature"}


def api_detail(body: bytes) -> str:
    """The API's own reason in an error answer (FastAPI's and DRF's `detail`), else its first words."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        answer = json.loads(text)
    except ValueError:
        return text[:200] or "an empty answer"
    if isinstance(answer, dict):
        for key in ("detail", "message", "error"):
            if answer.get(key):
                return str(answer[key])
    return text[:200]


def refused(spider, response, key_variable: str):
    """Stop the run on an answer that refuses the key or the quota, saying which and why."""
    reason = "quota_exceeded" if response.status == 429 else "key_refused"
    stop(spider, reason, f"{spider.name}: {response.url.split('?')[0]} answered HTTP {response.status} "
                         f"({api_detail(response.body)}); check {key_variable} and the API's quota")


def standing(actions: list[dict]) -> tuple[str, str | None]:
    """The status and its date from the latest action that says where the bill stands."""
    for action in sorted(actions, key=lambda a: (a.get("date") or "", a.get("order") or 0), reverse=True):
        for classification in action.get("classification") or []:
            if classification in ACTION_STATUSES:
                return ACTION_STATUSES[classification], (action.get("date") or "")[:10] or None
    return "proposed", None


class OpenStatesSpider(scrapy.Spider):
    name = "openstates"
    custom_settings = {"CONCURRENT_REQUESTS": 1,
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/region": 1.0}}

    def __init__(self, api: str = LIVE_API, jurisdiction: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.api, self.jurisdiction = api, jurisdiction
        self.key = os.environ.get(KEY_VARIABLE, "").strip()

    async def start(self):
        if not self.key:
            skip_run(self, f"openstates: {KEY_VARIABLE} is not set, so Open States was not asked")
        yield self.request(1)

    def request(self, page: int) -> scrapy.Request:
        parameters = [("q", QUERY), ("sort", "latest_action_desc"), ("per_page", PER_PAGE), ("page", page)]
        parameters += [("jurisdiction", self.jurisdiction)] if self.jurisdiction else []
        parameters += [("include", include) for include in INCLUDES]
        return scrapy.Request(f"{self.api.format(page=page)}?{urlencode(parameters)}",
                              headers={"X-API-KEY": self.key}, callback=self.parse_page,
                              cb_kwargs={"page": page}, meta={"handle_httpstatus_list": list(REFUSALS)})

    def parse_page(self, response, page: int):
        if response.status in REFUSALS:
            refused(self, response, KEY_VARIABLE)
        try:
            answer = json.loads(response.body)
            bills, pagination = answer["results"], answer["pagination"]
        except (ValueError, KeyError, TypeError):
            stop(self, "not_bills", f"{response.url} is not an Open States page of bills "
                                    f"(starts {response.body[:60]!r})")
        for bill in bills:
            if self.about_face_recognition(bill):
                yield self.legal_action(bill)
            else:
                self.crawler.stats.inc_value("frt/problems/not_about_face_recognition")
        if page == 1:
            for later in range(2, (pagination.get("max_page") or 1) + 1):
                yield self.request(later)

    @staticmethod
    def about_face_recognition(bill: dict) -> bool:
        texts = [bill.get("title") or "", *(a.get("abstract") or "" for a in bill.get("abstracts") or []),
                 *(bill.get("subject") or [])]
        return any(ABOUT_FACES.search(text) for text in texts)

    def legal_action(self, bill: dict) -> LegalAction:
        actions = bill.get("actions") or []
        classifications = {c for action in actions for c in action.get("classification") or []}
        status, day = standing(actions)
        kind = ("law" if classifications & ENACTING
                else "resolution" if "resolution" in (bill.get("classification") or []) else "bill")
        state = (bill.get("jurisdiction") or {}).get("name")
        abstracts = [a["abstract"] for a in bill.get("abstracts") or [] if a.get("abstract")]
        documents = []
        if bill.get("openstates_url"):
            documents.append(DocumentRef(url=bill["openstates_url"], title=f"{state} {bill['identifier']}",
                                         publisher="Open States", role="dataset"))
        documents += [DocumentRef(url=source["url"], publisher=f"{state} legislature", role="primary")
                      for source in bill.get("sources") or [] if source.get("url")]
        return LegalAction(
            source=self.name, source_id=bill["id"],
            title=f"{state} {bill['identifier']} ({bill.get('session')}): {bill.get('title')}",
            summary=abstracts[0] if abstracts else None,
            date=day or bill.get("first_action_date"), country="US", region=state,
            kind=kind, status=status, jurisdiction_level="state", jurisdiction=state,
            source_url=bill.get("openstates_url"), documents=documents)
