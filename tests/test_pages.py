"""The project's Datasette pages, asked through Datasette's in-process client as `make serve` serves
them: what search engines may index (robots.txt, X-Robots-Tag, the sitemap), links between rows,
feed links on filtered tables, and the claims page, of a database built from the repository's
curated files and demo snapshots.
"""

import asyncio
import json
import re
import sqlite3
import urllib.parse
import xml.etree.ElementTree as ElementTree
from html import unescape

import pytest
import yaml
from conftest import RELEASE, REPO
from datasette.app import Datasette
from served import SERVE_OPTIONS

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "http://localhost"  # where Datasette's in-process client asks


@pytest.fixture(scope="module")
def db(demo_db):
    conn = sqlite3.connect(demo_db)
    yield conn
    conn.close()


def served(path):
    """The database served as `make serve` serves it (tests/served.py, SERVE_OPTIONS)."""
    return Datasette(immutables=[str(path)], metadata=yaml.safe_load((REPO / "metadata.yml").read_text()),
                     plugins_dir=str(REPO / "plugins"), template_dir=str(REPO / "templates"),
                     static_mounts=[("assets", str(REPO / "static"))],
                     settings={"suggest_facets": False, "facet_time_limit_ms": 1000})


@pytest.fixture(scope="module")
def site(demo_db):
    """The site once plugins/speed.py has made its costly pages, as a visitor finds it."""
    datasette = served(demo_db)

    async def warm():
        while not (await datasette.client.get("/-/speed.json")).json()["warm"]:
            await asyncio.sleep(0.05)
    asyncio.run(warm())
    return datasette


def fetch(site, path):
    """(status, headers, body) of a GET."""
    response = asyncio.run(site.client.get(path))
    return response.status_code, response.headers, response.text


def links(html):
    return [unescape(href) for href in re.findall(r'<a href="([^"]+)"', html)]


def test_robots_txt_keeps_queries_facets_and_data_out(site):
    status, headers, body = fetch(site, "/robots.txt")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    lines = body.splitlines()
    assert lines[0] == "User-agent: *"
    for rule in ("Disallow: /*?", "Disallow: /*.json", "Disallow: /*.atom", "Disallow: /-/",
                 "Disallow: /evidence/search_all", "Disallow: /evidence/new_evidence", "Allow: /"):
        assert rule in lines
    assert f"Sitemap: {BASE}/sitemap.xml" in lines


INDEXABLE = ["/", "/claims", "/evidence", "/evidence/deployments",
             "/evidence/legal_actions/legal-it-moratorium-2021", "/country/IT"]
NOT_INDEXABLE = ["/evidence/deployments?country=US", "/evidence/deployments?_facet=sector",
                 "/evidence/search_all?q=ban", "/evidence/in_force_on",
                 "/evidence?sql=select+1", "/evidence/deployments.json",
                 "/evidence/legal_actions/legal-it-moratorium-2021.json", "/-/search?q=ban", "/search?q=ban",
                 "/evidence/new_evidence.atom", "/evidence/build"]


@pytest.mark.parametrize("path", INDEXABLE)
def test_pages_that_may_be_indexed(site, path):
    status, headers, _ = fetch(site, path)
    assert status == 200
    assert headers.get("x-robots-tag") is None


@pytest.mark.parametrize("path", NOT_INDEXABLE)
def test_pages_that_may_not_be_indexed(site, path):
    _, headers, _ = fetch(site, path)
    assert headers.get("x-robots-tag") == "noindex"


def test_sitemap_lists_every_event_row_and_country(site, db):
    status, _, body = fetch(site, "/sitemap.xml")
    assert status == 200
    urls = [loc.text for loc in ElementTree.fromstring(body).iter(f"{SITEMAP}loc")]
    rows = [f"{BASE}/evidence/{table}/{row_id}" for table, row_id in db.execute(
        "select event_table, id from evidence")]
    countries = [f"{BASE}/country/{code}" for (code,) in db.execute(
        "select distinct country from evidence where country is not null")]
    tables = {f"{BASE}/evidence/{table}" for (table,) in db.execute(
        "select distinct event_table from evidence")}
    assert sorted(set(urls) - {f"{BASE}/", f"{BASE}/claims"} - tables) == sorted(rows + countries)
    assert len(urls) == len(set(urls))


def test_event_ids_link_to_their_rows(site, db):
    _, _, html = fetch(site, "/evidence/citations?event_table=wrongful_arrests&_size=5")
    event_links = [h for h in links(html) if h.startswith("/evidence/wrongful_arrests/")]
    assert len(event_links) == 5
    claim_id, ids = db.execute(
        "select id, evidence_ids from claims where evidence_count between 2 and 5 limit 1").fetchone()
    _, _, html = fetch(site, f"/evidence/claims/{claim_id}")
    listed = [h.rsplit("/", 1)[1] for h in links(html) if re.match(r"/evidence/\w+/(dep|arrest|legal)-", h)]
    assert listed == json.loads(ids)


def test_a_row_page_lists_the_claims_it_backs(site, db):
    backed = {}
    for claim_id, ids in db.execute("select id, evidence_ids from claims"):
        for row_id in json.loads(ids):
            backed.setdefault(row_id, set()).add(claim_id)
    assert backed == {row_id: {c for r, c in db.execute("select evidence_id, claim_id from claim_evidence")
                               if r == row_id} for row_id in backed}
    row_id = max(backed, key=lambda r: (len(backed[r]), r))
    table = db.execute("select event_table from evidence where id = ?", (row_id,)).fetchone()[0]
    _, _, html = fetch(site, f"/evidence/{table}/{row_id}")
    section = html.split("<h2>Claims of the letters it bears on</h2>", 1)[1].split("</ul>", 1)[0]
    assert set(re.findall(r'href="/claims#([^"]+)"', section)) == backed[row_id]
    timing = dict(db.execute("select claim_id, timing from claim_evidence where evidence_id = ?", (row_id,)))
    for item in section.split("<li>")[1:]:
        claim_id = re.search(r'href="/claims#([^"]+)"', item)[1]
        said = "counts for the verdict" if timing[claim_id] == "before" else "later evidence"
        assert said in item, (claim_id, timing[claim_id])


