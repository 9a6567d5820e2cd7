"""The operations tables: every spider run, what each run changed, and the captured documents.

A full build writes the run log <data>/runs/ (pipelines/runlog.py; <data> is the parent of the
items folder) into `runs` and `changes` a batch at a time (`run_log_batches`, by its rows'
process, pipelines/rows.py), then `load_captures` the captures of the cited documents,
<data>/documents.jsonl (pipelines/captures.py), into `captures`; each captured document's row in
`documents` gets the sha256 of its first capture, when it was taken, its Wayback Machine copy
when the source named no archived copy, and its live status. Dicts and lists (HTTP status
counts, refused items by reason, the diff of a changed row) are JSON text.

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
from pipelines.tables import insert_rows, inserting


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


def _head_digest(path: Path, size: int) -> str:
    """Digest of the first `size` bytes of a file, read a piece at a time."""
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        while size > 0 and (piece := handle.read(min(size, 1 << 20))):
            digest.update(piece)
            size -= len(piece)
    return digest.hexdigest()


def changes_files(runs_dir: Path) -> dict[str, list]:
    """Each run log changes file → [its size, the digest of its text]."""
    found = {}
    for path in sorted(Path(runs_dir).glob(f"*{CHANGES_SUFFIX}")):
        size = path.stat().st_size
        found[path.name] = [size, _head_digest(path, size)]
    return found


def _appended(runs_dir: Path, noted: dict[str, list]):
    """The changes appended to each changes file since it was as `noted`, one at a time; None if a
    file changed otherwise."""
    paths = sorted(Path(runs_dir).glob(f"*{CHANGES_SUFFIX}"))
    if not set(noted) <= {path.name for path in paths}:
        return None
    starts = []
    for path in paths:
        size, digest = noted.get(path.name, (0, None))
        if path.stat().st_size < size or (size and _head_digest(path, size) != digest):
            return None
        starts.append((path, size))
    return (json.loads(line) for path, size in starts for line in _lines_from(path, size) if line.strip())


def _lines_from(path: Path, offset: int):
    with path.open("rb") as handle:
        handle.seek(offset)
        yield from handle


def run_log_batches(conn, runs_dir: Path):
    """The runs and their changes inserted a batch at a time, yielding after each (they need no other
    table: a full build's rows' process writes them while no rows are waiting, pipelines/rows.py)."""
    yield from inserting(conn, "runs", run_rows(runs_dir))
    yield from inserting(conn, "changes", change_rows(read_changes(runs_dir)))


def refresh_operations(db: sqlite_utils.Database, data_dir: Path, noted: dict[str, list]) -> None:
    """Bring the operations tables of a copy of the last database to the run log and captures."""
    runs_dir = Path(data_dir) / "runs"
    db.execute("delete from runs")
    db["runs"].insert_all(run_rows(runs_dir), columns=None)
    changes = _appended(runs_dir, noted)
    if changes is None:
        db.execute("delete from changes")
        changes = read_changes(runs_dir)
    insert_rows(db.conn, "changes", change_rows(changes))
    db.execute("delete from captures")
    load_captures(db, data_dir)


def load_captures(db: sqlite_utils.Database, data_dir: Path) -> None:
    state = read_state(Path(data_dir) / "documents.jsonl")
    documents = {i for i in state if db.execute("select 1 from documents where id = ?", [i]).fetchone()}
    db["captures"].insert_all(capture_rows(state, documents), columns=None)
    mark_documents(db, {k: v for k, v in state.items() if k in documents})
