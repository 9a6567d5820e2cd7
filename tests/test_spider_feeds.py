"""The feeds spider on reconstructed and synthetic feeds: RSS 2.0, Atom 1.0, a feed in windows-1252,
and what it does with an HTML error page, an HTTP error and text that is no feed; then one crawl
through the engine, whose run is partial (a feed dropped, the others read) and whose snapshot
holds one record per canonical URL."""

import json

from conftest import FIXTURES, crawl, file_response, make_spider
from scrapy.http import Request, TextResponse

from pipelines.discover.documents import NotADocument, record_of
from pipelines.snapshot.runlog import read_runs
from scrapers.spiders.feeds import FEEDS_FILE, FeedsSpider, read_feeds

DISCOVERY = FIXTURES / "discovery"
FEED = {"url": "https://example.org/feed/", "publisher": "Example Digital Rights", "language": "fr"}
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def parsed(name: str, feed: dict = FEED, **response):
    spider = make_spider(FeedsSpider, feeds=str(DISCOVERY / "feeds.yml"))
    answer = (TextResponse(url=FEED["url"], request=Request(FEED["url"]), **response) if response
              else file_response(DISCOVERY / name))
    found = spider.parse_feed(answer, feed=feed)
    return [vars(item) for item in found], spider.crawler.stats.get_stats()


def test_the_feed_list_names_the_nine_publishers_with_where_each_address_was_found():
    feeds = read_feeds(FEEDS_FILE)
    assert [feed["publisher"] for feed in feeds] == [
        "EDRi (European Digital Rights)", "AlgorithmWatch", "Big Brother Watch", "La Quadrature du Net",
        "Access Now", "ACLU", "EFF (Electronic Frontier Foundation)", "Internet Freedom Foundation",
        "Biometric Update"]
    assert all(feed["url"].startswith("https://") and feed["found"] and feed["language"] in ("en", "fr")
               for feed in feeds)


def test_a_wordpress_rss_feed_gives_each_entry_with_its_feed_publisher_and_language():
    feed = read_feeds(DISCOVERY / "feeds.yml")[0]
    items, stats = parsed("algorithmwatch_en.xml", feed)
    assert items == [{
        "url": "https://algorithmwatch.org/en/petition-ban-face-recognition/",
        "title": "Biometric anti-queer hostility in Hungary: Petition calls on EU Commission to fully ban "
                 "face recognition",
        "publisher": "AlgorithmWatch", "published": "Wed, 25 Jun 2025 00:00:00 +0000", "language": "en",
        "summary": "<p>With other groups, AlgorithmWatch starts a petition asking the European Commission to "
                   "enforce the AI Act&#8217;s limits on live face recognition in public spaces, because "
                   "Hungarian police may use it to identify people at the banned Budapest Pride on 28 June "
                   "2025.</p>",
        "spider": "feeds", "query": "algorithmwatch_en.xml"}]
    assert not any(key.startswith("frt/") for key in stats)
    record = record_of(items[0])
    assert record["id"] == "doc-10c1ba9adf1e" and record["published"] == "2025-06-25"
    assert record["summary"].startswith("With other groups, AlgorithmWatch starts a petition asking the "
                                        "European Commission to enforce the AI Act’s limits")


def test_an_atom_feed_and_an_entry_without_a_web_address():
    items, _ = parsed("atom_example.xml")
    assert [(item["title"], item["url"], item["published"]) for item in items] == [
        ("Example Police Department wrongly arrests a man after a face recognition match",
         "https://example.org/news/wrongful-arrest", "2025-04-02T10:00:00Z"),
        ("An entry without a link", "urn:uuid:00000000-0000-0000-0000-000000000003", "2025-04-01T10:00:00Z")]
    assert record_of(items[0])["published"] == "2025-04-02"
    try:
        record_of(items[1])
    except NotADocument as error:
        assert error.field == "url"
    else:
        raise AssertionError("an entry without a web address became a document")


def test_a_feed_in_windows_1252_is_read_in_its_declared_encoding():
    items, stats = parsed("windows1252.xml")
    assert items[0]["title"] == ("Example Police Department : caméras à reconnaissance faciale à la gare "
                                 "d’Exampleville")
    assert record_of(items[0])["summary"] == "Le préfet autorise l’essai « jusqu’à nouvel ordre »."
    assert record_of(items[0])["published"] == "2025-03-03"
    assert "frt/problems/feed_not_well_formed" not in stats


