"""The database build: deterministic, atomic, loud about bad curated rows, honest about claims."""

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest
import sqlite_utils
import yaml
from conftest import FIXTURES, REPO, crawl

from pipelines.build import build
from pipelines.read.curated import CuratedError, load_curated
from pipelines.read.records import DuplicateIds, UnsortedSnapshot
from pipelines.write.schema import create_tables, dangling_keys

DATA = REPO / "data"
BUILT_AT = "2026-01-01T00:00:00Z"
CURATED_ROW = {
    "id": "legal-example-ban-2019", "title": "Example City bans face recognition",
    "date": "2019-05-14", "country": "US", "region": "Illinois", "place": "Springfield",
    "summary": "Synthetic row: Example City council bans city use of face recognition.",
    "kind": "ban", "jurisdiction_level": "city", "jurisdiction": "Example City",
    "status": "enacted", "verification": "checked",
    "sources": [{"url": "https://example.org/ban", "publisher": "Example News",
                 "published": "2019-05-15", "role": "coverage"}],
}
LETTER_ROW = {
    "id": "decl-example-letter-2020", "title": "Example Coalition's open letter", "date": "2020-01-15",
    "kind": "open_letter", "summary": "Synthetic row: an open letter that makes the example claim.",
    "sources": [{"url": "https://example.org/letter", "publisher": "Example Coalition",
                 "title": "Our open letter", "role": "primary"}],
}
CLAIM = {"id": "claim-example", "letter": "example.txt", "quote": "Several cities have banned it.",
         "evidence_sql": "select id from legal_actions where kind = 'ban'",
         "measures": [{"label": "cities with a ban",
                       "sql": "select count(distinct jurisdiction) from legal_actions "
                              "where id in (select id from claim_before)"}],
         "threshold": 3}


