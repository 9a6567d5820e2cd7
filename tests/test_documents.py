"""The cited documents: captured once, checked again, marked changed or gone; all over loopback.

A synthetic snapshot cites three pages served by the loopback server (no real URL is fetched:
the curated folder given to the spider is empty). The first run captures them (WARC record,
sha256) and asks the (loopback) Wayback Machine API for copies; before the second, one page's
text changes and another disappears. The build then carries each capture into `documents`.
"""

import hashlib
import json
import sqlite3

import pytest
import sqlite_utils
from conftest import crawl
from warcio.archiveiterator import ArchiveIterator

from nightly.loopback import CaptureServer
from pipelines.archive.captures import apply_check, due, read_state, text_sha256, write_state
from pipelines.build import build
from pipelines.clean.identify import document_id, identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import validate
from pipelines.snapshot.runlog import read_runs
from pipelines.snapshot.store import Snapshot
from pipelines.write.operations import insert_captures
from pipelines.write.schema import create_tables
from scrapers.items import Deployment, DocumentRef
from scrapers.pipelines import item_to_record

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}
PAGE = ("<html><head><title>{0}</title><script>var seen = {1};</script></head><body><h1>{0}</h1>"
        "<p>Synthetic page of Example News about the Example Police Department.</p></body></html>")
WAYBACK = "https://web.archive.org/web/20200101000000/{}"


def write_snapshot(items, urls):
    snapshot = Snapshot(items / "example.jsonl", run_date="2026-01-01")
    documents = [DocumentRef(url=urls["a"], publisher="Example News"),
                 DocumentRef(url=urls["b"], publisher="Example News", archive_url=WAYBACK.format("b")),
                 DocumentRef(url=urls["c"], publisher="Example News")]
    item = Deployment(source="example", source_id="1", title="Face recognition used by Example Police",
                      country="US", documents=documents)
    snapshot.add(identify(normalise(validate(item_to_record(item)))[0]))
    assert snapshot.commit(run_ok=True).replaced


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("documents")
    pages, items, curated = tmp / "pages", tmp / "data" / "items", tmp / "curated"
    pages.mkdir()
    curated.mkdir()
    for name in "abc":
        (pages / f"{name}.html").write_text(PAGE.format(f"Page {name}", 1))
    asked = []

    def wayback(query, body):
        asked.append(query["url"])
        copy = WAYBACK.format(query["url"]).replace("https", "http", 1)  # the API answers http://
        found = {"closest": {"available": True, "status": "200", "url": copy}}
        known = query["url"].endswith("/a.html")
        answer = {"url": query["url"], "archived_snapshots": found if known else {}}
        return 200, "application/json", json.dumps(answer).encode()

    with CaptureServer(pages) as server:
        server.answer("wayback/available", wayback)
        urls = {name: server.url(f"{name}.html") for name in "abc"}
        write_snapshot(items, urls)
        arguments = ("recheck_days=0", f"wayback_api={server.url('wayback/available')}")
        env = {"FRT_CURATED_DIR": str(curated)}
        first = crawl("documents", items, *arguments, settings=FAST, env=env)
        state_after_first = read_state(tmp / "data" / "documents.jsonl")
        # the script changes (markup, not text) on a; b's text changes; c disappears
        (pages / "a.html").write_text(PAGE.format("Page a", 2))
        (pages / "b.html").write_text(PAGE.format("Page b, corrected", 1))
        (pages / "c.html").unlink()
        second = crawl("documents", items, *arguments, settings=FAST, env=env)
        log = server.requests()
    build(tmp / "evidence.db", items_dir=items)
    return {"tmp": tmp, "urls": urls, "pages": pages, "first": first, "second": second, "asked": asked,
            "first_state": state_after_first, "state": read_state(tmp / "data" / "documents.jsonl"),
            "runs": read_runs(items / "runs", "documents"), "log": log}


def test_every_cited_page_is_captured_with_its_digest(checked):
    assert checked["first"][0] == 0, checked["first"][2]
    state, urls = checked["first_state"], checked["urls"]
    for name in "abc":
        entry = state[document_id(urls[name])]
        [capture] = entry["captures"]
        body = PAGE.format(f"Page {name}", 1).encode()
        assert capture["content_sha256"] == hashlib.sha256(body).hexdigest()
        assert capture["http_status"] == 200 and capture["bytes"] == len(body)
        assert entry["live_status"] == "live" and entry["page_title"] == f"Page {name}"
    first = checked["runs"][0]
    assert (first["status"], first["items"], first["new"]) == ("ok", 3, 3)
    # Two nights a second apart or less still have two ids (and two WARC files).
    assert len({run["run"] for run in checked["runs"]}) == len(checked["runs"]) == 2


