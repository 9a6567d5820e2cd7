"""Pages for readers, asked in process (tests/conftest.py, InProcess) of the demo database: link
previews and canonical addresses of row pages, titles without SQL, the countries that evidence_by_country
opens with, country pages, the 404 page; and a title carrying markup shown as text on each of them.
"""

import re

import pytest
from payload_site import COUNTRY, ROW, TITLE, payload_site
from scrapy.selector import Selector

from publish.countries import country_label, country_of_name

BASE = "http://localhost"  # the host datasette.client's requests name
SQL = re.compile(r"\b(select|from|where|union|join)\b", re.IGNORECASE)


def page(site, path, status=200) -> Selector:
    response = site.get(path)
    assert response.status_code == status, path
    return Selector(text=response.text)


def meta(selector, name) -> str:
    found = selector.css(f'meta[property="{name}"]::attr(content), meta[name="{name}"]::attr(content)')
    assert len(found) == 1, name
    return found.get()


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    site = payload_site(tmp_path_factory.mktemp("payload"))
    yield site
    site.close()


# --------------------------------------------------------------------- row pages


def test_an_event_page_has_a_link_preview_and_its_permanent_address(demo_site, db):
    row = db.execute("select id, title, summary from legal_actions "
                     "where id = 'legal-it-moratorium-2021'").fetchone()
    selector = page(demo_site, f"/evidence/legal_actions/{row['id']}")
    permalink = f"{BASE}/evidence/legal_actions/{row['id']}"
    assert selector.css("link[rel=canonical]::attr(href)").getall() == [permalink]
    assert meta(selector, "og:url") == permalink
    assert meta(selector, "og:title") == row["title"]
    assert meta(selector, "og:type") == "article" and meta(selector, "twitter:card") == "summary"
    description = meta(selector, "og:description")
    assert description.startswith("Legal action, 2021-12-08, Italy: ") and description == meta(
        selector, "description")
    assert row["summary"][:60] in description and len(description) <= 260
    assert selector.css("title::text").get() == f"{row['title']}: Legal action: FRT Evidence"
    assert selector.css("a.country-link::attr(href)").get() == "/country/IT"


@pytest.mark.parametrize(("path", "title", "description"), [
    ("/evidence/organisations/org-clearview-ai", "Clearview AI", "Organisations: vendor"),
    ("/evidence/sources/atlas", "EFF Atlas of Surveillance", "Sources: CC BY 4.0"),
])
def test_other_rows_have_a_preview_too(demo_site, path, title, description):
    selector = page(demo_site, path)
    assert meta(selector, "og:title") == title
    assert meta(selector, "og:description").startswith(description)
    assert selector.css("link[rel=canonical]::attr(href)").get() == BASE + path
    assert selector.css("title::text").get().startswith(f"{title}: ")


def test_a_preview_carries_markup_as_text(payload):
    response = payload.get(ROW)
    selector = Selector(text=response.text)
    assert meta(selector, "og:title") == TITLE
    head = response.text.split("</head>", 1)[0]
    assert "<script>window.__xss" not in head and "<img src=x" not in head


# --------------------------------------------------------------------- titles


@pytest.mark.parametrize("path", [
    "/evidence", "/evidence/deployments?country=US&_sort=date", "/evidence/evidence_map",
    "/evidence/search_all?q=ban", "/evidence?sql=select+id+from+sources+where+id+%3D+%27atlas%27",
    "/evidence/evidence_by_country?country=IT", "/evidence/in_force_on", "/evidence/claims/"
    "ryf-italy-moratorium", "/search?q=ban", "/country/IT", "/"])
def test_no_page_title_holds_sql(demo_site, path):
    title = page(demo_site, path).css("title::text").get()
    assert "FRT Evidence" in title and not SQL.search(title), title


def test_canned_queries_are_titled_as_in_the_metadata(demo_site):
    assert page(demo_site, "/evidence/search_all?q=ban").css("title::text").get() == \
        "Search all evidence: FRT Evidence"
    assert page(demo_site, "/evidence/evidence_map").css("title::text").get() == \
        "Map of the evidence: FRT Evidence"


# --------------------------------------------------------------------- countries


def test_evidence_by_country_opens_with_the_countries_by_name(demo_site, db):
    selector = page(demo_site, "/evidence/evidence_by_country")
    assert not selector.css("p.zero-results")
    expected = dict(db.execute("select country, count(*) from evidence where country is not null "
                               "group by country").fetchall())
    listed = {}
    for item in selector.css("ul.country-list li"):
        code = item.css("a.country-name::attr(href)").get().rsplit("/", 1)[1]
        assert item.css("a.country-name::text").get() == country_label(code)
        assert item.css("a.country-rows::attr(href)").get() == f"?country={code}"
        listed[code] = int(item.css("a.country-rows::text").get().split()[0])
    assert listed == expected
    chosen = page(demo_site, "/evidence/evidence_by_country?country=IT")
    assert len(chosen.css("table.rows-and-columns tbody tr")) == expected["IT"]


def test_a_country_page_lists_its_rows_timeline_and_claims(demo_site, db):
    selector = page(demo_site, "/country/IT")
    assert selector.css("h1::text").get() == "Italy"
    rows = {f"/evidence/{table}/{row_id}" for table, row_id in db.execute(
        "select event_table, id from evidence where country = 'IT'")}
    listed = set(selector.css("ul.evidence-list li a::attr(href)").getall())
    assert listed == rows and rows
    years = dict(db.execute("select year, count(*) from evidence where country = 'IT' "
                            "and year is not null group by year").fetchall())
    bars = {int(bar.attrib["data-year"]): int(bar.attrib["data-total"])
            for bar in selector.css("g.bar")}
    assert {year: n for year, n in bars.items() if n} == years
    assert selector.css("svg a::attr(href)").get().endswith("&country=IT")
    claims = {r[0] for r in db.execute(
        "select distinct ce.claim_id from claim_evidence ce join evidence e on e.id = ce.evidence_id "
        "where e.country = 'IT'")}
    assert {h.split("#", 1)[1] for h in selector.css("#claims a::attr(href)").getall()} == claims
    assert claims


