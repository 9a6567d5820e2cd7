"""The operations tables: every spider run, what each run changed, and the captured documents.

The build calls `load_operations` with the data folder (the parent of the items folder): it
reads the run log <data>/runs/ (pipelines/runlog.py) into `runs` and `changes`, and the captures
of the cited documents, <data>/documents.jsonl (pipelines/captures.py), into `captures`; each
captured document's row in `documents` gets the sha256 of its first capture, when it was taken,
its Wayback Machine copy when the source named no archived copy, and its live status. Dicts and
lists (HTTP status counts, refused items by reason, the diff of a changed row) are JSON text.
"""

import json
from pathlib import Path

import sqlite_utils

from pipelines.captures import read_state
from pipelines.runlog import read_changes, read_runs
from pipelines.schema import COLUMNS
from pipelines.tables import insert_rows


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else value


def run_rows(runs_dir: Path) -> list[dict]:
    return [{column: _json(run.get(column)) for column in COLUMNS["runs"]} for run in read_runs(runs_dir)]


def change_rows(runs_dir: Path):
    return ({"run": c["run"], "record_id": c["id"], "event_table": c.get("table"), "change": c["change"],
             "diff": _json(c.get("diff"))} for c in read_changes(runs_dir))


def capture_rows(state: dict[str, dict], documents: set[str]) -> list[dict]:
    return [{"document_id": doc_id, **{c: capture.get(c) for c in COLUMNS["captures"][1:]}}
            for doc_id, entry in sorted(state.items()) if doc_id in documents
            for capture in entry.get("captures", [])]


def mark_documents(db: sqlite_utils.Database, state: dict[str, dict]) -> None:
    for doc_id, entry in sorted(state.items()):
        first = (entry.get("captures") or [{}])[0]
        db.execute("update documents set content_sha256 = ?, captured = ?, live_status = ?, "
                   "live_checked = ?, archive_url = coalesce(archive_url, ?) where id = ?",
                   [first.get("content_sha256"), first.get("fetched"), entry.get("live_status"),
                    entry.get("live_checked"), entry.get("wayback_url"), doc_id])


def load_operations(db: sqlite_utils.Database, data_dir: Path) -> None:
    runs_dir = Path(data_dir) / "runs"
    db["runs"].insert_all(run_rows(runs_dir), columns=None)
    with db.conn:
        insert_rows(db.conn, "changes", change_rows(runs_dir))
    state = read_state(Path(data_dir) / "documents.jsonl")
    documents = {i for i in state if db.execute("select 1 from documents where id = ?", [i]).fetchone()}
    db["captures"].insert_all(capture_rows(state, documents), columns=None)
    mark_documents(db, {k: v for k, v in state.items() if k in documents})
