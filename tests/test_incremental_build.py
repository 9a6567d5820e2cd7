"""An incremental build of a night that changed more than a few records' rows gives the database
a full build gives.

Build N from the repository's text; change the text the way nights and curators do (a summary
edited, a vendor added, a row gone from its source, a new row, a person's merge decision, a
withdrawal, a curated id renamed with an alias); then build N+1 twice, in full and incrementally
from a copy of N and its state (the delta build refuses such a night, and the database is built
whole), and compare every table, view, index and full-text index."""

import json
import logging
import shutil
import sqlite3

import pytest
import yaml
from conftest import REPO

from pipelines.build import build
from pipelines.schema import reusable

DATA = REPO / "data"
FIRST, SECOND = "2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"
SEARCHES = ("police", "recognition", "ban", "arrest", "example", "synthetic")


def edit_snapshot(path, edit):
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    lines = edit(lines)
    path.write_text("".join(json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
                            for r in sorted(lines, key=lambda r: r["id"])), encoding="utf-8")


def night(records):
    """What a night changes in the Atlas snapshot: an edit, a new vendor, a row gone, a new row."""
    records[0]["summary"] = "Synthetic edit: the summary of this row changed overnight."
    records[1]["vendors"] = [*records[1].get("vendors", []), "Example Vendor"]
    gone = records.pop(2)
    new = dict(records[3], id="dep-atlas-aos9999", source_id="AOS9999", title="Example Police Department "
               "uses face recognition (synthetic)", documents=[{**records[3]["documents"][0],
                                                              "title": "Synthetic report"}])
    return [*records, dict(gone, listed=False), new]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    shutil.copytree(DATA / "items", root / "items")
    shutil.copytree(DATA / "curated", root / "curated")
    (root / "runs").mkdir()
    (root / "runs" / "atlas.jsonl").write_text(json.dumps({
        "run": "atlas-20261121T000000Z", "spider": "atlas", "started": "2026-11-21T00:00:00Z",
        "finished": "2026-11-21T00:01:00Z", "status": "ok", "mode": "full", "items": 15}) + "\n")
    common = dict(items_dir=root / "items", curated_dir=root / "curated",
                  published_file=root / "published_ids.txt", aliases_file=root / "aliases.csv",
                  decisions_file=root / "decisions.csv", tombstones_file=root / "tombstones.yml",
                  redactions_file=None)
    (root / "n").mkdir()
    build(root / "n" / "evidence.db", built_at=FIRST, **common)

    edit_snapshot(root / "items" / "atlas.jsonl", night)
    legal = root / "curated" / "legal_actions.yml"
    legal.write_text(legal.read_text(encoding="utf-8").replace(
        "id: legal-it-moratorium-2021\n", "id: legal-it-moratorium-2021-12\n"), encoding="utf-8")
    (root / "aliases.csv").write_text("alias,id,reason,since\nlegal-it-moratorium-2021,"
                                      "legal-it-moratorium-2021-12,the curator added the month,2026-11-30\n")
    (root / "decisions.csv").write_text("left_id,right_id,decision,who,when\n"
                                        "arrest-gb-london-2024,dep-aiid-692,same,A. Reviewer,2026-11-30\n")
    (root / "tombstones.yml").write_text(yaml.safe_dump([{
        "id": "legal-aiid-412", "reason": "test withdrawal: the row is misfiled", "date": "2026-11-30"}]))
    with (root / "runs" / "atlas.jsonl").open("a") as log:
        log.write(json.dumps({"run": "atlas-20261201T000000Z", "spider": "atlas", "started":
                              "2026-12-01T00:00:00Z", "finished": "2026-12-01T00:01:00Z", "status": "ok",
                              "mode": "full", "items": 15}) + "\n")
    (root / "full").mkdir()
    build(root / "full" / "evidence.db", built_at=SECOND, **common)
    (root / "incremental").mkdir()
    for name in ("evidence.db", "evidence.db.state"):
        shutil.copy(root / "n" / name, root / "incremental" / name)
    return root, common


def contents(path) -> dict:
    """Every table's and view's rows (sorted), the schema, and what each full-text index finds."""
    conn = sqlite3.connect(path)
    schema = sorted(conn.execute("select type, name, tbl_name, sql from sqlite_master "
                                 "where name not like 'sqlite_%'"))
    found = {"schema": schema}
    for kind, name, _, _ in schema:
        if kind in ("table", "view") and not name.endswith(("_fts_data", "_fts_idx", "_fts_docsize",
                                                            "_fts_config")):
            rows = conn.execute(f"select * from [{name}]").fetchall()
            found[name] = sorted(rows, key=repr)
    for table in ("deployments", "wrongful_arrests", "legal_actions", "documents"):
        conn.execute(f"insert into [{table}_fts]([{table}_fts]) values ('integrity-check')")
        for term in SEARCHES:
            found[f"{table}?{term}"] = sorted(conn.execute(
                f"select t.* from [{table}_fts] f join [{table}] t on t.rowid = f.rowid "
                f"where [{table}_fts] match ?", (term,)).fetchall(), key=repr)
    conn.rollback()  # the integrity checks are written as inserts: leave no lock behind
    conn.close()
    return found


def test_the_incremental_build_equals_the_full_build(builds, caplog):
    root, common = builds
    target = root / "incremental" / "evidence.db"
    assert reusable(target)
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=SECOND, incremental=True, **common)
    assert (f"delta build on {target} refused: an input other than the snapshots changed (the build's code, "
            "curated files, ledgers or the registry); the database is built whole instead") in caplog.text
    full, incremental = contents(root / "full" / "evidence.db"), contents(target)
    assert full.keys() == incremental.keys()
    for name in full:
        assert incremental[name] == full[name], name
    assert len(full["deployments"]) > 20 and len(full["runs"]) == 2
    assert any(row[0] == "dep-atlas-aos9999" for row in full["deployments"])


def test_a_database_of_another_shape_is_built_whole(builds, tmp_path, caplog):
    root, common = builds
    target = tmp_path / "evidence.db"
    for name in ("evidence.db", "evidence.db.state"):  # the same text as the full build's
        shutil.copy(root / "full" / name, tmp_path / name)
    with sqlite3.connect(target) as conn:
        conn.execute("create index idx_stale on deployments (title)")
    assert not reusable(target)
    with caplog.at_level(logging.INFO, logger="pipelines.build"):
        build(target, built_at=SECOND, incremental=True, **common)
    assert (f"delta build on {target} refused: the database has other tables or indexes than this build "
            "makes; the database is built whole instead") in caplog.text
    assert contents(target) == contents(root / "full" / "evidence.db")
