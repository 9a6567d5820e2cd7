"""The article spider on a reconstructed page of a real article and synthetic pages (example.org):
the page's metadata (JSON-LD, OpenGraph, canonical link) and main text, its language found in the
text; what is dropped, each with its reason and a count (cookie wall, paywalled stub, bytes not in
the declared encoding, the same article under another address, an HTTP error); then one crawl over
loopback that asks only the articles not fetched before and feeds the leads step the page's text."""

import orjson
from conftest import FIXTURES, crawl, make_spider
from scrapy.http import HtmlResponse, Request

from nightly.loopback import CaptureServer
from pipelines.discover.documents import read_discovered, record_of
from scrapers.spiders.article import ArticleSpider

ARTICLES = FIXTURES / "discovery" / "articles"
PETITION = "https://algorithmwatch.org/en/petition-ban-face-recognition/"
EXAMPLE = "https://example.org/news/2025/example-wrongful-arrest?utm_source=feed"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def found(url: str) -> dict:
    return {"id": "doc-000000000000", "url": url, "title": "A feed's title", "publisher": "A feed",
            "published": None, "language": "en", "spider": "feeds", "query": "a feed"}


def same_article_in_windows_1252() -> bytes:
    """The synthetic article's page, its text the same, in windows-1252, with no date or canonical link."""
    page = (ARTICLES / "example_article.html").read_text(encoding="utf-8")
    for tag in ('<link rel="canonical" href="/news/2025/example-wrongful-arrest">\n',
                '"datePublished": "2025-04-02T10:00:00+02:00", '):
        page = page.replace(tag, "")
    return page.replace('<meta charset="utf-8">', '<meta charset="windows-1252">').encode("cp1252")


PAGES = {"same_article_cp1252": same_article_in_windows_1252(),
         # declared UTF-8, with a windows-1252 dash
         "not_utf8": (ARTICLES / "example_article.html").read_bytes().replace(b"week", b"week \x96")}


def read(spider, name: str, url: str, status: int = 200, content_type: str = "text/html") -> list[dict]:
    body = PAGES[name] if name in PAGES else (ARTICLES / name).read_bytes()
    response = HtmlResponse(url=url, body=body, status=status, headers={"Content-Type": content_type},
                            request=Request(url))
    return [vars(item) for item in spider.parse_article(response, found=found(url))]


def test_a_reconstructed_article_page_gives_its_metadata_and_its_text():
    spider = make_spider(ArticleSpider)
    [item] = read(spider, "algorithmwatch_petition.html", PETITION)
    assert (item["url"], item["publisher"], item["published"], item["language"], item["author"]) == (
        PETITION, "AlgorithmWatch", "2025-06-25", "en", None)
    assert item["title"] == ("Biometric anti-queer hostility in Hungary: Petition calls on EU Commission to "
                             "fully ban face recognition")
    assert "the AI Act forbids real-time face recognition" in item["summary"]
    assert "Newsletter" not in item["summary"] and "Donate" not in item["summary"]
    assert (item["spider"], item["query"]) == ("article", "doc-000000000000")
    assert not spider.crawler.stats.get_stats()


def test_json_ld_authors_a_relative_canonical_link_and_a_date_with_a_time():
    [item] = read(make_spider(ArticleSpider), "example_article.html", EXAMPLE)
    assert item["author"] == "Alex Example; Sam Sample"  # JSON-LD before <meta name=author>
    assert item["title"] == "Example Police Department arrests the wrong man after a face recognition match"
    record = record_of(item)
    assert (record["published"], record["author"], record["id"]) == ("2025-04-02", "Alex Example; Sam Sample",
                                                                     record_of(found(EXAMPLE))["id"])
    assert record["summary"].startswith("Example Police Department arrests the wrong man")


def test_a_page_in_windows_1252_without_a_date_is_read_and_counted():
    spider = make_spider(ArticleSpider)
    [item] = read(spider, "same_article_cp1252", "https://www.example.org/amp/wrongful-arrest")
    assert "café’s till" in item["summary"] and item["published"] is None
    assert spider.crawler.stats.get_stats() == {"frt/problems/no_date": 1}


def test_what_cannot_serve_is_dropped_with_its_reason():
    spider = make_spider(ArticleSpider)
    assert read(spider, "example_article.html", EXAMPLE)
    assert read(spider, "same_article_cp1252", "https://www.example.org/amp/arrest") == []
    assert read(spider, "not_utf8", "https://example.org/a") == []
    assert read(spider, "example_cookie_wall.html", "https://example.org/b") == []
    assert read(spider, "example_paywall.html", "https://example.org/c") == []
    assert read(spider, "example_article.html", "https://example.org/d", status=404) == []
    assert read(spider, "example_article.html", "https://example.org/e", content_type="application/pdf") == []
    assert spider.crawler.stats.get_stats() == {f"frt/dropped/{reason}": 1 for reason in (
        "same_article", "undecodable", "cookie_wall", "paywalled", "http_error", "not_html")}
    assert (spider.read, spider.dropped) == (1, 6)


def test_a_crawl_asks_only_the_articles_not_fetched_before(tmp_path):
    discovered = tmp_path / "discovered"
    discovered.mkdir()
    with CaptureServer(ARTICLES) as server:
        names = ("example_article.html", "example_cookie_wall.html", "algorithmwatch_petition.html")
        listed = [dict(record_of({**found(server.url(name)), "title": f"Listed {name}"}),
                       first_seen="2026-12-01") for name in names]
        (discovered / "feeds.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in listed))
        before = dict(listed[2], spider="article")  # the petition's page was fetched on an earlier night
        (discovered / "article.jsonl").write_bytes(orjson.dumps(before) + b"\n")
        code, stats, log = crawl("article", tmp_path / "items", settings=FAST,
                                 env={"FRT_DISCOVERED_DIR": str(discovered)})
        asked = sorted(entry.path for entry in server.log if entry.path != "/robots.txt")
    assert code == 0, log
    assert asked == ["/example_article.html", "/example_cookie_wall.html"]
    assert stats["frt/dropped/cookie_wall"] == 1
    records = {r["url"].rsplit("/", 1)[-1]: r for r in read_discovered(discovered)}
    assert records["example_article.html"]["spider"] == "article"
    assert records["example_article.html"]["title"].startswith("Example Police Department arrests")
    assert records["example_cookie_wall.html"]["title"] == "Listed example_cookie_wall.html"
    assert len(records) == 3