def test_a_capture_is_a_warc_record(checked):
    entry = checked["first_state"][document_id(checked["urls"]["a"])]
    [capture] = entry["captures"]
    with open(checked["tmp"] / "data" / "items" / "archive" / capture["warc"], "rb") as handle:
        records = {r.rec_headers.get_header("WARC-Record-ID"): r.content_stream().read()
                   for r in ArchiveIterator(handle) if r.rec_type == "response"}
    assert records[capture["record"]] == PAGE.format("Page a", 1).encode()


def test_the_wayback_machine_is_asked_only_where_no_copy_is_known(checked):
    urls, state = checked["urls"], checked["first_state"]
    assert sorted(checked["asked"]) == [urls["a"], urls["c"]]
    assert state[document_id(urls["a"])]["wayback_url"] == WAYBACK.format(urls["a"])
    assert "wayback_url" not in state[document_id(urls["c"])]


def test_the_second_check_marks_changed_and_gone_pages(checked):
    assert checked["second"][0] == 0, checked["second"][2]
    urls, state = checked["urls"], checked["state"]
    a, b, c = (state[document_id(urls[n])] for n in "abc")
    assert a["live_status"] == "live" and len(a["captures"]) == 1  # only the script changed
    assert b["live_status"] == "changed" and len(b["captures"]) == 2
    assert b["captures"][1]["text_sha256"] == text_sha256(
        "Page b, corrected Synthetic page of Example News about the Example Police Department.")
    assert c["live_status"] == "gone" and c["live_detail"] == "HTTP 404" and len(c["captures"]) == 1
    second = checked["runs"][1]
    assert (second["items"], second["new"], second["changed"], second["gone"], second["unchanged"]) == (
        3, 0, 1, 1, 1)
    conditional = [r for r in checked["log"] if r.path.endswith(".html") and r.conditional]
    assert sorted(r.path for r in conditional) == ["/a.html", "/b.html", "/c.html"]


def test_the_build_carries_captures_into_documents(checked):
    urls = checked["urls"]
    with sqlite3.connect(checked["tmp"] / "evidence.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = {r["url"]: r for r in conn.execute(
            "select url, title, content_sha256, captured, archive_url, live_status from documents "
            "where url like 'http://127.0.0.1:%'")}
        captures = dict(conn.execute("select document_id, count(*) from captures group by document_id"))
    a, b, c = (rows[urls[n]] for n in "abc")
    # the page's own title when first captured (b's later title is not the version cited)
    assert (a["title"], b["title"], c["title"]) == ("Page a", "Page b", "Page c")
    assert a["content_sha256"] == hashlib.sha256(PAGE.format("Page a", 1).encode()).hexdigest()
    assert a["archive_url"] == WAYBACK.format(urls["a"]) and a["captured"] and a["live_status"] == "live"
    assert b["archive_url"] == WAYBACK.format("b") and b["live_status"] == "changed"
    assert c["live_status"] == "gone" and c["archive_url"] is None
    assert captures == {document_id(urls["a"]): 1, document_id(urls["b"]): 2, document_id(urls["c"]): 1}


def test_two_captures_in_the_same_second_are_two_rows(tmp_path):
    db = sqlite_utils.Database(tmp_path / "evidence.db")
    create_tables(db)
    db["documents"].insert({"id": "doc-example", "url": "https://example.org/page"})
    same_second = "2026-11-22T02:58:17Z"
    captures = [{"fetched": same_second, "http_status": 200, "content_sha256": body, "text_sha256": body}
                for body in ("1", "2")]
    state = {"doc-example": {"id": "doc-example", "captures": captures, "live_status": "changed"}}
    write_state(tmp_path / "documents.jsonl", state)
    insert_captures(db, tmp_path / "documents.jsonl")
    assert [r["content_sha256"] for r in db["captures"].rows] == ["1", "2"]
    assert db["documents"].get("doc-example")["content_sha256"] == "1"


def test_due_puts_uncaptured_pages_first_then_the_longest_unchecked():
    documents = {f"doc-{n}": {"url": f"https://example.org/{n}", "archive_url": None} for n in "xyzw"}
    state = {"doc-x": {"captures": [{}], "live_checked": "2026-11-01"},
             "doc-y": {"captures": [{}], "live_checked": "2026-11-20"},
             "doc-z": {"captures": [{}], "live_checked": "2026-10-01", "wayback_checked": "2026-10-01"}}
    chosen = due(documents, state, "2026-11-21", limit=3, recheck_days=7)
    assert [d["id"] for d in chosen] == ["doc-w", "doc-z", "doc-x"]
    assert [d["wayback"] for d in chosen] == [True, False, True]


def test_a_server_error_is_not_a_change():
    entry = {"captures": [{"content_sha256": "1", "text_sha256": "t"}], "live_status": "live"}
    assert apply_check(entry, {"http_status": 503}, "2026-11-21") == "error"
    assert entry["live_status"] == "error" and entry["live_detail"] == "HTTP 503"
    assert len(entry["captures"]) == 1
    assert apply_check(entry, {"http_status": 200, "content_sha256": "2", "text_sha256": "t"},
                       "2026-11-22") == "live"