def test_a_row_page_says_which_claims_it_backs_as_later_evidence(site, db):
    row_id, claim_id = db.execute("select evidence_id, claim_id from claim_evidence where timing = 'after' "
                                  "order by evidence_id limit 1").fetchone()
    table = db.execute("select event_table from evidence where id = ?", (row_id,)).fetchone()[0]
    _, _, html = fetch(site, f"/evidence/{table}/{row_id}")
    item = html.split(f'href="/claims#{claim_id}"', 1)[1].split("</li>", 1)[0]
    assert "later evidence: dated after the letter, it does not count for the verdict" in item


def test_evidence_view_ids_link_to_the_event_tables(site):
    _, _, html = fetch(site, "/evidence/evidence?kind=legal_action&_size=3")
    assert len([h for h in links(html) if h.startswith("/evidence/legal_actions/legal-")]) == 3


@pytest.mark.parametrize(("path", "feed"), [
    ("/evidence/deployments?country=US&source=atlas&_sort=date",
     "/evidence/new_evidence.atom?kind=deployment&country=US&source=atlas"),
    ("/evidence/evidence?kind=wrongful_arrest&region__exact=Michigan",
     "/evidence/new_evidence.atom?kind=wrongful_arrest&region=Michigan"),
    ("/evidence/wrongful_arrests", "/evidence/new_evidence.atom?kind=wrongful_arrest"),
    ("/evidence/deployments?sector=policing", None),
    ("/evidence/deployments?_search=clearview", None),
    ("/evidence/documents", None),
])
def test_table_pages_link_the_feed_of_their_rows(site, path, feed):
    _, _, html = fetch(site, path)
    found = re.search(r'<p class="feed-link"><a href="([^"]+)"', html)
    assert (unescape(found.group(1)) if found else None) == feed


def test_claims_page_shows_unsupported_claims(site, db):
    _, _, html = fetch(site, "/claims")
    for claim_id, supported in db.execute("select id, supported from claims"):
        assert re.search(rf'<article class="claim claim-{supported}" id="{claim_id}">', html)
    assert html.count('class="verdict verdict-no">Unsupported</span>') == db.execute(
        "select count(*) from claims where supported = 'no'").fetchone()[0]


def test_a_claim_backed_by_many_rows_lists_a_hundred_and_links_the_rest(demo_db, tmp_path):
    """A claim can be backed by hundreds of thousands of rows: the page lists the first hundred
    and links them all (claim_evidence, filtered to the claim and the rows before its letter)."""
    copy = tmp_path / "evidence.db"
    copy.write_bytes(demo_db.read_bytes())
    ids = [f"dep-example-{n:03d}" for n in range(150)]
    with sqlite3.connect(copy) as conn:
        claim_id = conn.execute("select id from claims order by id limit 1").fetchone()[0]
        conn.execute("update claims set evidence_ids = ?, evidence_count = 150, before_count = 150, "
                     "after_count = 0 where id = ?", (json.dumps(ids), claim_id))
    _, _, html = fetch(served(copy), "/claims")
    article = html.split(f'id="{claim_id}">', 1)[1].split("</article>", 1)[0]
    listed = re.findall(r"dep-example-\d{3}", article)
    assert sorted(set(listed)) == ids[:100]
    more = re.search(r'And 50 more: <a href="/evidence/claim_evidence\?claim_id=([^&"]+)&amp;timing=before">'
                     r"all 150 rows dated on or before the letter</a>", article)
    assert more and urllib.parse.unquote(more.group(1)) == claim_id


@pytest.mark.parametrize(("path", "sql"), [
    ("/evidence/organisations/org-clearview-ai",
     "select event_id from event_organisations where organisation_id = 'org-clearview-ai'"),
    ("/evidence/documents/{}", "select event_id from citations where document_id = '{}'"),
])
def test_organisation_and_document_pages_list_their_events(site, db, path, sql):
    document = db.execute("select document_id from citations group by document_id "
                          "order by count(*) desc, document_id limit 1").fetchone()[0]
    _, _, html = fetch(site, path.format(document))
    section = html.split('<section class="linked-events">', 1)[1].split("</section>", 1)[0]
    listed = sorted(h.rsplit("/", 1)[1] for h in links(section))
    assert listed == sorted(r[0] for r in db.execute(sql.format(document))) and listed


def test_makefile_and_dockerfile_serve_as_the_tests_do():
    serve = re.search(r"^serve:.*\n\t(.+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    [command] = [line for line in (REPO / "Dockerfile").read_text().splitlines()
                 if line.startswith("CMD ")]
    for line in (serve, command):
        assert " ".join(SERVE_OPTIONS) in line


def test_a_feed_whose_filter_matches_nothing_is_an_empty_feed(site):
    status, headers, body = fetch(site, "/evidence/new_evidence.atom?country=ZZ")
    assert status == 200 and headers["content-type"].startswith("application/xml")
    feed = ElementTree.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    assert feed.findtext(f"{atom}title") == "New evidence"
    assert feed.findtext(f"{atom}updated") == RELEASE
    assert feed.find(f"{atom}link").get("href") == f"{BASE}/evidence/new_evidence.atom?country=ZZ"
    assert feed.findall(f"{atom}entry") == []
