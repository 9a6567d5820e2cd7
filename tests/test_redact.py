"""Redaction: a redacted name is gone from every table, index, view and byte of the database, and
no search finds it; the row and its id stay. Tested on the real Randal Reid rows, whose name comes
in several spellings from the AIID and the curated files."""

import asyncio
import re
import shutil
import sqlite3
import subprocess

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

from pipelines.build import build
from pipelines.clean.identify import document_id
from pipelines.ledgers.redact import RedactionError, Redactor
from pipelines.write.schema import FTS_COLUMNS

DATA = REPO / "data"
ROW = "arrest-us-jefferson-parish-2022"
NAME = re.compile(r"(?<![a-z])(randall?|quran|reid)(?![a-z])", re.I)
NAME_BYTES = re.compile(rb"(?<![a-z])(randall?|quran|reid)(?![a-z])")
AIAAIC = ("https://www.aiaaic.org/aiaaic-repository/ai-algorithmic-and-automation-incidents/"
          "louisiana-police-randall-reid-wrongful-arrest-jailing")


def redactions(path, *entries):
    path.write_text(yaml.safe_dump(list(entries)))
    return path


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    """The repository's data built with one redaction, asked for through an id merged into the row."""
    root = tmp_path_factory.mktemp("redact")
    request = redactions(root / "redactions.yml", {"id": "arrest-aiid-515", "fields": ["person"],
                                                   "reason": "test: takedown request", "date": "2026-11-30"})
    path = root / "evidence.db"
    build(path, redactions_file=request, built_at="2026-11-30T00:00:00Z")
    return path


def text_columns(conn):
    for (name,) in conn.execute("select name from sqlite_master where type in ('table', 'view') "
                                "and name not like '%_fts%'"):
        for column in conn.execute(f"pragma table_info([{name}])"):
            if column[2].upper() in ("TEXT", ""):
                yield name, column[1]


def test_the_row_and_its_id_stay_and_the_name_is_gone_from_it(db_path):
    conn = sqlite3.connect(db_path)
    person, summary = conn.execute("select person, summary from wrongful_arrests where id = ?",
                                   [ROW]).fetchone()
    assert person == "[redacted]"
    assert "[redacted], who says he had never been to Louisiana" in summary
    assert conn.execute("select id from id_aliases where alias = 'arrest-aiid-515'").fetchone() == (ROW,)


def test_the_name_is_gone_from_other_rows_and_from_urls(db_path):
    conn = sqlite3.connect(db_path)
    lawsuit = conn.execute("select summary from legal_actions where summary like '%[redacted] sued%'")
    assert len(lawsuit.fetchall()) == 1
    url, canonical = conn.execute("select url, canonical_url from documents where id = ?",
                                  [document_id(AIAAIC)]).fetchone()
    assert url.endswith("louisiana-police-[redacted]-wrongful-arrest-jailing")
    assert "[redacted]" in canonical


def test_no_dump_and_no_byte_of_the_file_holds_the_name(db_path):
    dumped = "\n".join(sqlite3.connect(db_path).iterdump())
    assert NAME.findall(dumped) == []
    assert NAME_BYTES.findall(db_path.read_bytes().lower()) == []
    if shutil.which("sqlite3"):
        cli = subprocess.run(["sqlite3", str(db_path), ".dump"], capture_output=True, text=True, check=True)
        assert len(cli.stdout) > 100_000 and NAME.findall(cli.stdout) == []


def test_no_full_text_index_like_or_view_finds_the_name(db_path):
    conn = sqlite3.connect(db_path)
    fts = [name for (name,) in conn.execute("select name from sqlite_master where name like '%_fts'")]
    assert sorted(fts) == sorted(f"{table}_fts" for table in FTS_COLUMNS)
    for table in fts:
        for word in ("Reid", "Randal", "Randall", "Quran"):
            found = conn.execute(f"select count(*) from [{table}] where [{table}] match ?", [word])
            assert found.fetchone() == (0,), (table, word)
    columns = list(text_columns(conn))
    assert ("evidence", "summary") in columns and ("documents", "url") in columns
    for table, column in columns:
        for word in ("reid", "randal", "quran"):
            found = conn.execute(f"select count(*) from [{table}] where [{column}] like ?", [f"%{word}%"])
            assert found.fetchone() == (0,), (table, column, word)


