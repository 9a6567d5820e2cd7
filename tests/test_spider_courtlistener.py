"""The courtlistener spider on reconstructed v4 search pages (SHAPES.md section 2): its two searches,
opinions and dockets as discovered documents with the court and docket in their summary, the cursor
followed, a page that is no search dropped, a refused quota; then real crawls: without a token
(skipped) and over the pages."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import FIXTURES, crawl, file_response, make_spider
from scrapy.exceptions import CloseSpider
from scrapy.http import TextResponse

from pipelines.discover.documents import record_of
from pipelines.snapshot.runlog import read_runs
from scrapers.items import DiscoveredDocument
from scrapers.spiders.courtlistener import WORDS, CourtListenerSpider

PAGES = FIXTURES / "discovery" / "courtlistener"


@pytest.fixture
def spider(monkeypatch):
    monkeypatch.setenv("COURTLISTENER_TOKEN", "test-token")
    return make_spider(CourtListenerSpider, filed_after="2020-01-01")


def answer(spider, name: str, kind: str = "o", page: int = 1):
    return spider.parse_page(file_response(PAGES / name), kind=kind, page=page)


def test_two_searches_newest_filed_first_with_the_token(spider):
    request = spider.request("r")
    assert parse_qs(urlsplit(request.url).query) == {
        "type": ["r"], "q": [WORDS], "order_by": ["dateFiled desc"], "filed_after": ["2020-01-01"]}
    assert request.url.startswith("https://www.courtlistener.com/api/rest/v4/search/?")
    assert request.headers["Authorization"] == b"Token test-token"


def test_an_opinion_is_a_discovered_document_naming_court_docket_and_citation(spider):
    found = answer(spider, "o-first.json")
    document = found[0]
    assert isinstance(document, DiscoveredDocument)
    record = record_of(vars(document))
    keys = ("url", "title", "publisher", "published", "language", "summary")
    assert {key: record[key] for key in keys} == {
        "url": "https://www.courtlistener.com/opinion/900000001/"
               "in-re-clearview-ai-inc-consumer-privacy-litigation/",
        "title": "In re Clearview AI, Inc., Consumer Privacy Litigation",
        "publisher": "CourtListener", "published": "2022-02-14", "language": "en",
        "summary": "District Court, N.D. Illinois. docket 1:21-cv-00135. 585 F. Supp. 3d 1111. the Clearview "
                   "defendants' motion to dismiss under the Illinois Biometric Information Privacy Act is "
                   "granted in part and denied in part"}
    assert record["queries"] == [f"opinions: {WORDS}"]


def test_the_cursor_of_next_is_followed_until_there_is_none(spider):
    first = answer(spider, "o-first.json")
    [following] = [r for r in first if not isinstance(r, DiscoveredDocument)]
    assert parse_qs(urlsplit(following.url).query)["cursor"] == ["cD0y"]
    assert following.cb_kwargs == {"kind": "o", "page": 2}
    last = answer(spider, "o-cD0y.json", page=2)
    assert [(d.published, d.summary.split(". ")[-1]) for d in last] == [
        ("2022-07-25", "motion for reconsideration denied; motion for clarification granted")]


def test_a_docket_is_addressed_by_its_docket_page(spider):
    found = answer(spider, "r-first.json", kind="r")
    assert [(d.title, d.published, d.url, d.summary) for d in found] == [
        ("Williams v. City of Detroit", "2021-04-13",
         "https://www.courtlistener.com/docket/900000021/williams-v-city-of-detroit/",
         "District Court, E.D. Michigan. docket 2:21-cv-10827"),
        ("Oliver v. Detroit, City of", "2020-10-06",
         "https://www.courtlistener.com/docket/900000022/oliver-v-detroit-city-of/",
         "District Court, E.D. Michigan. docket 2:20-cv-12711")]
    assert found[0].query == f"dockets: {WORDS}"


def test_a_page_that_is_no_search_is_dropped_with_its_reason(spider):
    response = TextResponse("https://www.courtlistener.com/api/rest/v4/search/",
                            body=b"<html>Bad gateway</html>")
    assert spider.parse_page(response, kind="o", page=1) == []
    assert spider.crawler.stats.get_value("frt/dropped/not_a_search_page") == 1


def test_a_refused_quota_stops_the_run_quoting_the_api(spider):
    body = b'{"detail": "Request was throttled. Expected available in 86400 seconds."}'
    response = TextResponse("https://www.courtlistener.com/api/rest/v4/search/?type=o", status=429, body=body)
    with pytest.raises(CloseSpider) as stopped:
        spider.parse_page(response, kind="o", page=1)
    assert stopped.value.reason == "quota_exceeded"
    assert spider.crawler.stats.get_value("frt/source_error_message") == (
        "courtlistener: https://www.courtlistener.com/api/rest/v4/search/ answered HTTP 429 (Request was "
        "throttled. Expected available in 86400 seconds.); check COURTLISTENER_TOKEN and the API's quota")


def test_without_a_token_the_run_is_skipped_not_failed(tmp_path):
    code, stats, log = crawl("courtlistener", tmp_path, env={"COURTLISTENER_TOKEN": ""},
                             settings={"FRT_DISCOVERED_DIR": tmp_path / "discovered"})
    assert code == 0, log
    assert stats["finish_reason"] == "skipped"
    [run] = read_runs(tmp_path / "runs", "courtlistener")
    assert (run["status"], run["requests"], run["error"]) == (
        "skipped", 0, "courtlistener: COURTLISTENER_TOKEN is not set, so CourtListener was not asked")
    assert not (tmp_path / "discovered" / "courtlistener.jsonl").exists()


def test_a_crawl_over_the_pages_finds_the_four_court_records(tmp_path):
    api = PAGES.as_uri() + "/{type}-{cursor}.json"
    code, stats, log = crawl("courtlistener", tmp_path, f"api={api}",
                             env={"COURTLISTENER_TOKEN": "test-token"},
                             settings={"ROBOTSTXT_OBEY": False,
                                       "FRT_DISCOVERED_DIR": tmp_path / "discovered"})
    assert code == 0, log
    [run] = read_runs(tmp_path / "runs", "courtlistener")
    assert (run["status"], run["items"]) == ("ok", 4), log
    lines = (tmp_path / "discovered" / "courtlistener.jsonl").read_text().splitlines()
    assert sorted((r["published"], r["title"]) for r in map(json.loads, lines)) == [
        ("2020-10-06", "Oliver v. Detroit, City of"), ("2021-04-13", "Williams v. City of Detroit"),
        ("2022-02-14", "In re Clearview AI, Inc., Consumer Privacy Litigation"),
        ("2022-07-25", "In re Clearview AI, Inc., Consumer Privacy Litigation")]
