"""pipelines/writer.py: batches run in order on their thread, an error reaches the caller, and a
failed build leaves no writer thread behind."""

import shutil
import sqlite3
import threading

import pytest
from conftest import REPO

from pipelines.build import build
from pipelines.curated import CuratedError
from pipelines.stream import UnsortedSnapshot
from pipelines.writer import Writer

BUILT_AT = "2026-01-01T00:00:00Z"


def test_batches_run_in_order_and_an_error_is_raised_by_wait(tmp_path):
    conn = sqlite3.connect(tmp_path / "w.db", check_same_thread=False)
    conn.execute("create table t (n integer primary key)")
    writer = Writer(conn)
    writer.executemany("insert into t values (?)", [(1,), (2,)])
    writer.executemany("insert into t values (?)", [(3,)])
    writer.wait()
    assert conn.execute("select n from t order by rowid").fetchall() == [(1,), (2,), (3,)]
    writer.executemany("insert into missing values (?)", [(4,)])
    with pytest.raises(sqlite3.OperationalError, match="no such table: missing"):
        writer.wait()
    writer.close()
    writer.close()
    assert not writer.thread.is_alive()


def unsorted_snapshot(items, curated):
    lines = (items / "atlas.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (items / "atlas.jsonl").write_text("".join([*lines[:-2], lines[-1], lines[-2]]), encoding="utf-8")
    return UnsortedSnapshot


def bad_curated_row(items, curated):
    path = curated / "legal_actions.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("date: ", "date: someday #", 1), encoding="utf-8")
    return CuratedError


@pytest.mark.parametrize("breakage", [unsorted_snapshot, bad_curated_row])
def test_a_failed_build_leaves_no_writer_thread_and_no_file(tmp_path, breakage):
    shutil.copytree(REPO / "data" / "items", tmp_path / "items")
    shutil.copytree(REPO / "data" / "curated", tmp_path / "curated")
    error = breakage(tmp_path / "items", tmp_path / "curated")
    before = set(threading.enumerate())
    with pytest.raises(error):
        build(tmp_path / "evidence.db", tmp_path / "items", tmp_path / "curated", built_at=BUILT_AT)
    assert [t for t in set(threading.enumerate()) - before if t.name == "sqlite-writer"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "items"]
