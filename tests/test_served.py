"""The published site's pages as Datasette serves them, in process through datasette.client (no
server, no browser): a database built from the repository's curated files and demo snapshots
(data/items), served as `make serve` serves it. The home page, the chart, the claims page, a row
page and its Cite block, the ranked search and the Atom feeds; each page's numbers are checked
against the database itself. What needs a browser (scripts, the map, clipboard, layout) is in
tests/test_browser.py.

Selectors are those a browser would use; `one()` insists on a single match, as Playwright does.
"""

import json
import re
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlsplit

import bibtexparser
import pytest
from conftest import RELEASE
from scrapy.selector import Selector

from publish.cite import content_hash

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://localhost"  # the host datasette.client's requests name, so the permanent URLs' too
CITED_ROW = ("legal_actions", "legal-it-moratorium-2021")


@pytest.fixture(scope="module")
def site(demo_site):
    return demo_site


def scalar(db, sql, *params):
    return db.execute(sql, params).fetchone()[0]


def html(site, path) -> Selector:
    response = site.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html"), path
    return Selector(text=response.text)


def text(selection) -> str:
    """An element's text as a reader sees it: its text, white space collapsed."""
    return " ".join(selection.xpath("string()").get().split())


def texts(selections) -> list[str]:
    return [text(selection) for selection in selections]


def one(page, css):
    """The one element that css selects; more or none fails."""
    found = page.css(css)
    assert len(found) == 1, f"{css}: {len(found)} elements"
    return found[0]


def path_of(href: str) -> str:
    return urlsplit(href).path


# --------------------------------------------------------------------- home page


def test_home_page_counts_letters_newest_and_sources(site, db):
    page = html(site, "/")
    assert text(one(page, "h1")) == "FRT Evidence"
    for table in ("deployments", "wrongful_arrests", "legal_actions"):
        card = one(page, f"a.count-card.kind-{table}")
        rows = scalar(db, f"select count(*) from {table}")
        assert text(one(card, ".count-number")) == f"{rows:,}"
        assert card.attrib["href"] == f"/evidence/{table}"
    letters = texts(page.css(".letter-summary h3"))
    assert letters == ["Declaration: A Moratorium on Facial Recognition Technology for Mass Surveillance",
                       "Reclaim Your Face: open letter of 53 organisations to Members of the "
                       "European Parliament"]
    unsupported = scalar(db, "select count(*) from claims where supported = 'no'")
    shown = sum(int(t.split()[0]) for t in texts(page.css(".letter-summary .verdict-no")))
    assert shown == unsupported
    newest = page.css("ol.row-list li a")
    assert len(newest) == 8
    table, row_id = newest[0].attrib["href"].split("/")[2:]
    assert scalar(db, f"select count(*) from {table} where id = ?", row_id) == 1
    sources = texts(page.css("table.sources tbody tr td:first-child a:first-child"))
    assert sources == [r[0] for r in db.execute("select name from sources order by id")]
    assert len(page.css('link[rel=alternate][type="application/atom+xml"]')) == 1


def test_chart_shows_each_year_and_links_to_its_rows(site, db):
    page = html(site, "/")
    bars = page.css("svg.chart-svg g.bar")
    drawn = {int(bar.attrib["data-year"]): int(bar.attrib["data-total"]) for bar in bars}
    expected = dict(db.execute(
        "select cast(substr(date, 1, 4) as integer), count(*) from evidence where date is not null "
        "group by 1").fetchall())
    assert {year: n for year, n in drawn.items() if n} == expected
    assert sorted(drawn) == list(range(min(expected), max(expected) + 1))
    busiest = max(expected, key=expected.get)
    kinds = dict(db.execute("select cast(substr(date, 1, 4) as integer), count(distinct kind) from evidence "
                            "where date is not null group by 1"))
    for year, n in kinds.items():  # one bar piece per kind of the year: stacked by kind
        assert len(page.css(f"g.bar[data-year='{year}'] rect")) == n, year
    [link] = page.xpath(f"//a[g[contains(@class, 'bar')][@data-year='{busiest}']]/@href").getall()
    assert link == f"/evidence/evidence?year={busiest}"
    assert text(html(site, link).css("h3")[0]).startswith(f"{expected[busiest]} rows")


# --------------------------------------------------------------------- claims page


def test_claims_page_shows_every_claim_with_its_rows(site, db):
    page = html(site, "/claims")
    claims = db.execute("select id, supported, evidence_count, evidence_ids, reason from claims").fetchall()
    assert len(page.css("article.claim")) == len(claims)
    verdict = {"yes": "Supported", "partly": "Partly supported", "no": "Unsupported"}
    for claim in claims:
        article = one(page, f"article.claim#{claim['id']}")
        assert text(one(article, ".claim-head .verdict")) == verdict[claim["supported"]]
        assert text(one(article, ".evidence-count strong")) == str(claim["evidence_count"])
        links = [path_of(href) for href in article.css("ul.evidence-list li a::attr(href)").getall()]
        assert [link.rsplit("/", 1)[1] for link in links] == json.loads(claim["evidence_ids"])
        if claim["supported"] != "yes":
            assert text(one(article, "p.reason")) == claim["reason"]
    assert len(page.css("article.claim-no")) == scalar(
        db, "select count(*) from claims where supported = 'no'") > 0


