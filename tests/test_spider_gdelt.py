"""The gdelt spider on reconstructed ArtList answers (the documented shape: SHAPES.md section 5): its
queries and windows, the articles, GDELT's quirks (`{}`, a rate limit or an error page with HTTP 200),
a full window asked again in halves; then a crawl through the engine over the captures."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from conftest import FIXTURES, crawl, file_response, make_spider
from scrapy.utils.test import get_crawler

from pipelines.discover.documents import record_of
from pipelines.snapshot.runlog import append_run, read_runs
from scrapers.spiders.gdelt import GdeltSpider

DISCOVERY = FIXTURES / "discovery"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}
START, END = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)


def spider(settings: dict | None = None, **arguments):
    if settings is None:
        return make_spider(GdeltSpider, until="20250301000000", **arguments)
    crawler = get_crawler(GdeltSpider, settings)
    crawler.spider = GdeltSpider.from_crawler(crawler, until="20250301000000", **arguments)
    return crawler.spider


def answer(gdelt, name, **kwargs):
    return gdelt.parse_articles(file_response(DISCOVERY / name), code="en", start=START, end=END, **kwargs)


def parameters(request) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(request.url).query).items()}


def test_one_query_a_language_over_the_window_politely():
    gdelt = spider(since="20250101000000")
    assert gdelt.languages == ["en", "de", "fr", "it", "es", "pt", "nl", "pl", "sr", "ru", "zh"]
    first = parameters(gdelt.request("sr", START, END))
    assert first == {
        "query": '("facial recognition" OR "face recognition") sourcelang:serbian',
        "mode": "ArtList",
        "format": "json",
        "maxrecords": "250",
        "sort": "DateDesc",
        "startdatetime": "20250101000000",
        "enddatetime": "20250301000000",
    }
    assert parameters(gdelt.request("zh", START, END))["query"].endswith("sourcelang:chinese")
    settings = GdeltSpider.custom_settings
    assert (
        settings["DOWNLOAD_DELAY"],
        settings["DOWNLOAD_DELAY_JITTER"],
        settings["CONCURRENT_REQUESTS"],
    ) == (5.0, 0, 1)


def test_the_window_starts_at_the_last_ok_run_within_gdelt_s_three_months(tmp_path):
    gdelt = spider({"FRT_RUNS_DIR": str(tmp_path)})
    assert gdelt.window_start() == datetime(2025, 3, 1, tzinfo=UTC) - timedelta(days=90)
    for started, status in (("2025-02-10T02:00:00+00:00", "ok"), ("2025-02-20T02:00:00+00:00", "partial")):
        append_run(
            tmp_path, {"run": f"gdelt-{started}", "spider": "gdelt", "started": started, "status": status}
        )
    assert gdelt.window_start() == datetime(2025, 2, 10, 1, 0, tzinfo=UTC)  # the ok run, an hour before
    assert spider(since="20240101000000").window_start() == datetime(2024, 12, 1, tzinfo=UTC)


def test_an_article_list_gives_each_article_in_its_language():
    items = [vars(item) for item in answer(spider(), "gdelt/pt.json")]
    assert items == [
        {
            "url": "https://www.bol.uol.com.br/noticias/2025/04/13/reconhecimento-facial-de-sp-confunde-idoso-com-"
            "estuprador-foragido.htm",
            "title": "Reconhecimento facial de SP confunde idoso com estuprador foragido",
            "publisher": "bol.uol.com.br",
            "published": "20250413T000000Z",
            "language": "pt",
            "summary": None,
            "spider": "gdelt",
            "query": '("facial recognition" OR "face recognition") sourcelang:english',
        },
        {
            "url": "https://www.portaltela.com/breaking-news/politica/2025/04/13/aposentado-de-80-anos-e-"
            "confundido-com-estuprador-por-sistema-de-reconhecimento-facial-em-sp",
            "title": "Aposentado de 80 anos é confundido com estuprador por sistema de reconhecimento "
            "facial em SP",
            "publisher": "portaltela.com",
            "published": "20250413T000000Z",
            "language": "pt",
            "summary": None,
            "spider": "gdelt",
            "query": '("facial recognition" OR "face recognition") sourcelang:english',
        },
    ]
    record = record_of(items[0])
    assert (record["id"], record["published"]) == ("doc-c906e8b2ba31", "2025-04-13")


def test_no_articles_is_an_empty_object_and_is_counted():
    gdelt = spider()
    assert answer(gdelt, "gdelt/fr.json") == []
    assert gdelt.crawler.stats.get_stats() == {"frt/problems/no_articles": 1}
    assert gdelt.read == 1


def test_a_rate_limit_served_with_200_is_asked_once_more_then_dropped():
    gdelt = spider()
    [again] = answer(gdelt, "gdelt_rate_limit.txt")
    assert parameters(again)["startdatetime"] == "20250101000000" and again.cb_kwargs["retried"]
    assert answer(gdelt, "gdelt_rate_limit.txt", retried=True) == []
    assert gdelt.crawler.stats.get_stats() == {"frt/problems/rate_limited": 1, "frt/dropped/rate_limited": 1}


def test_an_html_error_page_and_broken_json_are_dropped_with_their_reason(tmp_path):
    gdelt = spider()
    assert answer(gdelt, "gdelt_error_page.html") == []
    (tmp_path / "broken.json").write_text('{"articles": [{"url": "https://example.org/a", "title": "A\x00')
    assert (
        gdelt.parse_articles(file_response(tmp_path / "broken.json"), code="de", start=START, end=END) == []
    )
    assert gdelt.crawler.stats.get_stats() == {"frt/dropped/html_page": 1, "frt/dropped/not_json": 1}
    assert gdelt.read == 0


def test_a_full_window_is_asked_again_in_two_halves(tmp_path):
    articles = [
        {
            "url": f"https://example.org/news/{n}",
            "title": f"Example face recognition story {n}",
            "seendate": "20250115T120000Z",
            "domain": "example.org",
            "language": "English",
            "sourcecountry": "United States",
        }
        for n in range(250)
    ]
    (tmp_path / "full.json").write_text(json.dumps({"articles": articles}))
    found = spider().parse_articles(file_response(tmp_path / "full.json"), code="en", start=START, end=END)
    *documents, first_half, second_half = found
    assert len(documents) == 250
    assert [
        (parameters(r)["startdatetime"], parameters(r)["enddatetime"]) for r in (first_half, second_half)
    ] == [("20250101000000", "20250130120000"), ("20250130120000", "20250301000000")]
    narrow = spider().parse_articles(
        file_response(tmp_path / "full.json"), code="en", start=START, end=START + timedelta(minutes=30)
    )
    assert len(narrow) == 250  # a window of an hour or less is not split further


def test_a_crawl_over_the_captures(tmp_path):
    items = tmp_path / "items"
    api = f"{(DISCOVERY / 'gdelt').as_uri()}/{{language}}.json"
    code, stats, log = crawl(
        "gdelt",
        items,
        f"api={api}",
        "languages=en,de,fr",
        "until=20261208000000",
        settings=FAST,
        env={"FRT_DISCOVERED_DIR": str(tmp_path / "discovered")},
    )
    assert code == 0, log
    records = [
        json.loads(line) for line in (tmp_path / "discovered" / "gdelt.jsonl").read_text().splitlines()
    ]
    assert [(record["id"], record["language"], record["published"]) for record in records] == [
        ("doc-32513cf5174f", "en", "2025-06-29"),
        ("doc-4331791e94d9", "de", "2025-09-30"),
        ("doc-73cb380abb21", "en", "2026-01-27"),
        ("doc-87bb934677d2", "de", "2025-03-18"),
    ]
    [run] = read_runs(items / "runs", "gdelt")
    assert (run["status"], run["mode"], run["items"], run["problems"]) == (
        "ok",
        "incremental",
        4,
        {"no_articles": 1},
    )
