"""The operations tables: every spider run, what each run changed, and the captured documents.

The build calls `load_operations` with the data folder (the parent of the items folder): it
reads the run log <data>/runs/ (pipelines/runlog.py) into `runs` and `changes`, and the captures
of the cited documents, <data>/documents.jsonl (pipelines/captures.py), into `captures`; each
captured document's row in `documents` gets the sha256 of its first capture, when it was taken,
its Wayback Machine copy when the source named no archived copy, and its live status. Dicts and
lists (HTTP status counts, refused items by reason, the diff of a changed row) are JSON text.

`refresh_operations` brings a copy of the last database to the same tables: the runs and captures
are small and written again, but a run log's changes file only grows, so only what was appended
since the last build (`noted`: each file's size and digest then) is added; a file that changed
otherwise has all the changes loaded again.
"""

import hashlib
import json
from pathlib import Path

import sqlite_utils

from pipelines.captures import read_state
from pipelines.runlog import CHANGES_SUFFIX, read_changes, read_runs
from pipelines.schema import COLUMNS
from pipelines.tables import insert_rows


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else value


def run_rows(runs_dir: Path) -> list[dict]:
    return [{column: _json(run.get(column)) for column in COLUMNS["runs"]} for run in read_runs(runs_dir)]


def change_rows(changes):
    return ({"run": c["run"], "record_id": c["id"], "event_table": c.get("table"), "change": c["change"],
             "diff": _json(c.get("diff"))} for c in changes)


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


def changes_files(runs_dir: Path) -> dict[str, list]:
    """Each run log changes file → [its size, the digest of its text]."""
    found = {}
    for path in sorted(Path(runs_dir).glob(f"*{CHANGES_SUFFIX}")):
        text = path.read_bytes()
        found[path.name] = [len(text), hashlib.sha1(text, usedforsecurity=False).hexdigest()]
    return found


def _appended(runs_dir: Path, noted: dict[str, list]) -> list[bytes] | None:
    """The text appended to each changes file since it was as `noted`; None if one changed otherwise."""
    paths = sorted(Path(runs_dir).glob(f"*{CHANGES_SUFFIX}"))
    if not set(noted) <= {path.name for path in paths}:
        return None
    tails = []
    for path in paths:
        size, digest = noted.get(path.name, (0, hashlib.sha1(b"").hexdigest()))
        text = path.read_bytes()
        if hashlib.sha1(text[:size], usedforsecurity=False).hexdigest() != digest:
            return None
        tails.append(text[size:])
    return tails


def load_operations(db: sqlite_utils.Database, data_dir: Path) -> None:
    runs_dir = Path(data_dir) / "runs"
    db["runs"].insert_all(run_rows(runs_dir), columns=None)
    with db.conn:
        insert_rows(db.conn, "changes", change_rows(read_changes(runs_dir)))
    _load_captures(db, data_dir)


def refresh_operations(db: sqlite_utils.Database, data_dir: Path, noted: dict[str, list]) -> None:
    """Bring the operations tables of a copy of the last database to the run log and captures."""
    runs_dir = Path(data_dir) / "runs"
    db.execute("delete from runs")
    db["runs"].insert_all(run_rows(runs_dir), columns=None)
    tails = _appended(runs_dir, noted)
    if tails is None:
        db.execute("delete from changes")
        changes = read_changes(runs_dir)
    else:
        changes = (json.loads(line) for tail in tails for line in tail.splitlines() if line.strip())
    insert_rows(db.conn, "changes", change_rows(changes))
    db.execute("delete from captures")
    _load_captures(db, data_dir)


def _load_captures(db: sqlite_utils.Database, data_dir: Path) -> None:
    state = read_state(Path(data_dir) / "documents.jsonl")
    documents = {i for i in state if db.execute("select 1 from documents where id = ?", [i]).fetchone()}
    db["captures"].insert_all(capture_rows(state, documents), columns=None)
    mark_documents(db, {k: v for k, v in state.items() if k in documents})