def test_no_datasette_search_finds_the_name(db_path):
    datasette = Datasette(immutables=[str(db_path)], plugins_dir=str(REPO / "plugins"),
                          template_dir=str(REPO / "templates"),
                          metadata=yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")))

    def rows(path):
        response = asyncio.run(datasette.client.get(path))
        assert response.status_code == 200, path
        return response.json()["rows"]

    for table in ("wrongful_arrests", "legal_actions", "deployments", "documents"):
        assert rows(f"/evidence/{table}.json?_search=Reid&_shape=objects") == []
    assert rows("/evidence/search_all.json?q=Reid&_shape=objects") == []
    assert rows("/evidence/evidence.json?summary__contains=Reid&_shape=objects") == []
    assert rows("/evidence/wrongful_arrests.json?_search=Louisiana&_shape=objects")  # search still works


def test_an_id_holding_a_redacted_value_stops_the_build(tmp_path):
    curated = tmp_path / "curated"
    curated.mkdir()
    (curated / "wrongful_arrests.yml").write_text(yaml.safe_dump([{
        "id": "arrest-us-example-2021", "title": "Synthetic arrest by a private guard",
        "date": "2021-03-04", "country": "US", "summary": "Synthetic row for tests/test_redact.py.",
        "agency": "Sam Sample Security", "sources": [{"url": "https://example.org/arrest",
                                                      "publisher": "Example News"}]}]))
    (tmp_path / "items").mkdir()
    request = redactions(tmp_path / "redactions.yml", {"id": "arrest-us-example-2021", "fields": ["agency"],
                                                       "reason": "test", "date": "2026-11-30"})
    with pytest.raises(RedactionError, match="organisations.id 'org-sam-sample-security' holds a redacted"):
        build(tmp_path / "evidence.db", items_dir=tmp_path / "items", curated_dir=curated,
              aliases_file=None, redactions_file=request, built_at="2026-11-30T00:00:00Z")
    assert not (tmp_path / "evidence.db").exists()


def test_a_redaction_of_no_row_stops_a_full_build(tmp_path):
    request = redactions(tmp_path / "redactions.yml", {"id": "arrest-us-nowhere-2020", "fields": ["person"],
                                                       "reason": "test", "date": "2026-11-30"})
    with pytest.raises(RedactionError, match="arrest-us-nowhere-2020: no row or alias has this id"):
        build(tmp_path / "evidence.db", redactions_file=request, published_file=tmp_path / "ids.txt",
              register=True)


def test_a_build_after_a_redaction_leaves_no_copy(tmp_path):
    """The last database held the name in its pages and search index; the next one must not, and the
    build leaves no other file beside it."""
    path = tmp_path / "evidence.db"
    build(path, built_at="2026-11-30T00:00:00Z")
    assert NAME_BYTES.findall(path.read_bytes().lower())
    request = redactions(tmp_path / "redactions.yml", {"id": ROW, "fields": ["person"],
                                                       "reason": "test", "date": "2026-11-30"})
    build(path, redactions_file=request, built_at="2026-11-30T00:00:00Z")
    assert NAME_BYTES.findall(path.read_bytes().lower()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("evidence")) == ["evidence.db"]
    person = sqlite3.connect(path).execute("select person from wrongful_arrests where id = ?", [ROW])
    assert person.fetchone() == ("[redacted]",)


def database_holding(path, text, leftover=b""):
    with sqlite3.connect(path) as conn:
        conn.execute("create table notes (body text, raw blob)")
        conn.execute("insert into notes values (?, ?)", (text, leftover))
    return path


def test_the_file_check_catches_a_copy_left_behind(tmp_path):
    record = {"id": "arrest-us-example-2021", "table": "wrongful_arrests", "person": "Sam Sample",
              "documents": []}
    redactor = Redactor([{"id": record["id"], "fields": ["person"], "reason": "test", "date": "2026-11-30"}],
                        {record["id"]: record}, {}, {}, strict=True)
    with pytest.raises(RedactionError, match="a redacted value is still in whole.db"):
        redactor.check_file(database_holding(tmp_path / "whole.db", "an old row: SAM-SAMPLE was arrested"))
    with pytest.raises(RedactionError, match="a word of a redacted name is still in token.db"):
        redactor.check_file(database_holding(tmp_path / "token.db", "[redacted] was arrested",
                                             leftover=b"\x05sample\x03"))
    redactor.check_file(database_holding(tmp_path / "street.db", "[redacted] was arrested on Sample Street"))


def test_no_page_feed_or_export_of_the_site_shows_the_name(db_path):
    """Everything a reader can fetch, in every format, from the redacted row to the sitemap."""
    from conftest import InProcess

    site = InProcess(db_path)
    paths = ["/", "/claims", "/search?q=Louisiana", "/search?q=Reid", "/country/US", "/sitemap.xml",
             f"/evidence/wrongful_arrests/{ROW}", f"/evidence/wrongful_arrests/{ROW}.json",
             "/evidence/wrongful_arrests", "/evidence/wrongful_arrests.json?_size=max",
             "/evidence/wrongful_arrests.csv?_size=max", "/evidence/documents.csv?_size=max",
             "/evidence/citations.csv?_size=max", "/evidence/evidence.csv?_size=max",
             "/evidence/new_evidence.atom", "/evidence/evidence_map.json?_size=max"]
    try:
        responses = {path: site.get(path, follow_redirects=True) for path in paths}
    finally:
        site.close()
    assert {path: r.status_code for path, r in responses.items()} == dict.fromkeys(paths, 200)
    assert "Louisiana" in responses["/search?q=Louisiana"].text  # the row is still found
    # the search page repeats the reader's own words (title, search box): what it found holds none
    echoed = re.compile(r'<title>Search for Reid|value="Reid"')
    shown = {path: NAME.findall(echoed.sub("", r.text)) for path, r in responses.items()}
    assert shown == dict.fromkeys(paths, [])
