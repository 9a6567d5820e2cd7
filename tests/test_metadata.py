"""metadata.yml is the data dictionary: it describes every column, and Datasette serves it cleanly.

A database is built into a temporary directory from the repository's curated files plus a small
snapshot of synthetic records made by the real pipelines (source `metatest`), so that every
canned query has a row it must find. Datasette then serves that database with metadata.yml,
offline, through its in-process client.
"""

import asyncio
import json
import sqlite3
from urllib.parse import urlencode

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

from pipelines.build import build
from pipelines.clean.identify import identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import validate
from pipelines.snapshot.store import Snapshot
from pipelines.write.schema import COLUMNS, FACETS, FTS_COLUMNS
from scrapers.items import Deployment, DocumentRef, LegalAction, WrongfulArrest
from scrapers.pipelines import item_to_record

METADATA = REPO / "metadata.yml"
DATABASE = "evidence"
DESCRIBED = (*COLUMNS, "build", "evidence")
FTS_SUFFIXES = ("", "_config", "_data", "_docsize", "_idx")
HIDDEN = {"build"} | {f"{table}_fts{suffix}" for table in FTS_COLUMNS for suffix in FTS_SUFFIXES}


def synthetic_items():
    """One event of each kind, plus a ban repealed in 2018 that was in force before that."""
    def document(slug):
        return [DocumentRef(url=f"https://example.org/{slug}", publisher="Example News",
                            published="2019-06-02")]
    common = {"source": "metatest", "summary": "Synthetic row for tests/test_metadata.py."}
    return [
        Deployment(**common, source_id="1", title="Live face recognition pilot at Example Station",
                   date="2019-06-01", country="GB", region="England", place="London",
                   operator="Example Transit Police", vendors=["Morpho"], sector="transport",
                   mode="live", status="pilot", documents=document("pilot")),
        WrongfulArrest(**common, source_id="2", title="Example man jailed after a false face match",
                       date="2020-03", country="US", region="MI", place="Detroit",
                       agency="Example County Sheriff", days_detained=3,
                       documents=document("arrest")),
        LegalAction(**common, source_id="3", title="Example City bans face recognition",
                    kind="ban", status="in_force", jurisdiction_level="city",
                    jurisdiction="Example City", date="2019", country="US", region="Illinois",
                    place="Springfield", documents=document("ban")),
        LegalAction(**common, source_id="4", title="Example City's first ban, since repealed",
                    kind="ban", status="repealed", jurisdiction_level="city",
                    jurisdiction="Example City", date="2017-05-01", end_date="2018-06-30",
                    country="US", region="Illinois", place="Springfield",
                    documents=document("old-ban")),
    ]


def write_snapshot(items_dir):
    """The synthetic items through validate → normalise → identify into a snapshot, as a crawl would."""
    snapshot = Snapshot(items_dir / "metatest.jsonl", run_date="2026-01-01")
    for item in synthetic_items():
        record, problems = normalise(validate(item_to_record(item)))
        assert not problems, problems
        snapshot.add(identify(record))
    assert snapshot.commit(run_ok=True).replaced


