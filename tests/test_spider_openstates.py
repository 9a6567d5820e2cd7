"""The openstates spider on reconstructed /bills pages (SHAPES.md section 1): its query, the bills as
legal actions (kind and status from their actions), the pages it follows, a bill only mentioning
the words left out, a refused quota; then real crawls: without a key (skipped) and over the pages."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import FIXTURES, crawl, file_response, make_spider
from scrapy.exceptions import CloseSpider
from scrapy.http import TextResponse

from pipelines.snapshot.runlog import read_runs
from scrapers.items import LegalAction
from scrapers.spiders.openstates import OpenStatesSpider, standing

PAGES = FIXTURES / "discovery" / "openstates"


@pytest.fixture
def spider(monkeypatch):
    monkeypatch.setenv("OPENSTATES_API_KEY", "test-key")
    return make_spider(OpenStatesSpider)


def answer(spider, name: str, page: int = 1):
    return list(spider.parse_page(file_response(PAGES / name), page=page))


def test_one_query_for_every_state_twenty_bills_a_page_with_actions_sources_and_abstracts(spider):
    request = spider.request(3)
    query = parse_qs(urlsplit(request.url).query)
    assert query == {"q": ['"facial recognition"'], "sort": ["latest_action_desc"], "per_page": ["20"],
                     "page": ["3"], "include": ["actions", "sources", "abstracts"]}
    assert request.headers["X-API-KEY"] == b"test-key"
    assert "jurisdiction" in parse_qs(urlsplit(OpenStatesSpider(jurisdiction="md").request(1).url).query)


def test_a_signed_bill_is_a_law_enacted_on_the_day_the_governor_signed_it(spider):
    found = answer(spider, "page1.json")
    maryland = found[0]
    assert isinstance(maryland, LegalAction)
    expected = {
        "source": "openstates", "source_id": "ocd-bill/00000000-0000-0000-0000-000000000182",
        "title": "Maryland SB 182 (2024): Criminal Procedure - Facial Recognition Technology - "
                 "Requirements, Procedures, and Prohibitions",
        "summary": "Sets requirements, procedures and prohibitions for the use of facial recognition "
                   "technology by law enforcement agencies, with training and annual reporting.",
        "date": "2024-05-16", "country": "US", "region": "Maryland", "kind": "law", "status": "enacted",
        "jurisdiction_level": "state", "jurisdiction": "Maryland",
        "source_url": "https://openstates.org/md/bills/2024RS/SB182/",
        "documents": [
            {"url": "https://openstates.org/md/bills/2024RS/SB182/", "title": "Maryland SB 182",
             "publisher": "Open States", "published": None, "language": None, "archive_url": None,
             "role": "dataset"},
            {"url": "https://mgaleg.maryland.gov/mgawebsite/Legislation/Details/sb0182?ys=2024RS",
             "title": None, "publisher": "Maryland legislature", "published": None, "language": None,
             "archive_url": None, "role": "primary"}]}
    found_fields = vars(maryland) | {"documents": [vars(d) for d in maryland.documents]}
    assert {key: found_fields[key] for key in expected} == expected
    montana = found[1]
    assert (montana.region, montana.kind, montana.status, montana.date, montana.summary,
            len(montana.documents)) == ("Montana", "law", "enacted", "2023-06-29", None, 1)


def test_the_first_page_asks_for_every_later_page_and_a_later_page_for_none(spider):
    first = answer(spider, "page1.json")
    requests = [r for r in first if not isinstance(r, LegalAction)]
    assert [parse_qs(urlsplit(r.url).query)["page"] for r in requests] == [["2"]]
    second = answer(spider, "page2.json", page=2)
    assert [type(item) for item in second] == [LegalAction]
    # passed both chambers, never signed: pending since its last passage
    assert (second[0].kind, second[0].status, second[0].date) == ("bill", "pending", "2023-04-10")


def test_status_from_the_latest_action_that_says_where_the_bill_stands():
    def action(day, *classification):
        return {"date": day, "classification": list(classification)}

    assert standing([action("2021-01-05", "introduction"), action("2021-02-01", "referral-committee")]) == (
        "proposed", "2021-01-05")
    assert standing([action("2021-01-05", "introduction"), action("2021-03-01", "passage"),
                     action("2021-04-01", "executive-veto")]) == ("rejected", "2021-04-01")
    assert standing([action("2021-01-05", "introduction"), action("2021-05-01", "failure")]) == (
        "rejected", "2021-05-01")
    assert standing([action("2021-06-01T00:00:00+00:00", "withdrawal")]) == ("withdrawn", "2021-06-01")
    assert standing([]) == ("proposed", None)


def test_a_bill_that_only_mentions_the_words_is_not_kept(spider):
    synthetic = {"id": "ocd-bill/example", "identifier": "HB 1", "session": "2099",
                 "title": "Example state budget act", "jurisdiction": {"name": "Example State"},
                 "subject": ["APPROPRIATIONS"],
                 "abstracts": [{"abstract": "Funds the Example Police Department."}],
                 "openstates_url": "https://example.org/bills/HB1/"}
    page = {"results": [synthetic],
            "pagination": {"per_page": 20, "page": 1, "max_page": 1, "total_items": 1}}
    response = TextResponse("https://v3.openstates.org/bills?page=1", body=json.dumps(page).encode())
    assert list(spider.parse_page(response, page=1)) == []
    assert spider.crawler.stats.get_value("frt/problems/not_about_face_recognition") == 1


def test_a_refused_quota_stops_the_run_quoting_the_api(spider):
    response = TextResponse("https://v3.openstates.org/bills?page=1", status=429,
                            body=(PAGES / "quota.json").read_bytes())
    with pytest.raises(CloseSpider) as stopped:
        list(spider.parse_page(response, page=1))
    assert stopped.value.reason == "quota_exceeded"
    assert spider.crawler.stats.get_value("frt/source_error_message") == (
        "openstates: https://v3.openstates.org/bills answered HTTP 429 (Request was throttled. Expected "
        "available in 3600 seconds.); check OPENSTATES_API_KEY and the API's quota")


def test_without_a_key_the_run_is_skipped_not_failed(tmp_path):
    code, stats, log = crawl("openstates", tmp_path, env={"OPENSTATES_API_KEY": ""})
    assert code == 0, log
    assert stats["finish_reason"] == "skipped"
    assert "downloader/request_count" not in stats
    [run] = read_runs(tmp_path / "runs", "openstates")
    assert (run["status"], run["snapshot"], run["error"]) == (
        "skipped", "kept", "openstates: OPENSTATES_API_KEY is not set, so Open States was not asked")
    assert not (tmp_path / "openstates.jsonl").exists()


def test_a_crawl_over_the_pages_keeps_the_three_bills(tmp_path):
    api = PAGES.as_uri() + "/page{page}.json"
    code, stats, log = crawl("openstates", tmp_path, f"api={api}", env={"OPENSTATES_API_KEY": "test-key"},
                             settings={"ROBOTSTXT_OBEY": False})
    assert code == 0, log
    [run] = read_runs(tmp_path / "runs", "openstates")
    assert (run["status"], run["items"]) == ("ok", 3), log
    records = [json.loads(line) for line in (tmp_path / "openstates.jsonl").read_text().splitlines()]
    assert sorted((r["region"], r["kind"], r["status"]) for r in records) == [
        ("Maryland", "bill", "pending"), ("Maryland", "law", "enacted"), ("Montana", "law", "enacted")]
