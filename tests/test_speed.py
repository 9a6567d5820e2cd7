"""plugins/speed.py: an immutable database's pages and query results are kept, and never wrong.

The repository's data is built and served as `make serve` serves it (immutable, with the project's
metadata and plugins); the same file served mutable is the reference, since the plugin leaves
mutable databases alone."""

import asyncio
import gc
import json
import shutil

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette
from datasette.plugins import pm

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


def test_the_warm_up_makes_every_table_page_and_costly_searches_before_anyone_asks(database):
    async def run():
        datasette = site(database)
        report = await warmed(datasette)
        before = report["pages"]["hits"]
        searches = [p for p in report["warmed_pages"] if p.startswith("/evidence/legal_actions?_search=")]
        page = await datasette.client.get("/evidence/deployments")
        search = await datasette.client.get(searches[0])
        total = (await datasette.client.get("/evidence/legal_actions.json?_size=0")).json()
        counts = [(await datasette.client.get(p.replace("?", ".json?_size=0&"))).json() for p in searches]
        return report, before, searches, page, search, total, counts, await speed(datasette)

    report, before, searches, page, search, total, counts, after = asyncio.run(run())
    assert report["failed"] == [] and "/evidence/deployments" in report["warmed_pages"]
    assert not any("_fts" in p for p in report["warmed_pages"])  # hidden FTS tables are not pages
    assert page.status_code == 200 and 'class="facet' in page.text
    assert search.status_code == 200 and "<tbody>" in search.text
    assert after["pages"]["hits"] == before + 2
    # The searches made ahead match at least a tenth of the table, most matches first.
    matched = [c["filtered_table_rows_count"] for c in counts]
    assert len(searches) > 1 and matched == sorted(matched, reverse=True)
    assert min(matched) >= 0.1 * total["filtered_table_rows_count"]


SEARCHES = [f"/evidence/{table}.json?_search={words}&_extra=facet_results,count{extra}"
            for table in ("deployments", "legal_actions", "wrongful_arrests", "documents")
            for words in ("police", "facial+recognition", "ban", "city", "nothingmatches")
            for extra in ("", "&_facet=country", "&_sort=id", "&_sort_desc=date&_size=3")]
SEARCHES += [f"/evidence/deployments.json?_search={words}&_extra=facet_results,count{extra}"
             for words in ("police", "department", "face")
             for extra in ("&country=US", "&country=US&sector=policing", "&year=2020", "&country=XX",
                           "&_sort=title", "&_searchmode=raw", "&country__not=US")]
SEARCHES += ["/evidence/deployments.json?_search=po*&_searchmode=raw&_extra=facet_results,count",
             "/evidence/deployments.json?_search=%22unclosed&_searchmode=raw",
             "/evidence/deployments?_search=police&country=US"]


async def every_row(client, url: str) -> list:
    """The rows of a JSON table page and of all its next pages."""
    rows = []
    while url:
        body = (await client.get(url)).json()
        rows += body["rows"]
        url = (body.get("next_url") or "").removeprefix("http://localhost")
    return sorted(rows, key=str)


def test_searches_answered_from_memory_are_sqlites_answers(database):
    """Counts, facets and rows of full-text searches (with filters, sorts, raw mode, errors), from
    the columns plugins/speed.py keeps in memory, are those of the same Datasette without it."""
    async def answers():
        reference, fast = site(database, immutable=False), site(database)
        report = await warmed(fast)
        out = []
        for url in SEARCHES:
            expected, got = await reference.client.get(url), await fast.client.get(url)
            if not url.split("?")[0].endswith(".json"):
                out.append((url, expected.status_code, got.status_code, expected.text, got.text, None))
                continue
            expected_json, got_json, every = timeless(expected.json()), timeless(got.json()), None
            if expected_json.get("next_url"):
                # Rows tied in the sort order are cut at the page's end where SQLite happens to
                # read them; ours in primary key order, as the next pages continue. Compared here:
                # the rows of all pages, with every row of the search asked on one page.
                every = (await every_row(fast.client, url),
                         await every_row(reference.client, url.replace("_size=3", "") + "&_size=max"))
                for answer in (expected_json, got_json):
                    del answer["next"], answer["next_url"]
                    answer["rows"] = len(answer["rows"])
            elif "rows" in expected_json:  # the same rows, ties on the page in either order
                expected_json["rows"], got_json["rows"] = (sorted(answer["rows"], key=str)
                                                           for answer in (expected_json, got_json))
            out.append((url, expected.status_code, got.status_code, expected_json, got_json, every))
        return report, out, await speed(fast)

    report, results, after = asyncio.run(answers())
    tables = ("deployments", "legal_actions", "wrongful_arrests", "documents")
    assert set(report["search_indexes"]) == {f"evidence/{t}" for t in tables}
    assert "country" in report["search_indexes"]["evidence/deployments"]
    for url, status, got_status, expected, got, every in results:
        assert got_status == status, url
        assert got == expected, url
        assert every is None or every[0] == every[1], url
    assert any(every for *_, every in results)
    assert after["searches"]["misses"] > len(SEARCHES) / 4  # the index did answer them


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


def test_kept_results_are_not_walked_by_the_garbage_collector(database):
    async def run():
        datasette = site(database)
        await warmed(datasette)  # what is alive then is frozen: the collector no longer walks it
        state = next(p for p in pm.get_plugins() if hasattr(p, "STATES")).STATES[datasette]
        before = set(state.cache.entries)
        for url in SEARCHES[:10]:
            await datasette.client.get(url)
        return state, before

    state, before = asyncio.run(run())
    for _ in range(3):  # each collection stops tracking one more level of nested tuples
        gc.collect()
    kept = [entry for key, entry in state.cache.entries.items() if key not in before]
    assert len(kept) > 10 and sum(len(rows) for rows, _, _ in kept) > 100
    assert not any(gc.is_tracked(entry) for entry in kept)


def test_a_tables_permission_rules_are_read_once_and_are_what_metadata_says(database):
    async def checks():
        datasette = site(database)
        await datasette.invoke_startup()
        allows = datasette._table_permission_allows
        first = allows("evidence", "deployments")
        for url in ("/evidence/deployments", "/evidence/documents", "/evidence/deployments"):
            assert (await datasette.client.get(url)).status_code == 200
        return first, allows("evidence", "deployments"), allows.cache_info()

    first, again, info = asyncio.run(checks())
    assert first == again == []  # the metadata sets no `allow` on a table: everyone may read
    assert info.hits > info.misses > 0


def test_an_immutable_databases_schema_is_read_once_and_each_caller_gets_its_own_copy(database):
    async def answers():
        reference, fast = site(database, immutable=False), site(database)
        await fast.invoke_startup()
        kept, expected = fast.get_database("evidence"), reference.get_database("evidence")
        trips = []
        original = kept.execute_fn

        async def counted(fn):
            trips.append(fn)
            return await original(fn)

        kept.execute_fn = counted
        first = await questions(kept)
        first[0].append("not a table")  # a caller changing its answer changes no one else's
        trips_first = len(trips)
        again = await questions(kept)
        return again, len(trips) - trips_first, trips_first, await questions(expected)

    async def questions(db):
        return [await db.table_names(), await db.hidden_table_names(), await db.fts_table("deployments")]

    again, trips_again, trips_first, expected = asyncio.run(answers())
    assert again == expected and "not a table" not in again[0]
    assert "deployments" in again[0] and "deployments_fts" in again[1] and again[2] == "deployments_fts"
    assert trips_first >= 3 and trips_again == 0  # asked again: answered without a trip to the database
