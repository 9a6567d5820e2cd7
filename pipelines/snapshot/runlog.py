"""The run log: what each spider run did, and what it changed, as committed text.

`data/runs/<spider>.jsonl` holds one line per run (run date, start, end, status, counts, HTTP
statuses, finish reason, error summary, whether its snapshot was committed), appended in the
order the runs happened; `<spider>.changes.jsonl` holds one line per record a committed run
added, changed (with the fields that differ), no longer found listed, or found listed again. The
build loads both into the `runs` and `changes` tables. A run's status is one of STATUSES: ok,
partial (committed, but some items were refused), failed (the snapshot was kept) or skipped (not
run). The records a snapshot lists were last listed on the `run_date` of the spider's latest
committed run (`last_good_run(runs, mode=None)`).
"""

import json
from pathlib import Path

import orjson

from pipelines.snapshot.store import dumps

STATUSES = ("ok", "partial", "failed", "skipped")
COMMITTED = ("ok", "partial")
CHANGES_SUFFIX = ".changes.jsonl"


def runs_path(runs_dir: Path, spider: str) -> Path:
    return Path(runs_dir) / f"{spider}.jsonl"


def changes_path(runs_dir: Path, spider: str) -> Path:
    return Path(runs_dir) / f"{spider}{CHANGES_SUFFIX}"


def _read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_runs(runs_dir: Path, spider: str | None = None) -> list[dict]:
    """The runs of one spider, or of every spider, oldest first."""
    if spider is not None:
        return _read_lines(runs_path(runs_dir, spider))
    paths = sorted(p for p in Path(runs_dir).glob("*.jsonl") if not p.name.endswith(CHANGES_SUFFIX))
    return sorted((run for path in paths for run in _read_lines(path)), key=lambda r: r["started"])


def read_changes(runs_dir: Path):
    """Every change every run recorded, one at a time (a night of a million rows has as many)."""
    for path in sorted(Path(runs_dir).glob(f"*{CHANGES_SUFFIX}")):
        with path.open("rb") as handle:
            yield from (orjson.loads(line) for line in handle if line.strip())


def last_good_run(runs: list[dict], mode: str | None = "full") -> dict | None:
    """The latest committed run (of the given mode, if any)."""
    good = [r for r in runs if r["status"] in COMMITTED and (mode is None or r.get("mode") == mode)]
    return good[-1] if good else None


def _append(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(dumps(line) + "\n")


def append_run(runs_dir: Path, run: dict) -> None:
    if run["status"] not in STATUSES:
        raise ValueError(f"run status must be one of {', '.join(STATUSES)}, not {run['status']!r}")
    _append(runs_path(runs_dir, run["spider"]), [run])


def append_changes(runs_dir: Path, run: dict, changes: list[dict]) -> None:
    _append(changes_path(runs_dir, run["spider"]), [{"run": run["run"], **c} for c in changes])
