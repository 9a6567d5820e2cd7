"""The aiaaic spider on the AIAAIC sheet: the real flattened sample in ../shared/real (its one face
recognition entry of ten), a synthetic copy of the raw export's layout (title row, column names,
sub-header), what stops a run (an HTML page, renamed columns, text not in UTF-8), and one crawl
through the engine into the discovered documents' snapshot."""

import json

import pytest
from conftest import FIXTURES, crawl, file_response, make_spider, shared_file
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, TextResponse

from pipelines.discover.documents import record_of
from scrapers.spiders.aiaaic import AiaaicSpider

RAW_LAYOUT = FIXTURES / "discovery" / "aiaaic_raw_layout.csv"
SAMPLE = "aiaaic/aiaaic_subset_broad_first10_dissertation_derived.csv"


def parsed(response):
    spider = make_spider(AiaaicSpider, start_url=response.url)
    return [vars(item) for item in spider.parse(response)], spider.crawler.stats.get_stats()


def answer(body: bytes, status: int = 200):
    url = "https://example.org/export.csv"
    return TextResponse(url=url, body=body, status=status, request=Request(url))


def test_the_real_sample_gives_its_one_face_recognition_entry():
    items, stats = parsed(file_response(shared_file(SAMPLE)))
    assert [item["title"] for item in items] == [
        "Christopher Gatlin jailed for two years after faulty facial recognition match"]
    [item] = items
    assert item["url"] == ("https://www.aiaaic.org/aiaaic-repository/ai-algorithmic-and-automation-incidents/"
                           "christopher-gatlin-facial-recognition-wrongful-arrest")
    assert (item["publisher"], item["published"], item["language"]) == ("AIAAIC Repository", None, "en")
    assert item["summary"].startswith("AIAAIC1872. Occurred: 2021. Country: USA. Sector: Govt - police. "
                                      "Deployer: Pagedale Police Department. Technology: Facial recognition")
    assert stats == {"frt/skipped/not_face_recognition": 9}
    assert record_of(item)["canonical_url"].startswith("https://aiaaic.org/aiaaic-repository/")


def test_the_raw_layout_skips_its_header_rows_and_blank_rows():
    items, stats = parsed(file_response(RAW_LAYOUT))
    assert [(item["title"], item["url"]) for item in items] == [
        ("Example Police Department face recognition match leads to wrongful arrest",
         "https://example.org/aiaaic/example-wrongful-arrest"),
        ("Example station tests live face recognition cameras", "")]
    assert "Developer: Example Vendor. System: ExampleFace." in items[0]["summary"]
    assert stats == {"frt/skipped/not_face_recognition": 1}


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", 200, "not_the_sheet"),
    (b"AIAAIC ID#,Headline\n", 503, "not_the_sheet"),
    (b"AIAAIC ID#,Title,Technology(ies),Summary/links\nAIAAIC1,x,Facial recognition,https://example.org/\n",
     200, "columns_changed"),
    ("AIAAIC ID#,Headline,Technology(ies),Summary/links\nAIAAIC1,Café,Facial recognition,x\n"
     .encode("cp1252"), 200, "not_utf8"),
])
def test_an_answer_that_is_not_the_sheet_stops_the_run(body, status, reason):
    spider = make_spider(AiaaicSpider)
    with pytest.raises(CloseSpider) as stopped:
        list(spider.parse(answer(body, status)))
    assert stopped.value.reason == reason
    assert spider.crawler.stats.get_value(f"frt/source_error/{reason}") == 1


def test_a_crawl_keeps_the_entries_with_a_web_address(tmp_path):
    items = tmp_path / "items"
    code, stats, log = crawl("aiaaic", items, f"start_url={RAW_LAYOUT.as_uri()}",
                             env={"FRT_DISCOVERED_DIR": str(tmp_path / "discovered")})
    assert code == 0, log
    lines = (tmp_path / "discovered" / "aiaaic.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["title"] for record in records] == [
        "Example Police Department face recognition match leads to wrongful arrest"]
    assert stats["frt/dropped/url"] == 1
