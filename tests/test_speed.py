"""plugins/speed.py: an immutable database's pages and query results are kept, and never wrong.

The repository's data is built and served as `make serve` serves it (immutable, with the project's
metadata and plugins); the same file served mutable is the reference, since the plugin leaves
mutable databases alone."""

import asyncio
import json
import shutil

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

from pipelines.build import build

URLS = ("/evidence/deployments.json?_facet=country&_facet=sector",
        "/evidence/legal_actions.json?_search=ban&_sort=id",
        "/evidence/wrongful_arrests.json?country=US&_sort=id",
        "/evidence/wrongful_arrests.json?country=GB&_sort=id",
        "/evidence/evidence.json?_sort=id&_size=20",
        "/evidence/legal_actions/legal-it-moratorium-2021.json",
        "/evidence/search_all.json?q=police",
        "/evidence.json?sql=select+kind,+count(*)+from+legal_actions+group+by+kind+order+by+kind")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    root = tmp_path_factory.mktemp("speed")
    shutil.copytree(REPO / "data" / "items", root / "items")
    build(root / "evidence.db", items_dir=root / "items", built_at="2026-01-01T00:00:00Z")
    return root / "evidence.db"


def timeless(answer):
    """A JSON answer without the time its query took."""
    return {k: v for k, v in answer.items() if k != "query_ms"} if isinstance(answer, dict) else answer


def site(path, immutable=True):
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    return Datasette(**files, plugins_dir=str(REPO / "plugins"), template_dir=str(REPO / "templates"),
                     metadata=yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")))


async def speed(datasette) -> dict:
    return (await datasette.client.get("/-/speed.json")).json()


async def warmed(datasette) -> dict:
    await datasette.client.get("/-/speed.json")
    for _ in range(600):
        report = await speed(datasette)
        if report["warm"]:
            return report
        await asyncio.sleep(0.05)
    raise AssertionError("the warm-up did not finish")


def test_kept_answers_are_the_answers(database):
    async def answers():
        reference, fast = site(database, immutable=False), site(database)
        await warmed(fast)
        out = []
        for url in URLS:
            expected = await reference.client.get(url)
            first, again = await fast.client.get(url), await fast.client.get(url)
            out.append((url, expected.status_code, timeless(expected.json()), timeless(first.json()),
                        again.content == first.content))
        return out, await speed(fast)

    results, report = asyncio.run(answers())
    for url, status, expected, first, same_bytes in results:
        assert status == 200, url
        assert first == expected, url
        assert same_bytes, url
    assert report["pages"]["hits"] >= len(URLS) and report["queries"]["hits"] > 0


def test_the_warm_up_makes_every_table_page_and_common_searches_before_anyone_asks(database):
    async def run():
        datasette = site(database)
        report = await warmed(datasette)
        before = report["pages"]["hits"]
        searches = [p for p in report["warmed_pages"] if p.startswith("/evidence/legal_actions?_search=")]
        page = await datasette.client.get("/evidence/deployments")
        search = await datasette.client.get(searches[0])
        return report, before, searches, page, search, await speed(datasette)

    report, before, searches, page, search, after = asyncio.run(run())
    assert report["failed"] == [] and "/evidence/deployments" in report["warmed_pages"]
    assert page.status_code == 200 and 'class="facet' in page.text
    assert len(searches) == 25 and searches[0] == "/evidence/legal_actions?_search=recognition"
    assert search.status_code == 200 and "recognition" in search.text
    assert after["pages"]["hits"] == before + 2


def test_what_could_change_is_never_kept(database):
    async def run():
        datasette = site(database)
        await warmed(datasette)
        url = "/evidence.json?sql=select+random()+as+r&_shape=array"
        volatile = [(await datasette.client.get(url)).json() for _ in range(2)]
        before = await speed(datasette)
        await datasette.client.get("/evidence/sources", cookies={"ds_actor": "someone"})
        await datasette.client.get("/evidence/sources", cookies={"ds_actor": "someone"})
        return volatile, before, await speed(datasette)

    volatile, before, after = asyncio.run(run())
    assert volatile[0] != volatile[1]
    assert after["pages"]["hits"] == before["pages"]["hits"]  # asked with a cookie: made each time


def test_a_mutable_database_is_left_alone(database, tmp_path):
    copy = tmp_path / "evidence.db"
    shutil.copy(database, copy)

    async def run():
        datasette = site(copy, immutable=False)
        for _ in range(2):
            await datasette.client.get("/evidence/deployments.json")
        return await warmed(datasette)

    report = asyncio.run(run())
    assert report["queries"]["entries"] == 0 and report["pages"]["entries"] == 0
    assert json.dumps(report["failed"]) == "[]"
