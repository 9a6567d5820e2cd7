"""The operations tables: every spider run, and what each run changed.

The build calls `load_operations` with the data folder (the parent of the items folder): it
reads the run log <data>/runs/ (pipelines/runlog.py) into `runs` and `changes`. Dicts and lists
(HTTP status counts, refused items by reason, the diff of a changed row) are stored as JSON text.
"""

import json
from pathlib import Path

import sqlite_utils

from pipelines.runlog import read_changes, read_runs
from pipelines.schema import COLUMNS


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else value


def run_rows(runs_dir: Path) -> list[dict]:
    return [{column: _json(run.get(column)) for column in COLUMNS["runs"]} for run in read_runs(runs_dir)]


def change_rows(runs_dir: Path) -> list[dict]:
    return sorted(({"run": c["run"], "record_id": c["id"], "event_table": c.get("table"),
                    "change": c["change"], "diff": _json(c.get("diff"))} for c in read_changes(runs_dir)),
                  key=lambda c: (c["run"], c["record_id"]))


def load_operations(db: sqlite_utils.Database, data_dir: Path) -> None:
    runs_dir = Path(data_dir) / "runs"
    db["runs"].insert_all(run_rows(runs_dir), columns=None)
    db["changes"].insert_all(change_rows(runs_dir), columns=None)