def write_curated(directory, rows=(CURATED_ROW,), claims=(CLAIM,)):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "legal_actions.yml").write_text(yaml.safe_dump(list(rows)))
    (directory / "declarations.yml").write_text(yaml.safe_dump([LETTER_ROW]))
    (directory / "claims.yml").write_text(yaml.safe_dump({
        "letters": {"example.txt": {"declaration": LETTER_ROW["id"]}}, "claims": list(claims)}))
    return directory


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One real crawl of the synthetic Atlas (two deployments) per module."""
    items = tmp_path_factory.mktemp("crawled") / "items"
    code, _, log = crawl("atlas", items, f"start_url={(FIXTURES / 'atlas_synthetic.csv').as_uri()}")
    assert code == 0, log
    return items


@pytest.fixture
def inputs(tmp_path, crawled):
    """The crawl's snapshot copied into this test's folder, and a curated folder beside it."""
    items = shutil.copytree(crawled, tmp_path / "items")
    return items, write_curated(tmp_path / "curated")


def test_two_builds_from_the_same_text_are_identical(tmp_path, inputs):
    items, curated = inputs
    counts = build(tmp_path / "a.db", items, curated, built_at=BUILT_AT)
    build(tmp_path / "b.db", items, curated, built_at=BUILT_AT)
    assert (tmp_path / "a.db").read_bytes() == (tmp_path / "b.db").read_bytes()
    assert counts.pop("organisations") > 0  # the curated registry plus the three named here
    assert counts == {"deployments": 2, "wrongful_arrests": 0, "legal_actions": 1, "declarations": 1,
                      "documents": 4, "citations": 4, "claims": 1}


def test_tables_keys_and_search(tmp_path, inputs):
    items, curated = inputs
    db_path = tmp_path / "evidence.db"
    build(db_path, items, curated, built_at=BUILT_AT)
    conn = sqlite3.connect(db_path)
    assert conn.execute("select id, kind, title from evidence order by id").fetchall() == [
        ("decl-example-letter-2020", "declaration", "Example Coalition's open letter"),
        ("dep-atlas-aos9001", "deployment", "Face recognition used by Example Police Department (IL)"),
        ("dep-atlas-aos9002", "deployment", "Face recognition used by Example Sheriff's Office (ZZ)"),
        ("legal-example-ban-2019", "legal_action", "Example City bans face recognition")]
    assert conn.execute("select vendor, region_code, listed from deployments where id = "
                        "'dep-atlas-aos9001'").fetchone() == ("DataWorks Plus", "US-IL", 1)
    assert conn.execute("select role from event_organisations where event_id = 'dep-atlas-aos9001' "
                        "and organisation_id = 'org-dataworks-plus'").fetchone() == ("vendor",)
    assert conn.execute("select id from deployments_fts join deployments on "
                        "deployments.rowid = deployments_fts.rowid where deployments_fts match "
                        "'sheriff'").fetchall() == [("dep-atlas-aos9002",)]
    assert conn.execute("select d.url from citations c join documents d on d.id = c.document_id "
                        "where c.event_id = 'legal-example-ban-2019'").fetchall() == [
        ("https://example.org/ban",)]
    claim = conn.execute("select evidence_count, supported, reason from claims").fetchone()
    assert claim == (1, "partly", "1 row dated on or before the letter, 0 later; 1 cities with a ban; "
                                  "the letter's figure needs 3.")
    indexes = {row[1] for row in conn.execute("select * from sqlite_master where type = 'index'")}
    assert "idx_deployments_country" in indexes and "idx_legal_actions_kind" in indexes


def test_failed_build_leaves_the_last_database(tmp_path, inputs):
    items, curated = inputs
    db_path = tmp_path / "evidence.db"
    build(db_path, items, curated, built_at=BUILT_AT)
    before = db_path.read_bytes()
    bad = write_curated(tmp_path / "bad", rows=[dict(CURATED_ROW, kind="decree")])
    named = r"legal_actions.yml row 1 \(legal-example-ban-2019\): kind='decree'"
    with pytest.raises(CuratedError, match=named):
        build(db_path, items, bad, built_at=BUILT_AT)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("evidence")) == ["evidence.db"]


def test_the_files_of_a_killed_build_are_removed_by_the_next(tmp_path, inputs, caplog):
    items, curated = inputs
    db_path = tmp_path / "evidence.db"
    ended = subprocess.Popen(["true"])
    ended.wait()
    running = subprocess.Popen(["sleep", "60"])
    try:
        killed = [tmp_path / f"evidence.db.{ended.pid}.{suffix}" for suffix in ("tmp", "work")]
        building = tmp_path / f"evidence.db.{running.pid}.tmp"  # another build, still at work
        for path in (*killed, building):
            path.write_bytes(b"Example half-written file")
        with caplog.at_level("INFO"):
            build(db_path, items, curated, built_at=BUILT_AT)
        assert [p for p in killed if p.exists()] == [] and building.exists()
        assert f"removed {killed[0]}, left by a build that was killed" in caplog.text
    finally:
        running.kill()


@pytest.mark.parametrize("change, message", [
    ({"sources": []}, "sources=[]: is required"),
    ({"sources": [{"url": "https://example.org"}]}, "each source needs a url and a publisher"),
    ({"date": "someday"}, "could not be normalised"),
    ({"jurisdiction": None}, "jurisdiction=None: is required"),
    ({"colour": "red"}, "colour='red': is not a field of legal_actions"),
    ({"verification": "partly"}, "caveat=None"),
])
def test_bad_curated_rows_are_named(tmp_path, change, message):
    directory = write_curated(tmp_path / "curated", rows=[{**CURATED_ROW, **change}])
    with pytest.raises(CuratedError, match="legal_actions.yml row 1") as error:
        load_curated(directory)
    assert message in str(error.value)


def test_duplicate_curated_ids_are_refused(tmp_path):
    directory = write_curated(tmp_path / "curated", rows=[CURATED_ROW, CURATED_ROW])
    with pytest.raises(CuratedError, match="is used twice"):
        load_curated(directory)


def test_an_id_in_two_snapshots_or_a_snapshot_out_of_order_stops_the_build(tmp_path):
    items = tmp_path / "items"
    shutil.copytree(DATA / "items", items)
    lines = (items / "atlas.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (items / "copy.jsonl").write_text(lines[3], encoding="utf-8")
    with pytest.raises(DuplicateIds, match=f"id {json.loads(lines[3])['id']} is used by more than one"):
        build(tmp_path / "evidence.db", items, DATA / "curated", built_at=BUILT_AT)
    (items / "copy.jsonl").unlink()
    (items / "atlas.jsonl").write_text("".join([lines[1], lines[0], *lines[2:]]), encoding="utf-8")
    with pytest.raises(UnsortedSnapshot, match=r"atlas\.jsonl is not sorted by id"):
        build(tmp_path / "evidence.db", items, DATA / "curated", built_at=BUILT_AT)
    assert not (tmp_path / "evidence.db").exists()


def test_the_repository_data_builds(tmp_path):
    """The real curated files and snapshots build, every claim evaluates, every row has a source."""
    shutil.copytree(DATA / "items", tmp_path / "items")
    counts = build(tmp_path / "evidence.db", tmp_path / "items", DATA / "curated", built_at=BUILT_AT)
    assert counts["legal_actions"] > 0 and counts["claims"] > 0
    conn = sqlite3.connect(tmp_path / "evidence.db")
    uncited = "select id from evidence where id not in (select event_id from citations)"
    assert conn.execute(uncited).fetchall() == []
    for quote, ids in conn.execute("select quote, evidence_ids from claims"):
        assert all(conn.execute("select 1 from evidence where id = ?", (i,)).fetchone()
                   for i in json.loads(ids)), quote
    merged = conn.execute("select count(*) from id_aliases where reason like 'same event as %'").fetchone()[0]
    assert merged > 0
    # rows of one event were merged, then the full-text indexes made: each agrees with its table
    for table in ("deployments", "wrongful_arrests", "legal_actions", "declarations", "documents"):
        conn.execute(f"insert into [{table}_fts]([{table}_fts], rank) values ('integrity-check', 1)")


def test_make_build_entry_point(tmp_path, inputs):
    items, curated = inputs
    done = subprocess.run([sys.executable, "-m", "pipelines.build", "--db", str(tmp_path / "x.db"),
                           "--items", str(items)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "built" in done.stderr and "deployments" in done.stderr


def test_foreign_keys_that_point_nowhere_are_found():
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    db["documents"].insert({"id": "doc-example-1", "url": "https://example.org/1"})
    db["citations"].insert_all([{"event_id": f"dep-example-{n}", "document_id": document,
                                 "event_table": "deployments"}
                                for n, document in enumerate(["doc-example-1", "doc-example-gone", None])])
    db["event_organisations"].insert({"event_id": "dep-example-0", "organisation_id": "org-example-gone",
                                      "event_table": "deployments", "role": "operator"})
    assert sorted((table, parent) for table, _, parent in dangling_keys(db.conn)) == [
        ("citations", "documents"), ("event_organisations", "organisations")]