def test_a_feed_in_windows_1252_labelled_utf_8_is_read_and_counted():
    body = (DISCOVERY / "windows1252.xml").read_bytes()
    items, stats = parsed("", body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    assert items[0]["title"].startswith("Example Police Department : caméras")
    assert stats["frt/problems/feed_not_well_formed"] == 1


def test_an_html_error_page_an_http_error_and_text_that_is_no_feed_are_dropped_with_their_reason():
    assert parsed("html_error_page.html") == ([], {"frt/dropped/feed_is_html": 1})
    assert parsed("gdelt_rate_limit.txt")[1] == {"frt/dropped/feed_unparseable": 1}
    body = (DISCOVERY / "algorithmwatch_en.xml").read_bytes()
    assert parsed("", body=body, status=503) == ([], {"frt/dropped/feed_http_error": 1})
    assert parsed("", body=b"  \n") == ([], {"frt/dropped/feed_empty": 1})


def test_a_crawl_reads_every_feed_it_can_and_keeps_one_record_per_canonical_url(tmp_path):
    (tmp_path / "windows1252.xml").write_bytes((DISCOVERY / "windows1252.xml").read_bytes())
    (tmp_path / "a_mirror.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Example mirror</title>'
        "<item><title>Example Police Department : caméras à reconnaissance faciale</title>"
        "<link>http://www.example.org/2025/03/cameras-reconnaissance-faciale</link>"
        "<pubDate>Tue, 04 Mar 2025 09:00:00 +0000</pubDate></item></channel></rss>", encoding="utf-8")
    listed = [(str(DISCOVERY / "algorithmwatch_en.xml"), "AlgorithmWatch", "en"),
              ("windows1252.xml", "Example Libertés", "fr"), ("a_mirror.xml", "Example mirror", "fr"),
              (str(DISCOVERY / "atom_example.xml"), "Example Watch", "en"),
              (str(DISCOVERY / "html_error_page.html"), "Example error page", "en")]
    (tmp_path / "feeds.yml").write_text(json.dumps([
        {"url": url, "publisher": publisher, "language": language} for url, publisher, language in listed]),
        encoding="utf-8")
    items = tmp_path / "items"
    code, stats, log = crawl("feeds", items, f"feeds={tmp_path / 'feeds.yml'}", settings=FAST,
                             env={"FRT_DISCOVERED_DIR": str(tmp_path / "discovered")})
    assert code == 0, log
    assert f"feed {DISCOVERY / 'html_error_page.html'} (Example error page) dropped, feed_is_html" in log
    lines = (tmp_path / "discovered" / "feeds.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    by_title = {record["title"]: record for record in records}
    assert len(records) == 3 and sorted(by_title) == [
        "Biometric anti-queer hostility in Hungary: Petition calls on EU Commission to fully ban face "
        "recognition",
        "Example Police Department : caméras à reconnaissance faciale",
        "Example Police Department wrongly arrests a man after a face recognition match"]
    # one article under two addresses: one record, with both feeds; its fields from the listing first
    # in source order (the answers sorted by address: a_mirror.xml before windows1252.xml)
    same = by_title["Example Police Department : caméras à reconnaissance faciale"]
    assert same["canonical_url"] == "https://example.org/2025/03/cameras-reconnaissance-faciale"
    assert same["queries"] == ["a_mirror.xml", "windows1252.xml"]
    assert (same["publisher"], same["published"]) == ("Example mirror", "2025-03-04")
    assert same["first_seen"] == "2026-11-21"
    assert [record["id"] for record in records] == sorted(record["id"] for record in records)
    [run] = read_runs(items / "runs", "feeds")
    assert (run["status"], run["mode"], run["items"]) == ("partial", "incremental", 3)
    assert run["snapshot"] == "replaced"
    assert run["dropped_reasons"] == {"feed_is_html": 1, "url": 1}


def test_a_crawl_where_no_feed_can_be_read_fails_and_keeps_the_snapshot(tmp_path):
    (tmp_path / "feeds.yml").write_text(json.dumps([{"url": str(DISCOVERY / "html_error_page.html"),
                                                     "publisher": "Example error page", "language": "en"}]))
    items = tmp_path / "items"
    code, _, log = crawl("feeds", items, f"feeds={tmp_path / 'feeds.yml'}", settings=FAST,
                         env={"FRT_DISCOVERED_DIR": str(tmp_path / "discovered")})
    [run] = read_runs(items / "runs", "feeds")
    assert (run["status"], run["finish_reason"], run["snapshot"]) == ("failed", "no_feed_read", "kept")
    assert "feeds: nothing could be read (1 answers dropped" in run["error"]
    assert not (tmp_path / "discovered" / "feeds.jsonl").exists()