def test_a_large_country_lists_its_newest_rows_and_links_the_rest(demo_site, db):
    selector = page(demo_site, "/country/US")
    total = db.execute("select count(*) from deployments where country = 'US'").fetchone()[0]
    section = selector.css("section#deployments")
    assert section.css("h2::text").get() == f"Deployments ({total})"
    shown = section.css("ul.evidence-list li")
    assert len(shown) == min(total, 50)
    dates = [d for d in (item.css(".meta-line::text").get().split(" ·")[0].strip() for item in shown)
             if d != "undated"]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(("path", "status", "location"), [
    ("/country/it", 301, "/country/IT"), ("/country/ZZ", 404, None), ("/country/USA", 404, None)])
def test_a_country_address_is_upper_case_and_known(demo_site, path, status, location):
    response = demo_site.get(path)
    assert response.status_code == status
    assert response.headers.get("location") == location


def test_row_pages_and_the_country_facet_link_the_country_pages(demo_site):
    facet = page(demo_site, "/evidence/deployments?_facet=country")
    links = facet.css("p.country-pages a")
    assert links and links[0].attrib["href"] == "/country/US" and links[0].css("::text").get() == \
        "United States"
    for href in {link.attrib["href"] for link in links}:
        assert demo_site.get(href).status_code == 200, href


def test_a_facet_of_country_names_links_the_same_pages(demo_site):
    assert [country_of_name(n) for n in ("Italy", "United States", "European Union", "Atlantis", "")] \
        == ["IT", "US", "EU", None, None]
    by_name = demo_site.get("/evidence/deployments?_facet=country_name")
    by_code = page(demo_site, "/evidence/deployments?_facet=country")
    if by_name.status_code == 200:  # where the build makes a column of country names
        assert Selector(text=by_name.text).css("p.country-pages a::attr(href)").getall() == \
            by_code.css("p.country-pages a::attr(href)").getall()


def test_a_country_page_shows_a_title_with_markup_as_text(payload):
    response = payload.get(f"/country/{COUNTRY}")
    assert response.status_code == 200
    selector = Selector(text=response.text)
    assert TITLE in selector.css("ul.evidence-list a").xpath("string()").getall()
    assert "<script>window.__xss" not in response.text


# --------------------------------------------------------------------- the 404 page


@pytest.mark.parametrize("path", ["/no/such/page", "/evidence/deployments/dep-no-such-row",
                                  "/evidence/no_such_table", "/country/ZZ"])
def test_a_missing_page_is_on_brand_with_the_search_box(demo_site, path):
    selector = page(demo_site, path, status=404)
    assert selector.css("title::text").get() == "Page not found: FRT Evidence"
    assert selector.css("h1::text").get() == "Page not found"
    assert selector.css("form.search-form::attr(action)").get() == "/search"
    assert selector.css("a.site-name::attr(href)").get() == "/"


def test_a_missing_page_shows_its_address_as_text(demo_site):
    response = demo_site.get("/evidence/deployments/~3Cscript~3Ewindow.__xss~3D1~3C~2Fscript~3E")
    assert response.status_code == 404
    assert "<script>window.__xss" not in response.text


# --------------------------------------------------------------------- the map's tiles


def test_the_map_takes_its_tiles_from_the_site_unless_deployed_online(demo_site, monkeypatch):
    offline = demo_site.get("/evidence/evidence_map").text
    assert 'DATASETTE_CLUSTER_MAP_TILE_LAYER = "/-/tiles/basemap/{z}/{x}/{y}.png"' in offline
    assert '"maxNativeZoom": 6' in offline
    tile = demo_site.get("/-/tiles/basemap/2/2/1.png")
    assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")
    monkeypatch.setenv("FRT_MAP_TILES", "online")
    online = demo_site.get("/evidence/evidence_map?kind=deployment").text
    assert 'DATASETTE_CLUSTER_MAP_TILE_LAYER = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in online
    assert 'DATASETTE_CLUSTER_MAP_CONTAINER = "#evidence-map"' in online  # metadata.yml's setting kept


# --------------------------------------------------------------------- table pages


def test_facets_are_folded_until_a_reader_narrows_the_rows(demo_site):
    plain = page(demo_site, "/evidence/deployments")
    assert plain.css("details.facets .facet-info") and "open" not in plain.css("details.facets").attrib
    for path in ("/evidence/deployments?sector=policing", "/evidence/deployments?_facet=country"):
        assert "open" in page(demo_site, path).css("details.facets").attrib, path


@pytest.mark.parametrize("table", ["deployments", "wrongful_arrests", "legal_actions"])
def test_facets_of_country_and_region_names_are_headed_in_words(demo_site, table):
    facets = page(demo_site, f"/evidence/{table}").css("details.facets .facet-info")
    headings = {facet.attrib["data-column"]: facet.css("p.facet-info-name strong::text").get().strip()
                for facet in facets}
    assert headings["country_name"] == "Country" and headings["region_en"] == "Region"
    assert headings["year"] == "year" and headings["source"] == "source"  # no label: Datasette's heading
