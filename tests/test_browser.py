"""The published site in a real browser: Datasette serves a database built from the repository's
curated files and demo snapshots (data/items), and headless Chromium looks at the home page, the
claims page, a row page and its Cite block, the map, the chart, the search across tables and an
Atom feed. Each page's numbers are checked against the database itself, and a screenshot of it
is saved to docs/screenshots/ for the README.

One server and one browser serve the whole module; each test opens its own page.
"""

import json
import re
import sqlite3
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlsplit

import bibtexparser
import pytest
from conftest import RELEASE
from served import chromium, datasette_server, offline_page, screenshot

from publish.cite import content_hash

ATOM = "{http://www.w3.org/2005/Atom}"
TILE_HOSTS = {"a.tile.openstreetmap.org", "b.tile.openstreetmap.org", "c.tile.openstreetmap.org"}
CITED_ROW = ("legal_actions", "legal-it-moratorium-2021")


@pytest.fixture(scope="module")
def db(demo_db):
    conn = sqlite3.connect(demo_db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def site(browser, demo_db):
    with datasette_server(demo_db) as base:
        yield base


@pytest.fixture
def outside():
    """URLs the page tried to reach beyond the local server."""
    return []


@pytest.fixture
def page(browser, site, outside):
    with offline_page(browser, site, outside) as opened:
        yield opened


def scalar(db, sql, *params):
    return db.execute(sql, params).fetchone()[0]


def assert_only_local_assets(outside):
    """Nothing but map tiles may come from elsewhere: every script and stylesheet is served here."""
    assert {urlsplit(url).hostname for url in outside} <= TILE_HOSTS, outside


# --------------------------------------------------------------------- home page


def test_home_page_counts_letters_newest_and_sources(page, site, db, outside):
    page.goto(site + "/")
    assert page.locator("h1").inner_text() == "FRT Evidence"
    for table in ("deployments", "wrongful_arrests", "legal_actions"):
        card = page.locator(f"a.count-card.kind-{table}")
        rows = scalar(db, f"select count(*) from {table}")
        assert card.locator(".count-number").inner_text() == f"{rows:,}"
        assert card.get_attribute("href") == f"/evidence/{table}"
    letters = page.locator(".letter-summary h3").all_inner_texts()
    assert letters == ["Declaration: A Moratorium on Facial Recognition Technology for Mass Surveillance",
                       "Reclaim Your Face: open letter of 53 organisations to Members of the "
                       "European Parliament"]
    unsupported = scalar(db, "select count(*) from claims where supported = 'no'")
    shown = sum(int(t.split()[0]) for t in page.locator(".letter-summary .verdict-no").all_inner_texts())
    assert shown == unsupported
    newest = page.locator("ol.row-list li a")
    assert newest.count() == 8
    first = newest.first.get_attribute("href")
    table, row_id = first.split("/")[2:]
    assert scalar(db, f"select count(*) from {table} where id = ?", row_id) == 1
    sources = page.locator("table.sources tbody tr td:first-child a:first-child").all_inner_texts()
    assert sources == [r[0] for r in db.execute("select name from sources order by id")]
    assert page.locator('link[rel=alternate][type="application/atom+xml"]').count() == 1
    screenshot(page, "home", full_page=True)
    assert_only_local_assets(outside)


def test_chart_shows_each_year_and_links_to_its_rows(page, site, db):
    page.goto(site + "/")
    bars = page.locator("svg.chart-svg g.bar")
    drawn = {int(bars.nth(i).get_attribute("data-year")): int(bars.nth(i).get_attribute("data-total"))
             for i in range(bars.count())}
    expected = dict(db.execute(
        "select cast(substr(date, 1, 4) as integer), count(*) from evidence where date is not null "
        "group by 1").fetchall())
    assert {year: n for year, n in drawn.items() if n} == expected
    assert sorted(drawn) == list(range(min(expected), max(expected) + 1))
    busiest = max(expected, key=expected.get)
    assert page.locator(f"g.bar[data-year='{busiest}'] rect").count() >= 2  # stacked by kind
    screenshot(page.locator("figure.chart"), "chart")
    page.locator(f"g.bar[data-year='{busiest}']").click()
    page.wait_for_url(re.compile(rf"/evidence/evidence\?year={busiest}$"))
    assert page.locator("h3").first.inner_text().startswith(f"{expected[busiest]} rows")


# --------------------------------------------------------------------- claims page


def test_claims_page_shows_every_claim_with_its_rows(page, site, db, outside):
    page.goto(site + "/claims")
    claims = db.execute("select id, supported, evidence_count, evidence_ids, reason from claims").fetchall()
    assert page.locator("article.claim").count() == len(claims)
    for claim in claims:
        article = page.locator(f"article.claim#{claim['id']}")
        verdict = {"yes": "Supported", "partly": "Partly supported", "no": "Unsupported"}
        assert article.locator(".claim-head .verdict").inner_text() == verdict[claim["supported"]]
        assert article.locator(".evidence-count strong").inner_text() == str(claim["evidence_count"])
        links = article.locator("ul.evidence-list li a").evaluate_all("els => els.map(e => e.pathname)")
        ids = json.loads(claim["evidence_ids"])
        assert [link.rsplit("/", 1)[1] for link in links] == ids
        if claim["supported"] != "yes":
            assert article.locator("p.reason").inner_text() == claim["reason"]
    assert page.locator("article.claim-no").count() == scalar(
        db, "select count(*) from claims where supported = 'no'") > 0
    screenshot(page, "claims")
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- row page and Cite block


def test_row_page_documents_organisations_and_cite_block(browser, site, db, outside):
    table, row_id = CITED_ROW
    with offline_page(browser, site, outside,
                      permissions=["clipboard-read", "clipboard-write"]) as page:
        page.goto(f"{site}/evidence/{table}/{row_id}")
        row = dict(db.execute(f"select * from {table} where id = ?", [row_id]).fetchone())
        assert page.locator("article.event h1").inner_text() == row["title"]
        assert page.locator("p.summary").inner_text() == row["summary"]
        documents = scalar(db, "select count(*) from citations where event_id = ?", row_id)
        assert page.locator("ol.document-list > li").count() == documents > 0
        permalink = f"{site}/evidence/{table}/{row_id}"
        assert page.locator("a.permalink").get_attribute("href") == permalink
        shown_hash = page.locator("code.content-hash").inner_text()
        assert shown_hash == content_hash(row)
        fetched = page.request.get(site + page.locator("section.cite .note a").get_attribute("href")).json()
        assert content_hash(fetched[0]) == shown_hash

        library = bibtexparser.parse_string(page.locator("pre.cite-bibtex").inner_text())
        assert not library.failed_blocks
        [entry] = library.entries
        assert entry.key == f"frt:{row_id}"
        assert entry.fields_dict["url"].value == permalink
        assert entry.fields_dict["version"].value == RELEASE
        assert shown_hash in entry.fields_dict["note"].value
        [item] = json.loads(page.locator("pre.cite-csl-json").inner_text())
        assert item["URL"] == permalink and item["type"] == "dataset"
        assert item["version"] == RELEASE and item["title"] == row["title"]
        assert permalink in page.locator("pre.cite-text").inner_text()

        page.locator("button.copy[data-copy=cite-bibtex]").click()
        assert page.evaluate("navigator.clipboard.readText()") == page.locator("pre.cite-bibtex").inner_text()
        screenshot(page, "row", full_page=True)
    assert_only_local_assets(outside)


def test_deployment_row_links_its_operator_and_vendor(page, site, db):
    row_id, operator, vendor = db.execute(
        "select d.id, op.organisation_id, v.organisation_id from deployments d "
        "join event_organisations op on op.event_id = d.id and op.role = 'operator' "
        "join event_organisations v on v.event_id = d.id and v.role = 'vendor' "
        "order by d.id limit 1").fetchone()
    page.goto(f"{site}/evidence/deployments/{row_id}")
    facts = dict(zip(page.locator(".facts dt").all_inner_texts(),
                     page.locator(".facts dd").evaluate_all(
                         "els => els.map(e => Array.from(e.querySelectorAll('a')).map(a => a.pathname))"),
                     strict=True))
    assert f"/evidence/organisations/{operator}" in facts["Operator"]
    assert f"/evidence/organisations/{vendor}" in facts["Vendor"]


# --------------------------------------------------------------------- map


def test_map_shows_a_marker_for_every_row_with_a_place(page, site, db, outside):
    page.goto(site + "/evidence/evidence_map")
    page.wait_for_selector(".leaflet-marker-icon")
    page.wait_for_timeout(300)  # markercluster adds its clusters in chunks
    single = page.locator(".leaflet-marker-icon:not(.marker-cluster)").count()
    clustered = sum(int(n) for n in page.locator(".marker-cluster span").all_inner_texts())
    placed = scalar(db, "select count(*) from evidence where latitude is not null and longitude is not null")
    assert single + clustered == placed > 0
    screenshot(page, "map")
    assert outside, "the map asks for its tiles"
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- search


def test_search_across_all_tables(page, site, db, outside):
    page.goto(site + "/-/search?q=clearview")
    page.wait_for_function("Array.from(document.querySelectorAll('li[data-searchable-url]'))"
                           ".every(li => li.style.display == 'none')")  # each table has answered
    headings = page.locator("#search-all-results h2").all_inner_texts()
    found = {h.rsplit(": ", 1)[1]: int(h.split()[0]) for h in headings}
    expected = {}
    for table in ("deployments", "wrongful_arrests", "legal_actions", "documents"):
        n = scalar(db, f"select count(*) from {table}_fts where {table}_fts match 'clearview'")
        if n:
            expected[table] = n
    assert found == expected and len(found) >= 2
    # Each table's results are shown as they arrive; put them in table order for a stable screenshot.
    page.evaluate("""() => {
        const results = document.getElementById('search-all-results');
        Array.from(results.children).filter(div => div.querySelector('h2'))
            .sort((a, b) => a.querySelector('h2').textContent.split(': ').pop()
                .localeCompare(b.querySelector('h2').textContent.split(': ').pop()))
            .forEach(div => results.appendChild(div));
    }""")
    screenshot(page, "search")
    assert_only_local_assets(outside)


def test_ranked_search_links_each_result_to_its_row(page, site):
    page.goto(site + "/evidence/search_all?q=wrongful+arrest")
    links = page.locator("table.rows-and-columns td.col-id a")
    assert links.count() > 0
    first = links.first.get_attribute("href")
    assert re.fullmatch(r"/evidence/(deployments|wrongful_arrests|legal_actions)/[a-z0-9-]+", first)
    links.first.click()
    page.wait_for_url(site + first)
    assert page.locator("section.cite").count() == 1


# --------------------------------------------------------------------- Atom feeds


def parse_feed(response):
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(response.body())


def test_atom_feed_of_new_legal_actions(page, site, db):
    feed = parse_feed(page.request.get(site + "/evidence/new_evidence.atom?kind=legal_action"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "New evidence"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == min(100, scalar(db, "select count(*) from legal_actions"))
    for entry in entries:
        url = entry.findtext(f"{ATOM}id")
        assert url.startswith(site + "/evidence/legal_actions/")
        assert entry.find(f"{ATOM}link").get("href") == url
        row_id = url.rsplit("/", 1)[1]
        assert entry.findtext(f"{ATOM}title") == scalar(
            db, "select title from legal_actions where id = ?", row_id)
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)


def test_filtered_table_page_links_the_feed_of_its_rows(page, site, db):
    page.goto(site + "/evidence/legal_actions?country=US&region=California&_sort=date")
    href = page.locator("p.feed-link a").get_attribute("href")
    assert href == "/evidence/new_evidence.atom?kind=legal_action&country=US&region=California"
    feed = parse_feed(page.request.get(site + href))
    ids = {e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in feed.findall(f"{ATOM}entry")}
    assert ids == {r[0] for r in db.execute(
        "select id from legal_actions where country = 'US' and region = 'California'")}


def test_no_feed_link_for_a_filter_the_feed_cannot_express(page, site):
    page.goto(site + "/evidence/legal_actions?country=US&kind=ban")
    assert 'where country = "US" and kind = "ban"' in page.locator("h3").first.inner_text()
    assert page.locator("p.feed-link").count() == 0
