"""The operations tables: every spider run, what each run changed, and the captured documents.

`insert_run_log` writes the run log (<data>/runs/, pipelines/snapshot/runlog.py) into `runs` and
`changes`; `insert_captures` writes the captures of the cited documents (<data>/documents.jsonl,
pipelines/archive/captures.py) into `captures`, and gives each captured document's row in `documents` the
sha256 of its first capture, when it was taken, its Wayback Machine copy when the source named no
archived copy, and its live status. Dicts and lists (HTTP status counts, refused items by reason,
the diff of a changed row) are JSON text.
"""

import json
from pathlib import Path

import sqlite_utils

from pipelines.archive.captures import read_state
from pipelines.snapshot.runlog import read_changes, read_runs
from pipelines.write.schema import COLUMNS


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else value


def insert_run_log(db: sqlite_utils.Database, runs_dir: Path) -> None:
    """Every run of the run log, and every change each run recorded."""
    db["runs"].insert_all({c: _json(run.get(c)) for c in COLUMNS["runs"]} for run in read_runs(runs_dir))
    db["changes"].insert_all({"run": c["run"], "record_id": c["id"], "event_table": c.get("table"),
                              "change": c["change"], "diff": _json(c.get("diff"))}
                             for c in read_changes(runs_dir))


def insert_captures(db: sqlite_utils.Database, documents_file: Path) -> None:
    """The captures of the documents the database holds, and their marks on those documents: the
    first capture's digest and time, the live status, an archived copy and, for a document its
    citations give no title, the title the page itself carried when first captured."""
    state = read_state(documents_file)
    held = [doc_id for doc_id in sorted(state)
            if db.execute("select 1 from documents where id = ?", (doc_id,)).fetchone()]
    fields = COLUMNS["captures"][1:]
    db["captures"].insert_all({"document_id": doc_id, **{c: capture.get(c) for c in fields}}
                              for doc_id in held for capture in state[doc_id].get("captures", []))
    for doc_id in held:
        entry = state[doc_id]
        first = (entry.get("captures") or [{}])[0]
        db.execute("update documents set content_sha256 = ?, captured = ?, live_status = ?, "
                   "live_checked = ?, archive_url = coalesce(archive_url, ?), title = coalesce(title, ?) "
                   "where id = ?",
                   (first.get("content_sha256"), first.get("fetched"), entry.get("live_status"),
                    entry.get("live_checked"), entry.get("wayback_url"), entry.get("page_title"), doc_id))
