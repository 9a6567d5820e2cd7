"""Releases (publish/releases.py and the /-/releases page): each database kept once, with a
SHA-256 that `sha256sum` would give, listed newest first and downloadable from the site."""

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, SERVE_ARGUMENTS

from publish.cite import content_hash
from publish.releases import built_at, file_name, read_manifest, release


def _rebuilt(source, target, when: str):
    """A copy of a built database that records another build time."""
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as conn:
        conn.execute("update build set value = ? where key = 'built_at'", (when,))
    return target


def test_a_release_is_the_database_file_with_its_sha256(demo_db, tmp_path):
    releases = tmp_path / "releases"
    entry = release(demo_db, releases)
    kept = releases / entry["file"]
    assert entry["file"] == file_name(built_at(demo_db))
    assert kept.read_bytes() == demo_db.read_bytes()
    assert entry["sha256"] == hashlib.sha256(demo_db.read_bytes()).hexdigest()
    assert entry["bytes"] == demo_db.stat().st_size
    assert read_manifest(releases) == [entry]
    assert (releases / "SHA256SUMS").read_text() == f"{entry['sha256']}  {entry['file']}\n"


def test_releasing_a_build_again_changes_nothing_and_a_new_build_comes_first(demo_db, tmp_path):
    releases = tmp_path / "releases"
    first = release(demo_db, releases)
    manifest = (releases / "releases.json").read_bytes()
    assert release(demo_db, releases) == first
    assert (releases / "releases.json").read_bytes() == manifest
    later = release(_rebuilt(demo_db, tmp_path / "later.db", "2099-01-02T03:04:05Z"), releases)
    assert later["file"] == "evidence-20990102T030405Z.db"
    assert later["sha256"] != first["sha256"]
    assert [e["built_at"] for e in read_manifest(releases)] == ["2099-01-02T03:04:05Z", first["built_at"]]
    assert sorted(p.name for p in releases.iterdir()) == sorted(
        ["SHA256SUMS", "releases.json", first["file"], later["file"]])


def test_other_bytes_under_a_kept_release_time_are_refused(demo_db, tmp_path):
    releases = tmp_path / "releases"
    kept = release(demo_db, releases)
    changed = _rebuilt(demo_db, tmp_path / "changed.db", kept["built_at"])
    with sqlite3.connect(changed) as conn:
        conn.execute("insert into build (key, value) values ('note', 'other bytes')")
    with pytest.raises(ValueError, match="already kept with other bytes"):
        release(changed, releases)
    assert read_manifest(releases) == [kept]


def test_a_file_the_build_did_not_make_is_refused(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    with pytest.raises(ValueError, match="not a built evidence database"):
        release(other, tmp_path / "releases")
    assert not (tmp_path / "releases" / "releases.json").exists()


def test_the_releases_page_lists_each_release_and_serves_its_file(demo_db, tmp_path, monkeypatch):
    from datasette.app import Datasette

    releases = tmp_path / "releases"
    served = release(demo_db, releases)
    older = release(_rebuilt(demo_db, tmp_path / "older.db", "2001-01-01T00:00:00Z"), releases)
    monkeypatch.setenv("FRT_RELEASES_DIR", str(releases))
    arguments = {**SERVE_ARGUMENTS,
                 "metadata": yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")),
                 "plugins_dir": str(REPO / "plugins"), "template_dir": str(REPO / "templates"),
                 "static_mounts": [("assets", str(REPO / "static")), ("releases", str(releases))]}
    datasette = Datasette(immutables=[str(demo_db)], **arguments)

    async def fetch():
        return [await datasette.client.get(path) for path in
                ("/-/releases", "/-/releases.json", f"/releases/{older['file']}", "/releases/SHA256SUMS")]

    page, listed, download, sums = asyncio.run(fetch())
    assert page.status_code == 200
    assert "<title>Releases of the database: FRT Evidence</title>" in page.text
    for entry in (served, older):
        assert f'href="/releases/{entry["file"]}"' in page.text
        assert entry["sha256"] in page.text
    assert page.text.index(served["sha256"]) < page.text.index(older["sha256"])
    assert page.text.count("(served now)") == 1
    assert json.loads(listed.text) == [served, older]
    assert hashlib.sha256(download.content).hexdigest() == older["sha256"]
    assert sums.text.splitlines() == [f"{served['sha256']}  {served['file']}",
                                      f"{older['sha256']}  {older['file']}"]


def test_readmes_recipe_for_a_cited_row_gives_the_rows_content_hash(demo_db, tmp_path):
    """README's script that hashes a row of a downloaded release agrees with the Cite block's hash."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    script = re.search(r"python3 - evidence-\S+ legal_actions legal-it-moratorium-2021 <<'EOF'\n(.*?)\nEOF\n",
                       readme, re.S)[1]
    row_id = "legal-it-moratorium-2021"
    done = subprocess.run([sys.executable, "-", str(demo_db), "legal_actions", row_id], input=script,
                          capture_output=True, text=True, check=True)
    with sqlite3.connect(demo_db) as conn:
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("select * from legal_actions where id = ?", (row_id,)).fetchone())
    assert done.stdout.strip() == content_hash(row)
