"""The published site in a real browser, for what only a browser shows: Datasette serves a
database built from the repository's curated files and demo snapshots (data/items), and headless
Chromium clicks the chart, presses the Cite block's Copy buttons, counts the map's markers and
loads its tiles from the site, filters a search, and checks that no page fetches anything from
elsewhere, that each page fits a phone's width, and that the pages for readers (search, a row, a
country, the 404 page) log no error and link only to pages that answer. The pages' contents are
checked without a browser in tests/test_served.py, tests/test_search_page.py and
tests/test_reader_pages.py.

Each page the README shows is screenshotted: into a temporary directory under `make test`, into
docs/screenshots/ under `make screenshots` (FRT_SCREENSHOTS names the directory; there a missing
browser fails instead of skipping). One server and one browser serve the whole module; each test
opens its own page.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import served
from served import chromium, datasette_server, missing_browser, offline_page

CITED_ROW = ("legal_actions", "legal-it-moratorium-2021")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go: FRT_SCREENSHOTS (docs/screenshots/ for `make screenshots`), else a
    temporary directory, so that `make test` writes nothing into the checkout."""
    chosen = os.environ.get("FRT_SCREENSHOTS")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser():
    reason = missing_browser()
    if reason and os.environ.get("FRT_SCREENSHOTS"):
        pytest.fail(f"screenshots need the browser: {reason}", pytrace=False)
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


def screenshot(target, shots: Path, name: str, **options) -> Path:
    """A PNG of a page or an element, as docs/screenshots/<name>.png shows it in the README."""
    shots.mkdir(parents=True, exist_ok=True)
    path = shots / f"{name}.png"
    target.screenshot(path=str(path), **options)
    assert path.stat().st_size > 0
    return path


def assert_only_local_assets(outside):
    """Nothing comes from elsewhere: every script, stylesheet and map tile is served here."""
    assert outside == []


# --------------------------------------------------------------------- home page and chart


def test_a_click_on_a_year_of_the_chart_opens_its_rows(page, site, outside, shots):
    page.goto(site + "/")
    assert page.locator("h1").inner_text() == "FRT Evidence"
    screenshot(page, shots, "home", full_page=True)
    screenshot(page.locator("figure.chart"), shots, "chart")
    totals = dict(page.locator("svg.chart-svg g.bar").evaluate_all(
        "bars => bars.map(b => [Number(b.dataset.year), Number(b.dataset.total)])"))
    busiest = max(totals, key=totals.get)
    assert totals[busiest] > 0
    assert_only_local_assets(outside)
    page.locator(f"g.bar[data-year='{busiest}']").click()
    page.wait_for_url(re.compile(rf"/evidence/evidence\?year={busiest}$"))
    assert page.locator("h3").first.inner_text().startswith(f"{totals[busiest]} rows")


# --------------------------------------------------------------------- claims page


def test_claims_page(page, site, db, outside, shots):
    page.goto(site + "/claims")
    assert page.locator("article.claim").count() == scalar(db, "select count(*) from claims") > 0
    screenshot(page, shots, "claims")
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- row page and Cite block


def test_row_page_copy_button_copies_the_citation(browser, site, outside, shots):
    from playwright.sync_api import expect  # here: where Playwright is missing, the browser fixture says so

    table, row_id = CITED_ROW
    with offline_page(browser, site, outside,
                      permissions=["clipboard-read", "clipboard-write"]) as page:
        page.goto(f"{site}/evidence/{table}/{row_id}")
        screenshot(page, shots, "row", full_page=True)
        buttons = page.locator("button.copy")
        assert buttons.count() == 3  # plain text, BibTeX, CSL-JSON
        for i in range(buttons.count()):
            target = page.locator("#" + buttons.nth(i).get_attribute("data-copy"))
            buttons.nth(i).click()
            expect(buttons.nth(i)).to_have_text("Copied")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == target.text_content() and row_id in copied
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- map


