"""The search page, /search?q=, asked in process (tests/conftest.py, InProcess) of the demo database:
its results against the full-text indexes themselves, its filters and their counts, its pages, its
order from load to load, the old /-/search address, and a title carrying markup shown as text.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from payload_site import ROW, SUMMARY, TITLE, payload_site
from scrapy.selector import Selector

from publish.search import PAGE_SIZE, match_expression, present


@pytest.fixture(scope="module")
def searched(db) -> list[str]:
    """The tables the search reads in the demo database."""
    return [s.table for s in present(r[0] for r in db.execute("select name from sqlite_master"))]


@pytest.fixture(scope="module")
def with_country(db) -> list[str]:
    """Those of them whose rows have a country: the event tables."""
    return [s.table for s in present(r[0] for r in db.execute("select name from sqlite_master"))
            if s.country != "null"]


def page(site, path) -> Selector:
    response = site.get(path)
    assert response.status_code == 200, path
    return Selector(text=response.text)


def results(selector) -> list[str]:
    """The row addresses of a page's results, in order."""
    return selector.css("li.search-result a.result-title::attr(href)").getall()


def matches(db, word, tables, where="") -> set[str]:
    """The row addresses whose full-text index matches the word, as SQLite says."""
    found = set()
    for table in tables:
        sql = (f"select t.id from {table}_fts join {table} t on t.rowid = {table}_fts.rowid "
               f"where {table}_fts match ? {where}")
        found |= {f"/evidence/{table}/{row_id}" for (row_id,) in db.execute(sql, [word])}
    return found


def test_a_search_lists_every_match_of_every_table_once_over_its_pages(demo_site, db, searched):
    expected = matches(db, "police", searched)
    assert len(expected) > 2 * PAGE_SIZE
    first = page(demo_site, "/search?q=police")
    count = first.css("p.search-count::text").get()
    assert count.startswith(f"{len(expected)} results")
    shown, number = [], 1
    while True:
        listed = results(page(demo_site, f"/search?q=police&page={number}"))
        assert len(listed) == min(PAGE_SIZE, len(expected) - len(shown))
        shown += listed
        if len(shown) == len(expected):
            break
        number += 1
    assert len(shown) == len(set(shown)) and set(shown) == expected
    assert len({urlsplit(link).path.split("/")[2] for link in shown}) >= 4
    last = page(demo_site, f"/search?q=police&page={number}")
    assert not last.css("a[rel=next]") and last.css("a[rel=prev]")


def test_the_order_is_the_same_at_every_load(demo_site):
    loads = [results(page(demo_site, "/search?q=facial+recognition")) for _ in range(3)]
    assert loads[0] and loads[0] == loads[1] == loads[2]