@pytest.fixture(scope="module")
def metadata():
    return yaml.safe_load(METADATA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables_metadata(metadata):
    return metadata["databases"][DATABASE]["tables"]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    directory = tmp_path_factory.mktemp("metadata")
    items = directory / "items"
    write_snapshot(items)
    path = directory / f"{DATABASE}.db"
    build(path, items_dir=items, built_at="2026-01-01T00:00:00Z")
    return path


@pytest.fixture(scope="module")
def datasette(db_path, metadata):
    return Datasette(immutables=[str(db_path)], metadata=metadata,
                     settings={"facet_time_limit_ms": 10_000, "sql_time_limit_ms": 10_000})


def get(datasette, path, **params):
    """GET a Datasette path in-process; returns (status, parsed JSON or HTML text)."""
    url = f"{path}?{urlencode(params)}" if params else path
    response = asyncio.run(datasette.client.get(url))
    body = response.json() if path.endswith(".json") else response.text
    return response.status_code, body


def db_columns(db_path, table):
    with sqlite3.connect(db_path) as conn:
        return [row[1] for row in conn.execute(f"pragma table_info([{table}])")]


def db_tables_and_views(db_path):
    with sqlite3.connect(db_path) as conn:
        return {row[0] for row in conn.execute(
            "select name from sqlite_master where type in ('table', 'view')")}


# --- (a) the data dictionary matches the database -------------------------------------------


def test_every_table_and_view_has_an_entry_and_every_entry_exists(db_path, tables_metadata):
    in_db = db_tables_and_views(db_path)
    assert sorted(in_db - set(tables_metadata)) == []
    assert sorted(set(tables_metadata) - in_db) == []


def test_the_database_holds_the_described_tables_and_the_hidden_ones(db_path):
    assert db_tables_and_views(db_path) == set(DESCRIBED) | HIDDEN


@pytest.mark.parametrize("table", DESCRIBED)
def test_table_has_title_description_and_licence(table, tables_metadata):
    entry = tables_metadata[table]
    assert entry.get("title")
    assert entry.get("description") or entry.get("description_html")
    if table != "build":
        assert entry.get("license") and entry.get("license_url")


@pytest.mark.parametrize("table", DESCRIBED)
def test_every_column_is_described_and_every_described_column_exists(db_path, table,
                                                                     tables_metadata):
    described = tables_metadata[table].get("columns", {})
    columns = db_columns(db_path, table)
    assert [c for c in columns if c not in described] == [], "columns without a description"
    assert [c for c in described if c not in columns] == [], "descriptions of no column"
    assert all(isinstance(text, str) and text.strip() for text in described.values())


@pytest.mark.parametrize("table", DESCRIBED)
def test_settings_name_real_columns(db_path, table, tables_metadata):
    entry = tables_metadata[table]
    columns = db_columns(db_path, table)
    named = [*entry.get("facets", ()), *entry.get("units", {}),
             *(entry[key] for key in ("sort", "sort_desc", "label_column") if key in entry)]
    assert [c for c in named if c not in columns] == []


@pytest.mark.parametrize("table", sorted(FACETS))
def test_facets_are_indexed_columns(table, tables_metadata):
    """Table facets come from schema.FACETS, whose columns the build indexes."""
    assert set(tables_metadata[table].get("facets", ())) <= set(FACETS[table])


# --- (b) Datasette serves the tables, facets and canned queries ------------------------------


def test_deployments_json(datasette):
    status, body = get(datasette, f"/{DATABASE}/deployments.json", _shape="objects",
                       id="dep-metatest-1")
    assert status == 200
    assert [row["id"] for row in body["rows"]] == ["dep-metatest-1"]
    assert "sorted by date descending" in body["human_description_en"]


@pytest.mark.parametrize("table", DESCRIBED)
def test_table_page_and_its_facets(datasette, table, tables_metadata):
    status, _ = get(datasette, f"/{DATABASE}/{table}")
    assert status == 200
    status, body = get(datasette, f"/{DATABASE}/{table}.json", _size=1)
    assert status == 200
    assert sorted(body["facet_results"]) == sorted(tables_metadata[table].get("facets", ()))


# Each canned query with sample parameters, and text its rows must contain.
QUERY_SAMPLES = {
    "evidence_by_country": ({"country": "gb"}, "dep-metatest-1"),
    "evidence_by_year": ({"year": "2019"}, "legal-metatest-3"),
    "deployments_by_vendor": ({"vendor": "morpho"}, "dep-metatest-1"),
    "wrongful_arrests_by_agency": ({"agency": "Example County"}, "arrest-metatest-2"),
    "in_force_on": ({"jurisdiction": "example city", "on": "2020-01-01"}, "legal-metatest-3"),
    "claims_with_evidence": ({"letter": ""}, ""),
    "search_all": ({"q": "Example Station"}, "dep-metatest-1"),
    "counts_by_kind_and_year": ({"country": "US"}, "wrongful_arrest"),
    "new_evidence": ({"kind": "deployment", "country": "gb", "region": "England",
                      "source": "metatest", "q": "Example Station"}, "dep-metatest-1"),
    "evidence_map": ({"kind": "wrongful_arrest", "country": "us"}, "arrest-metatest-2"),
    # the leads of data/discovered, which the build reads whatever the items (pipelines/discover)
    "leads_waiting": ({"kind": "legal_action"}, "legal_action"),
}


def run_query(datasette, name, **params):
    """Rows of a canned query; fails with Datasette's error message if the SQL failed."""
    status, body = get(datasette, f"/{DATABASE}/{name}.json", _shape="objects", **params)
    assert status == 200 and body["ok"] and not body.get("error"), body.get("error")
    return body["rows"]


def test_every_canned_query_has_a_sample(metadata):
    assert set(metadata["databases"][DATABASE]["queries"]) == set(QUERY_SAMPLES)


@pytest.mark.parametrize("name", QUERY_SAMPLES)
def test_canned_query_finds_its_sample(datasette, metadata, name):
    query = metadata["databases"][DATABASE]["queries"][name]
    assert query.get("title") and query.get("description_html")
    params, expected = QUERY_SAMPLES[name]
    assert set(params) == set(query["params"])
    rows = run_query(datasette, name, **params)
    assert expected in json.dumps(rows)


@pytest.mark.parametrize("name", QUERY_SAMPLES)
def test_canned_query_runs_with_empty_parameters(datasette, name):
    """The query form first opens with every parameter empty: that must not be an SQL error."""
    run_query(datasette, name)


def test_in_force_on_follows_enactment_and_end_dates(datasette):
    def in_force(on):
        rows = run_query(datasette, "in_force_on", jurisdiction="Example City", on=on)
        return {row["id"] for row in rows}
    assert in_force("2020-01-01") == {"legal-metatest-3"}
    assert in_force("2018-12-31") == set()
    assert in_force("2018-01-01") == {"legal-metatest-4"}  # repealed later, in force then


# --- (c) index tables and the build table are hidden ----------------------------------------


def test_hidden_tables(datasette, tables_metadata):
    assert {name for name, entry in tables_metadata.items() if entry.get("hidden")} == HIDDEN
    status, body = get(datasette, f"/{DATABASE}.json")
    assert status == 200
    assert {table["name"] for table in body["tables"] if table["hidden"]} == HIDDEN