def test_map_shows_a_marker_for_every_row_with_a_place(page, site, db, outside, shots):
    page.goto(site + "/evidence/evidence_map")
    page.wait_for_selector(".leaflet-marker-icon")
    page.wait_for_timeout(300)  # markercluster adds its clusters in chunks
    single = page.locator(".leaflet-marker-icon:not(.marker-cluster)").count()
    clustered = sum(int(n) for n in page.locator(".marker-cluster span").all_inner_texts())
    placed = scalar(db, "select count(*) from evidence where latitude is not null and longitude is not null")
    assert single + clustered == placed > 0
    screenshot(page, shots, "map")
    tiles = page.locator("img.leaflet-tile-loaded").evaluate_all("tiles => tiles.map(t => t.src)")
    assert tiles and all(urlsplit(src).path.startswith("/-/tiles/basemap/") for src in tiles)
    assert not page.locator("th.col-popup").is_visible()  # the markers' popups, not for reading
    assert '"link":' not in page.locator("section.content").inner_text()
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- search


def test_search_filters_by_country_from_its_list(page, site, db, outside, shots):
    page.goto(site + "/search?q=clearview")
    total = sum(scalar(db, f"select count(*) from {t}_fts where {t}_fts match 'clearview'")
                for t in ("deployments", "wrongful_arrests", "legal_actions", "documents"))
    assert page.locator("li.search-result").count() == min(20, total) > 0
    screenshot(page, shots, "search")
    page.locator("select[name=country]").select_option("US")  # the page reloads with the filter
    page.wait_for_url(re.compile(r"/search\?q=clearview&country=US$"))
    countries = page.locator("li.search-result .meta-line a").all_inner_texts()
    assert countries and set(countries) == {"United States"}
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- phone width


PAGES = ["/", "/claims", "/evidence/legal_actions/legal-it-moratorium-2021", "/evidence/deployments",
         "/evidence/evidence_map", "/search?q=clearview", "/country/IT", "/evidence/evidence_by_country",
         "/no/such/page"]


@pytest.fixture(scope="module")
def phone(browser, site):
    """One page at a phone's width for every page of the module's phone test."""
    with offline_page(browser, site, []) as opened:
        opened.set_viewport_size(PHONE)
        yield opened


