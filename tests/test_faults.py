"""The fault matrix: every source under every fault (nightly/faults.py, one process), and its parts.

For every cell: the run ends ok or failed, a failed one says why; only what asking again can mend
is retried (429 and 503, and network failures), a Retry-After is honoured or, when unreasonable,
given up on at once; a failed run leaves the snapshot byte for byte; the source crawled beside the
faulty one is ok with its snapshot untouched. README's "Faults" table is the one the run printed.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from conftest import REPO
from scrapy import Request
from scrapy.settings import Settings

from nightly.faults import FAULTS, SOURCES, table
from scrapers.retry import BackoffRetry, retry_after

ONE = {"404", "500", "429, Retry-After a day (date)", "HTML error page, 200", "empty, 200",
       "cp1252 labelled utf-8", "no charset", "renamed column", "missing column", "50 MiB"}
RETRIED = {"503": 4, "timeout": 4, "truncated body": 4, "429 once, Retry-After 1 s": 2}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """The whole matrix, run once: its cells by (source, fault), and the table it printed."""
    out = tmp_path_factory.mktemp("faults") / "cells.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRT_")}
    done = subprocess.run([sys.executable, "-m", "nightly.faults", "--json", str(out)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    cells = json.loads(out.read_text(encoding="utf-8"))
    return {(c["source"], c["fault"]): c for c in cells}, done.stdout


def test_every_source_meets_every_fault_and_ends_ok_or_failed_saying_why(matrix):
    cells, _ = matrix
    assert set(cells) == {(source, fault) for source in SOURCES for fault in FAULTS}
    for cell in cells.values():
        assert cell["status"] in ("ok", "failed"), cell
        assert (cell["status"] == "failed") == bool(cell["reason"]), cell
    ok = {key for key, cell in cells.items() if cell["status"] == "ok"}
    # JSON is read as the bytes it is: the GraphQL pages (ASCII) read the same in any charset
    assert ok == {(s, f) for s in SOURCES for f in ("429 once, Retry-After 1 s", "no charset")} | {
        ("aiid graphql", "cp1252 labelled utf-8")}


def test_only_what_asking_again_can_mend_is_retried(matrix):
    cells, _ = matrix
    for cell in cells.values():
        if cell["fault"] in ONE:
            assert cell["requests"] == 1, cell
        elif cell["fault"] in RETRIED:
            assert cell["requests"] == RETRIED[cell["fault"]], cell
    # A GET reset on a kept-alive connection is sent again once by Twisted itself, then 3 retries.
    assert [cells[(s, "connection reset")]["requests"] for s in SOURCES] == [5, 5, 4]


def test_retry_after_is_honoured_or_given_up_on_when_unreasonable(matrix):
    cells, _ = matrix
    for source in SOURCES:
        assert cells[(source, "429 once, Retry-After 1 s")]["seconds"] >= 1.0
        reason = cells[(source, "429, Retry-After a day (date)")]["reason"]
        assert "with Retry-After 86" in reason and "more than the 600 s a run waits: not retried" in reason


def test_a_failed_run_keeps_the_snapshot_byte_for_byte(matrix):
    cells, _ = matrix
    for cell in cells.values():
        if cell["status"] == "failed":
            assert cell["snapshot"] == "kept" and cell["snapshot_unchanged"], cell


def test_no_fault_changes_a_snapshot(matrix):
    cells, _ = matrix
    assert [key for key, cell in cells.items() if not cell["snapshot_unchanged"]] == []
    for source in ("atlas", "aiid"):
        assert "is not UTF-8 text" in cells[(source, "cp1252 labelled utf-8")]["reason"]
    assert "lacks ['date']: the API's schema changed" in cells[("aiid graphql", "missing column")]["reason"]


def test_the_source_beside_the_faulty_one_is_unaffected(matrix):
    cells, _ = matrix
    for cell in cells.values():
        assert cell["other"]["status"] == "ok" and cell["other"]["snapshot_unchanged"], cell


def test_reasons_name_what_went_wrong(matrix):
    cells, _ = matrix
    assert "larger than download max size (33554432)" in cells[("atlas", "50 MiB")]["reason"]
    assert "DownloadTimeoutError on " in cells[("aiid", "timeout")]["reason"]
    assert "after 3 retries" in cells[("aiid", "timeout")]["reason"]
    assert "closed before the body reached its Content-Length" in cells[("atlas", "truncated body")]["reason"]
    assert cells[("aiid graphql", "503")]["reason"].startswith("HTTP 503 from ")
    assert "lacks columns ['Agency']" in cells[("atlas", "renamed column")]["reason"]
    assert "Event/documents" in cells[("atlas", "missing column")]["reason"]
    assert "Event/date (expected 0.95, got 0.0" in cells[("aiid", "missing column")]["reason"]
    assert "is not CSV but markup" in cells[("aiid", "HTML error page, 200")]["reason"]


def test_readme_shows_the_matrix_the_run_printed(matrix):
    cells, printed = matrix
    assert printed == table(list(cells.values()))
    assert printed in (REPO / "README.md").read_text(encoding="utf-8")


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 12, 8, 12, 0, 0, tzinfo=UTC)
    assert retry_after(b"120", now) == 120
    assert retry_after(b"Tue, 08 Dec 2026 12:01:30 GMT", now) == 90
    assert retry_after(b"Tue, 08 Dec 2026 11:00:00 GMT", now) == 0  # a date gone by: at once
    assert retry_after(b"soon", now) is None and retry_after(None, now) is None


def test_backoff_doubles_up_to_its_cap():
    settings = Settings()
    settings.setmodule("scrapers.settings")
    middleware = BackoffRetry(settings)
    waits = [middleware.backoff(Request("http://example.org/", meta={"retry_times": n}))
             for n in (0, 1, 2, 5)]
    assert waits == [5.0, 10.0, 20.0, 60.0]
    assert middleware.retry_http_codes == {408, 429, 502, 503, 504}
