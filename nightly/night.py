"""One night: every source spider, the cited documents, the build, the checks, the summary.

Each spider runs in its own `scrapy crawl` process, so that one that crashes cannot take the
others down; it judges and logs its own run (scrapers/runs.py). A spider that dies before
logging a run gets a failed run written for it, and a spider left out is logged as skipped, so
the run log has one line per spider per night. The build runs whatever happened (a failed
source keeps its last good snapshot), in full from the committed text, as `make build` does;
then the checks against the database it replaced; the database built, which is the one served,
is kept as a release with its SHA-256 (publish/releases.py); then the summary. After the build, the
night's WARC files are packaged into one WACZ without the records that hold a value the build
redacted (its Redactor, kept in memory); when the build stopped before reading its redactions,
no WACZ is made. The WARC files themselves stay private in the archive folder. The exit status is
1 only when something needs a human: a failed run, a failed build or a failed check.
"""

import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from nightly.checks import Check, published, run_checks
from nightly.plan import Step
from nightly.summary import needs_a_human, render, subject
from pipelines.archive.warc import package_wacz
from pipelines.build import build
from pipelines.ledgers.redact import redactors_made
from pipelines.snapshot.runlog import append_run, read_runs
from publish.releases import release

REPO = Path(__file__).resolve().parent.parent
CRAWL_TIMEOUT = 3 * 3600
logger = logging.getLogger(__name__)


@dataclass
class Night:
    """Where a night reads and writes; `settings` are passed to every crawl (`-s NAME=VALUE`)."""

    items: Path
    runs: Path
    db: Path
    archive: Path
    cache: Path
    logs: Path
    summary: Path
    settings: dict = field(default_factory=dict)
    run_date: str = field(default_factory=lambda: date.today().isoformat())
    register: bool = False  # the build registers the ids it publishes (data/published_ids.txt)
    releases: Path | None = None  # where a database that passes the checks is kept as a release


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stub(spider: str, status: str, error: str, started: str) -> dict:
    """The run line of a spider that logged none itself (skipped, or died before its close)."""
    return {"run": f"{spider}-{started.replace('-', '').replace(':', '')}", "spider": spider,
            "started": started, "finished": _now(), "duration_s": None, "status": status,
            "mode": None, "workers": 0, "finish_reason": None, "items": 0, "new": 0, "changed": 0,
            "unchanged": 0, "restored": 0, "gone": 0, "dropped": 0, "dropped_reasons": {},
            "problems": {}, "requests": 0, "conditional": 0, "http_status": {}, "snapshot": "kept",
            "error": error, "archives": []}


def crawl_command(step: Step, settings: dict) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", step.spider]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    for name, value in step.arguments.items():
        command += ["-a", f"{name}={value}"]
    return command


def crawl_env(night: Night) -> dict:
    """The environment of a crawl: where its snapshot, run log, WARC files and cache go."""
    return dict(os.environ, FRT_ITEMS_DIR=str(night.items), FRT_RUNS_DIR=str(night.runs),
                FRT_ARCHIVE_DIR=str(night.archive), FRT_HTTPCACHE_DIR=str(night.cache),
                FRT_RUN_DATE=night.run_date)


def crawl(step: Step, night: Night) -> dict:
    """Run one spider in its own process; return the run it logged."""
    started, logged = _now(), len(read_runs(night.runs, step.spider))
    night.logs.mkdir(parents=True, exist_ok=True)
    log = night.logs / f"{step.spider}.log"
    logger.info("%s: %s", step.spider, step.why or "crawl")
    with log.open("w", encoding="utf-8") as handle:
        try:
            code = subprocess.run(crawl_command(step, night.settings), cwd=REPO, env=crawl_env(night),
                                  stdout=handle, stderr=subprocess.STDOUT, timeout=CRAWL_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    runs = read_runs(night.runs, step.spider)
    if len(runs) > logged:
        return runs[-1]
    run = _stub(step.spider, "failed", f"the crawl ended ({code}) before logging a run; see {log}", started)
    append_run(night.runs, run)
    return run


def skip(spider: str, reason: str, night: Night) -> dict:
    run = _stub(spider, "skipped", reason, _now())
    append_run(night.runs, run)
    return run


def package(runs: list[dict], night: Night, redactors: list) -> str:
    """Package the night's WARC files with the build's redactions; say what became of them."""
    warcs = [night.archive / name for run in runs for name in run.get("archives", [])
             if (night.archive / name).exists()]
    if not warcs:
        return ""
    if not redactors:
        return "; no archive packaged: the build stopped before reading its redactions"
    wacz = package_wacz(warcs, night.archive / f"frt-evidence-{night.run_date}.wacz",
                        title=f"FRT Evidence, sources fetched on the night of {night.run_date}",
                        description="Every answer the spiders received: request, response or revisit, "
                                    "except the records withheld (see withheld).",
                        withhold=redactors[-1].holds_value)
    return f"; archive {wacz.name}"


def run_night(steps: list[Step], night: Night, skipped: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the night; return (exit status, summary text)."""
    runs = [crawl(step, night) for step in steps]
    runs += [skip(spider, reason, night) for spider, reason in (skipped or {}).items()]
    before = published(night.db)
    with redactors_made() as redactors:
        try:
            counts = build(night.db, items_dir=night.items, register=night.register)
            build_ok, build_text = True, ", ".join(f"{t} {n}" for t, n in counts.items())
        except Exception as error:  # a build that fails is reported, not raised: the summary must go out
            logger.exception("the build failed")
            build_ok, build_text = False, f"{type(error).__name__}: {error}"
    packaged = package(runs, night, redactors)
    checks = run_checks(night.db, before) if build_ok else [Check("database", False, "not built")]
    if build_ok and night.releases:  # the database built is the one served: it must be fetchable
        kept = release(night.db, night.releases)
        build_text += f"; release {kept['file']} (SHA-256 {kept['sha256']})"
    text = render(night.run_date, runs, build_text + packaged, build_ok, checks)
    night.summary.parent.mkdir(parents=True, exist_ok=True)
    night.summary.write_text(text, encoding="utf-8")
    night.summary.with_suffix(".subject").write_text(subject(night.run_date, runs, build_ok, checks) + "\n")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(text)
    return (1 if needs_a_human(runs, build_ok, checks) else 0), text
