"""The reader's view of the event tables (plugins/table_markup.py, templates/_table.html,
templates/table.html), asked in process of the demo database: the few columns a reader needs by
default, headed and filled with names rather than codes, each title linked to its row; every column
on request (`?_columns=all`, Datasette's `?_col=` and `?_nocol=`); JSON and CSV that always hold
every column; the folded facets and column descriptions; titles without SQL; markup shown as text.
The layout at desktop width and on a phone is tested in a browser (tests/test_browser.py)."""

import csv
import io
import re

import pytest
from payload_site import TITLE, payload_site
from scrapy.selector import Selector

from publish.countries import country_label

SQL = re.compile(r"\b(select|from|where|union|join)\b", re.IGNORECASE)
READER_HEADINGS = {
    "deployments": ["Title", "Date", "Sector", "Mode", "Operator", "Place", "Region", "Country", "Summary"],
    "wrongful_arrests": ["Title", "Date", "Person", "Agency", "Place", "Region", "Country", "Summary"],
    "legal_actions": ["Title", "Date", "Kind", "Status", "Jurisdiction", "Place", "Region", "Country",
                      "Summary"],
    "declarations": ["Title", "Date", "Kind", "Organisers", "Signatories", "Place", "Country", "Summary"],
}
TABLES = list(READER_HEADINGS)


def page(site, path) -> Selector:
    response = site.get(path)
    assert response.status_code == 200, path
    return Selector(text=response.text)


def text(selection) -> str:
    return " ".join(selection.xpath("string()").get().split())


def columns(db, table) -> list[str]:
    return [row[1] for row in db.execute(f"pragma table_info([{table}])")]


def headings(selector) -> list[str]:
    return [h.attrib["data-column"] for h in selector.css("table.rows-and-columns thead th")]


@pytest.mark.parametrize("table", TABLES)
def test_an_event_table_shows_its_readers_columns_each_title_linked_to_its_row(demo_site, db, table):
    selector = page(demo_site, f"/evidence/{table}")
    shown = selector.css("table.reader-rows thead th:not(.map-only)")
    assert [text(th).replace("▲", "").strip() for th in shown] == READER_HEADINGS[table]
    assert [th.attrib["data-column"] for th in selector.css("th.map-only")] == ["latitude", "longitude"]
    assert not selector.css("th[data-column=id], td.col-id")
    rows = selector.css("table.reader-rows tbody tr")
    assert len(rows) == min(100, db.execute(f"select count(*) from [{table}]").fetchone()[0]) > 0
    for row in rows:
        link = row.css("td.col-title a")
        row_id = link.attrib["href"].removeprefix(f"/evidence/{table}/")
        stored = db.execute(f"select title, summary from [{table}] where id = ?", [row_id]).fetchone()
        assert text(link) == " ".join(stored["title"].split())
        assert text(row.css("td.col-summary")) == " ".join((stored["summary"] or "").split())
    assert selector.css("div#evidence-map.rows-map")  # the map of the rows, under them


def test_cells_name_kinds_and_countries_in_words(demo_site, db):
    legal = page(demo_site, "/evidence/legal_actions?_size=max")
    kinds = {text(td) for td in legal.css("td.col-kind")}
    stored = {r[0] for r in db.execute("select distinct kind from legal_actions")}
    assert kinds == {kind.replace("_", " ") for kind in stored} and "court ruling" in kinds
    assert {text(td) for td in legal.css("td.col-country_name") if text(td)} == \
        {r[0] for r in db.execute("select country_name from legal_actions where country_name <> ''")}
    declarations = page(demo_site, "/evidence/declarations")
    codes = {r[0] for r in db.execute("select country from declarations where country <> ''")}
    assert {text(td) for td in declarations.css("td.col-country") if text(td)} == \
        {country_label(code) for code in codes}
    assert "Spain" in {country_label(code) for code in codes}  # the Madrid declaration: ES