# --------------------------------------------------------------------- row page and Cite block


def test_row_page_documents_organisations_and_cite_block(site, db):
    table, row_id = CITED_ROW
    page = html(site, f"/evidence/{table}/{row_id}")
    row = dict(db.execute(f"select * from {table} where id = ?", [row_id]).fetchone())
    assert text(one(page, "article.event h1")) == row["title"]
    assert text(one(page, "p.summary")) == row["summary"]
    documents = scalar(db, "select count(*) from citations where event_id = ?", row_id)
    assert len(page.css("ol.document-list > li")) == documents > 0
    permalink = f"{BASE}/evidence/{table}/{row_id}"
    assert one(page, "a.permalink").attrib["href"] == permalink
    shown_hash = text(one(page, "code.content-hash"))
    assert shown_hash == content_hash(row)
    fetched = site.get(one(page, "section.cite .note a").attrib["href"]).json()
    assert content_hash(fetched[0]) == shown_hash

    bibtex = one(page, "pre.cite-bibtex").xpath("string()").get()
    library = bibtexparser.parse_string(bibtex)
    assert not library.failed_blocks
    [entry] = library.entries
    assert entry.key == f"frt:{row_id}"
    assert entry.fields_dict["url"].value == permalink
    assert entry.fields_dict["version"].value == RELEASE
    assert shown_hash in entry.fields_dict["note"].value
    [item] = json.loads(one(page, "pre.cite-csl-json").xpath("string()").get())
    assert item["URL"] == permalink and item["type"] == "dataset"
    assert item["version"] == RELEASE and item["title"] == row["title"]
    assert permalink in one(page, "pre.cite-text").xpath("string()").get()
    one(page, "button.copy[data-copy=cite-bibtex]")  # tests/test_browser.py presses it


def test_deployment_row_links_its_operator_and_vendor(site, db):
    row_id, operator, vendor = db.execute(
        "select d.id, op.organisation_id, v.organisation_id from deployments d "
        "join event_organisations op on op.event_id = d.id and op.role = 'operator' "
        "join event_organisations v on v.event_id = d.id and v.role = 'vendor' "
        "order by d.id limit 1").fetchone()
    page = html(site, f"/evidence/deployments/{row_id}")
    facts = dict(zip(texts(page.css(".facts dt")),
                     [[path_of(href) for href in dd.css("a::attr(href)").getall()]
                      for dd in page.css(".facts dd")],
                     strict=True))
    assert f"/evidence/organisations/{operator}" in facts["Operator"]
    assert f"/evidence/organisations/{vendor}" in facts["Vendor"]


# --------------------------------------------------------------------- ranked search


def test_ranked_search_links_each_result_to_its_row(site):
    links = html(site, "/evidence/search_all?q=wrongful+arrest").css(
        "table.rows-and-columns td.col-id a::attr(href)").getall()
    assert links
    for link in links:
        assert re.fullmatch(r"/evidence/(deployments|wrongful_arrests|legal_actions)/[a-z0-9-]+", link)
    assert len(html(site, links[0]).css("section.cite")) == 1


# --------------------------------------------------------------------- Atom feeds


def parse_feed(response):
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def test_atom_feed_of_new_legal_actions(site, db):
    feed = parse_feed(site.get("/evidence/new_evidence.atom?kind=legal_action"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "New evidence"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == min(100, scalar(db, "select count(*) from legal_actions"))
    for entry in entries:
        url = entry.findtext(f"{ATOM}id")
        assert url.startswith(BASE + "/evidence/legal_actions/")
        assert entry.find(f"{ATOM}link").get("href") == url
        row_id = url.rsplit("/", 1)[1]
        assert entry.findtext(f"{ATOM}title") == scalar(
            db, "select title from legal_actions where id = ?", row_id)
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)


def test_filtered_table_page_links_the_feed_of_its_rows(site, db):
    page = html(site, "/evidence/legal_actions?country=US&region=California&_sort=date")
    href = one(page, "p.feed-link a").attrib["href"]
    assert href == "/evidence/new_evidence.atom?kind=legal_action&country=US&region=California"
    feed = parse_feed(site.get(href))
    ids = {e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in feed.findall(f"{ATOM}entry")}
    assert ids == {r[0] for r in db.execute(
        "select id from legal_actions where country = 'US' and region = 'California'")}


def test_no_feed_link_for_a_filter_the_feed_cannot_express(site):
    page = html(site, "/evidence/legal_actions?country=US&kind=ban")
    assert 'where country = "US" and kind = "ban"' in text(page.css("h3")[0])
    assert not page.css("p.feed-link")