@pytest.mark.parametrize("word", ["police", "clearview"])
def test_events_come_before_documents(demo_site, db, searched, word):
    events = matches(db, word, [t for t in searched if t != "documents"])
    documents = matches(db, word, ["documents"])
    assert events and documents
    shown = [link for number in range(1, (len(events) + len(documents)) // PAGE_SIZE + 2)
             for link in results(page(demo_site, f"/search?q={word}&page={number}"))]
    assert set(shown[:len(events)]) == events and set(shown[len(events):]) == documents
    assert not urlsplit(shown[0]).path.startswith("/evidence/documents/")
    only_documents = results(page(demo_site, f"/search?q={word}&table=documents"))
    assert only_documents and set(only_documents) <= documents


def test_each_result_shows_its_row_and_links_to_its_page(demo_site, db):
    selector = page(demo_site, "/search?q=clearview&table=legal_actions")
    items = selector.css("li.search-result")
    assert items
    for item in items:
        link = item.css("a.result-title::attr(href)").get()
        row_id = link.rsplit("/", 1)[1]
        title, date, country = db.execute(
            "select title, date, country from legal_actions where id = ?", [row_id]).fetchone()
        assert item.css("a.result-title").xpath("string()").get() == title
        assert "clearview" in " ".join(item.css("mark::text").getall()).lower()
        assert item.css(".meta-line::text").get().strip().startswith(date)
        assert item.css(".meta-line a::attr(href)").get() == f"/country/{country}"
        assert demo_site.get(link).status_code == 200


@pytest.mark.parametrize(("query", "where", "tables"), [
    ("table=wrongful_arrests", "", ["wrongful_arrests"]),
    ("country=US", "and t.country = 'US'", None),
    ("year=2022", "and t.year = 2022", None),
    ("table=legal_actions&country=IT", "and t.country = 'IT'", ["legal_actions"]),
])
def test_filters_narrow_the_results_and_count_them(demo_site, db, with_country, query, where, tables):
    expected = matches(db, "facial", tables or with_country, where)
    if "year" in query:  # a document counts in the year it was published
        expected |= {f"/evidence/documents/{i}" for (i,) in db.execute(
            "select t.id from documents_fts join documents t on t.rowid = documents_fts.rowid "
            "where documents_fts match 'facial' and substr(t.published, 1, 4) = '2022'")}
    selector = page(demo_site, f"/search?q=facial&{query}&page=1")
    assert expected
    assert selector.css("p.search-count::text").get().startswith(
        f"{len(expected)} result{'' if len(expected) == 1 else 's'}")
    shown = set(results(selector))
    assert shown <= expected and len(shown) == min(PAGE_SIZE, len(expected))


def test_each_filter_choice_says_how_many_results_it_gives(demo_site, db, searched, with_country):
    selector = page(demo_site, "/search?q=clearview")
    tabs = dict(re.fullmatch(r"(.+) (\d+)", text).groups()
                for text in selector.css("nav.search-tables li").xpath("string()").getall())
    assert int(tabs["All"]) == len(matches(db, "clearview", searched))
    assert int(tabs["Legal actions"]) == len(matches(db, "clearview", ["legal_actions"]))
    countries = {option.attrib["value"]: option.xpath("string()").get()
                 for option in selector.css("select[name=country] option") if option.attrib["value"]}
    us = len(matches(db, "clearview", with_country, "and t.country = 'US'"))
    assert countries["US"] == f"United States ({us})"
    for href in selector.css("nav.search-tables a::attr(href)").getall():
        assert parse_qs(urlsplit(href).query)["q"] == ["clearview"]


def test_without_words_or_matches_the_page_says_so(demo_site):
    empty = page(demo_site, "/search")
    assert not empty.css("li.search-result") and empty.css("input#search-q")
    nothing = page(demo_site, "/search?q=zzzqqqnothing")
    assert nothing.css("p.zero-results") and not nothing.css("li.search-result")


def test_what_a_reader_types_is_never_fts_syntax_nor_markup(demo_site):
    assert match_expression('clear"view OR title:x* -') == '"clear" "view" "OR" "title" "x"'
    response = demo_site.get('/search?q=%3Cscript%3Ealert(1)%3C/script%3E"+NEAR(&country=<b>&year=x&page=-3')
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text and "&lt;script&gt;alert(1)" in response.text


def test_the_old_search_address_leads_here(demo_site):
    response = demo_site.get("/-/search?q=ban+police")
    assert response.status_code == 301 and response.headers["location"] == "/search?q=ban+police"


def test_a_title_with_markup_is_shown_as_text(tmp_path):
    site = payload_site(tmp_path)
    try:
        response = site.get("/search?q=synthetic")
    finally:
        site.close()
    [item] = Selector(text=response.text).css("li.search-result")
    assert item.css("a.result-title::attr(href)").get() == ROW
    assert item.css("a.result-title").xpath("string()").get() == TITLE
    assert item.css("p.snippet").xpath("string()").get() == SUMMARY
    assert "<script>window.__xss" not in response.text and "<svg onload" not in response.text
    assert "<title>Search for synthetic: FRT Evidence</title>" in response.text
