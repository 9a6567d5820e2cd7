"""Scraped text is shown as text, never run: a synthetic deployment whose every free-text field
carries a script or an event handler, built into a test database of its own (never the demo
one), appears literally on every page that shows it, and no payload runs: each would set
window.__xss, which stays undefined. Links whose target is not an http(s) URL are not made. The
Atom feed, which no browser runs, is read in process.
"""

import json
import xml.etree.ElementTree as ElementTree

import bibtexparser
import pytest
from conftest import RELEASE, REPO, InProcess
from served import chromium, datasette_server, offline_page, write_items

from pipelines.build import build
from scrapers.items import Deployment, DocumentRef

TITLE = ('<script>window.__xss="title"</script>Example Police Department pilot '
         '<img src=x onerror="window.__xss=1">')
SUMMARY = ('"><svg onload="window.__xss=2"></svg> Synthetic row for the escaping tests; '
           "'); window.__xss=3; //")
DOCUMENT_TITLE = '<script>window.__xss="document"</script>Example report'
PUBLISHER = '<img src=x onerror="window.__xss=4">Example News'
OPERATOR = 'Example Police Department"><script>window.__xss=5</script>'
VENDOR = "Example Vendor <iframe src=javascript:window.__xss=6>"
ROW = "/evidence/deployments/dep-xsstest-1"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    directory = tmp_path_factory.mktemp("escaping")
    document = DocumentRef(url="https://example.org/report", title=DOCUMENT_TITLE,
                           publisher=PUBLISHER, published="2026-01-02",
                           archive_url="javascript:window.__xss=7")
    write_items(directory / "items", "xsstest", [Deployment(
        source="xsstest", source_id="1", title=TITLE, summary=SUMMARY, date="2026-12-01",
        country="IS", place="Reykjavik", operator=OPERATOR, vendors=[VENDOR],
        source_url="javascript:window.__xss=8", documents=[document])], run_date="2026-11-21")
    db_path = directory / "evidence.db"
    # no registry of published ids: every row enters the base on the build's day, and the newest
    # event (this one) heads the home page's newest evidence
    build(db_path, items_dir=directory / "items", curated_dir=REPO / "data" / "curated",
          built_at=RELEASE, published_file=None)
    return db_path


@pytest.fixture(scope="module")
def site(db_path):
    with chromium() as browser, datasette_server(db_path) as base:
        yield browser, base


@pytest.fixture
def page(site):
    browser, base = site
    with offline_page(browser, base, []) as opened:
        yield opened


def assert_nothing_ran(page):
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("a[href^='javascript:'], iframe, svg[onload], img[onerror]").count() == 0


def test_row_page_shows_the_payloads_as_text(page, site):
    page.goto(site[1] + ROW)
    assert page.locator("article.event h1").inner_text() == TITLE
    assert page.locator("p.summary").inner_text() == SUMMARY
    assert page.locator("ol.document-list .doc-title").inner_text() == DOCUMENT_TITLE
    assert PUBLISHER in page.locator("ol.document-list .meta-line").inner_text()
    facts = page.locator(".facts").inner_text()
    assert OPERATOR in facts and VENDOR in facts
    assert "archived copy" not in page.locator("ol.document-list").inner_text()
    [entry] = bibtexparser.parse_string(page.locator("pre.cite-bibtex").inner_text()).entries
    assert "Example Police Department pilot" in entry.fields_dict["title"].value
    [item] = json.loads(page.locator("pre.cite-csl-json").inner_text())
    assert item["title"] == TITLE
    page.locator("details.raw-fields summary").click()
    assert page.locator("td.col-title").inner_text() == TITLE
    assert_nothing_ran(page)


@pytest.mark.parametrize("path", ["/", "/evidence/deployments?source=xsstest",
                                  "/evidence/new_evidence?source=xsstest",
                                  "/evidence/search_all?q=synthetic", "/evidence/organisations"])
def test_lists_show_the_title_as_text(page, site, path):
    page.goto(site[1] + path)
    text = page.locator("section.content").inner_text()
    assert TITLE in text or OPERATOR in text
    assert_nothing_ran(page)


def test_search_across_tables_shows_the_payload_as_text(page, site):
    page.goto(site[1] + "/search?q=synthetic")
    assert page.locator("li.search-result a.result-title").inner_text() == TITLE
    assert_nothing_ran(page)


def test_map_popup_shows_the_payload_as_text(page, site):
    page.goto(site[1] + "/evidence/evidence_map?country=IS")
    page.locator(".leaflet-marker-icon").click()
    popup = page.locator(".leaflet-popup-content")
    assert TITLE in popup.inner_text()
    assert popup.locator("a").get_attribute("href") == ROW
    assert_nothing_ran(page)


def test_atom_feed_carries_the_payload_as_text(db_path):
    in_process = InProcess(db_path)
    try:
        response = in_process.get("/evidence/new_evidence.atom?source=xsstest")
    finally:
        in_process.close()
    assert response.status_code == 200
    [entry] = ElementTree.fromstring(response.content).findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == TITLE
    assert entry.find(f"{ATOM}content").get("type") == "text"
    assert SUMMARY in entry.findtext(f"{ATOM}content")