@pytest.mark.parametrize("path", PAGES)
def test_each_page_fits_a_phone(phone, site, path):
    phone.goto(site + path)
    wider = phone.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                     && !e.closest('.table-wrapper, pre, .leaflet-container'))
        .map(e => e.tagName + '.' + e.className)""")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wider


# --------------------------------------------------------------------- pages for readers


READER_PAGES = {"search": "/search?q=police", "row": "/evidence/legal_actions/legal-it-moratorium-2021",
                "country": "/country/IT", "not-found": "/no/such/page"}
SQL_WORDS = re.compile(r"\b(select|from|where|union|join)\b", re.IGNORECASE)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("name", READER_PAGES)
def test_a_page_for_readers_fits_logs_no_error_and_links_pages_that_answer(
        browser, site, outside, shots, name, viewport):
    errors = []
    with offline_page(browser, site, outside) as page:
        if viewport:
            page.set_viewport_size(viewport)
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        response = page.goto(site + READER_PAGES[name])
        assert response.status == (404 if name == "not-found" else 200)
        page.wait_for_load_state("networkidle")
        title = page.title()
        assert title.endswith("FRT Evidence") and not SQL_WORDS.search(title), title
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        links = sorted({urlsplit(href)._replace(fragment="").geturl() for href in page.locator(
            "a[href]").evaluate_all("links => links.map(a => new URL(a.getAttribute('href'), "
                                    "document.baseURI).href)") if href.startswith(site)})
        broken = [(link, status) for link in links
                  if (status := page.request.get(link, max_redirects=0).status) not in (200, 301, 302)]
        screenshot(page, shots, f"{name}-{'phone' if viewport else 'desktop'}", full_page=True)
    if name == "not-found":  # the browser reports the page's own 404
        errors = [e for e in errors if "404" not in e]
    assert errors == [] and broken == [] and len(links) > 5
    assert_only_local_assets(outside)


# --------------------------------------------------------------------- event table pages


EVENT_TABLES = ["deployments", "wrongful_arrests", "legal_actions", "declarations"]
DESKTOP = {"width": 1280, "height": 800}
TABLE_LAYOUT = """() => {
    const table = document.querySelector('table.rows-and-columns');
    const rows = Array.from(table.querySelectorAll('tbody tr')).map(r => r.getBoundingClientRect());
    const map = document.querySelector('#evidence-map .leaflet-container');
    return {height: document.documentElement.scrollHeight,
            scrollWidth: document.documentElement.scrollWidth,
            tableWidth: table.getBoundingClientRect().width,
            wrapperWidth: table.closest('.table-wrapper').clientWidth,
            firstRow: rows[0].top + window.scrollY, rowHeights: rows.map(r => r.height),
            tableBottom: table.getBoundingClientRect().bottom + window.scrollY,
            mapTop: map ? map.getBoundingClientRect().top + window.scrollY : null};
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("table", EVENT_TABLES)
def test_an_event_table_shows_its_rows_early_and_fits_the_screen(browser, site, outside, shots, table,
                                                                viewport):
    """Before the reader's view the first row began at 1,400 px on the desktop (under the column
    descriptions, the filters and the map) and at 1,720 to 1,840 px on a phone, where each row was a
    card of 1,800 to 2,100 px and /evidence/legal_actions was 202,000 px tall."""
    errors = []
    with offline_page(browser, site, outside) as page:
        page.set_viewport_size(viewport)
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/evidence/{table}")
        page.wait_for_load_state("networkidle")  # the map, drawn under the rows, is in place
        layout = page.evaluate(TABLE_LAYOUT)
        name = "phone" if viewport is PHONE else "desktop"
        screenshot(page, shots, f"table-{table}-{name}", full_page=True)
    assert errors == []
    assert layout["scrollWidth"] <= viewport["width"]
    assert layout["tableWidth"] <= layout["wrapperWidth"] + 1  # nor does the table scroll sideways
    assert layout["mapTop"] is not None and layout["mapTop"] > layout["tableBottom"]
    rows = layout["rowHeights"]
    if viewport is PHONE:
        assert layout["firstRow"] < 1250
        assert max(rows) < 250
        assert layout["height"] < layout["firstRow"] + 250 * len(rows) + 3000  # map, export, schema
    else:
        assert layout["firstRow"] < 700  # the first row starts within the first screen
    assert_only_local_assets(outside)


CARD = ("title", "date", "kind", "status", "place", "region_en", "country_name", "summary")


def test_the_legal_actions_table_on_a_phone_is_a_list_of_short_cards(phone, site, db):
    """A card holds the title, the date, the kind, the place and one line of the summary, and
    leaves out empty cells and the columns shown only on wider screens (jurisdiction)."""
    phone.goto(site + "/evidence/legal_actions")
    cards = phone.locator("table.reader-rows tbody tr")
    assert cards.count() == min(100, scalar(db, "select count(*) from legal_actions"))
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height < 25_000  # 202,000 px before
    first = cards.first
    row = db.execute(f"select {', '.join(CARD)} from legal_actions where id = ?",
                     [first.locator("td.col-title a").get_attribute("href").rsplit("/", 1)[1]]).fetchone()
    shown = first.locator("td").evaluate_all("cells => cells.filter(c => getComputedStyle(c).display "
                                             "!= 'none').map(c => c.className.split(' ')[0])")
    assert shown == [f"col-{column}" for column, value in zip(CARD, row, strict=True) if value]
    assert first.locator("td.col-title").inner_text() == row[0]
    summary = first.locator("td.col-summary .clamp")
    assert summary.evaluate("e => e.getBoundingClientRect().height") < 30  # one line


def test_facet_values_of_a_table_wrap_between_words(page, site):
    page.goto(site + "/evidence/deployments?_facet=operator")
    items = page.locator("details.facets .facet-info li")
    assert items.count() > 5
    assert set(items.evaluate_all("items => items.map(i => getComputedStyle(i).wordBreak)")) == {"normal"}


# --------------------------------------------------------------------- the rule for a missing browser


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(served, "CHROMIUM", tmp_path / "chromium")


def test_without_chromium_the_browser_tests_skip_and_say_why(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing: `make test` installs"):
        with served.chromium():
            pass


def test_without_chromium_the_browser_tests_fail_in_ci(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="browser tests cannot run in CI"):
        with served.chromium():
            pass