@pytest.mark.parametrize("table", TABLES)
def test_every_column_on_request(demo_site, db, table):
    everything = page(demo_site, f"/evidence/{table}?_columns=all")
    assert headings(everything) == columns(db, table) and not everything.css("table.reader-rows")
    assert not everything.css("div#evidence-map")  # Datasette's table: the map goes above it
    assert everything.css('form.filters input[type=hidden][name=_columns][value=all]')
    back = everything.css("p.column-choice a")
    assert back.attrib["href"] == f"/evidence/{table}"
    chosen = page(demo_site, f"/evidence/{table}?_col=title&_col=date")
    assert headings(chosen) == ["id", "title", "date"]
    assert headings(page(demo_site, f"/evidence/{table}?_nocol=summary")) == \
        [c for c in columns(db, table) if c != "summary"]
    reader = page(demo_site, f"/evidence/{table}?country_name=United+Kingdom&_sort=date")
    assert reader.css("p.column-choice a").attrib["href"] == \
        f"/evidence/{table}?country_name=United+Kingdom&_sort=date&_columns=all"
    total = len(columns(db, table))
    assert text(reader.css("p.column-choice")).startswith(
        f"The main {len(READER_HEADINGS[table])} of {total} columns")


@pytest.mark.parametrize("table", TABLES)
def test_json_and_csv_of_the_readers_view_hold_every_column(demo_site, db, table):
    selector = page(demo_site, f"/evidence/{table}")
    links = {text(a): a.attrib["href"] for a in selector.css("p.export-links a")}
    answer = demo_site.get(links["json"]).json()
    assert answer["columns"] == columns(db, table) and answer["rows"]
    header = next(csv.reader(io.StringIO(demo_site.get(links["CSV"]).text)))
    assert header == columns(db, table)


@pytest.mark.parametrize("table", TABLES)
def test_facets_and_column_descriptions_are_folded_under_one_line_each(demo_site, db, table):
    selector = page(demo_site, f"/evidence/{table}")
    facets = selector.css("details.facets")
    assert "open" not in facets.attrib and facets.css(".facet-info")
    named = len(facets.css(".facet-info"))
    assert text(facets.css("summary")) == f"Facets: narrow the rows by {named} of their columns"
    guide = selector.css("details.column-guide")
    assert "open" not in guide.attrib and text(guide.css("summary")) == "What the columns mean"
    described = [text(dt) for dt in guide.css("dt")]
    assert "title" in described and set(described) <= set(columns(db, table))
    filtered = page(demo_site, f"/evidence/{table}?year=2021")
    assert "open" in filtered.css("details.facets").attrib


@pytest.mark.parametrize("query", ["", "?_columns=all", "?country_name=United+States",
                                   "?_col=title&_search=police"])
@pytest.mark.parametrize("table", TABLES)
def test_no_table_page_title_holds_sql(demo_site, table, query):
    title = page(demo_site, f"/evidence/{table}{query}").css("title::text").get()
    assert title.endswith(": FRT Evidence") and not SQL.search(title), title


def test_the_feed_link_stays_with_every_column(demo_site):
    reader = page(demo_site, "/evidence/legal_actions?country=US")
    everything = page(demo_site, "/evidence/legal_actions?country=US&_columns=all")
    feed = "/evidence/new_evidence.atom?kind=legal_action&country=US"
    assert reader.css("p.feed-link a").attrib["href"] == feed
    assert everything.css("p.feed-link a").attrib["href"] == feed


def test_other_tables_keep_datasettes_columns(demo_site, db):
    selector = page(demo_site, "/evidence/documents")
    assert headings(selector) == columns(db, "documents")
    assert not selector.css("table.reader-rows, p.column-choice")


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    site = payload_site(tmp_path_factory.mktemp("payload"))
    yield site
    site.close()


def test_a_title_with_markup_is_shown_as_text(payload):
    response = payload.get("/evidence/deployments?source=payload")
    link = Selector(text=response.text).css("table.reader-rows td.col-title a")
    assert link.attrib["href"] == "/evidence/deployments/dep-payload-1"
    assert link.xpath("string()").get() == TITLE
    assert "<script>window.__xss" not in response.text and "<img src=x" not in response.text
