"""Finishing a spider run: the monitors judge it, its snapshot is committed or kept, it is logged.

`finish_run` ends a single-process crawl (called at spider close) and a distributed one (called
by the coordinator after the last worker, over the workers' merged stats and records) alike:

1. the run's records, added to its Snapshot as they came, are settled in source order (see
   scrapers/order.py and pipelines/snapshot/store.py);
2. the figures the monitors need are added to the stats: items kept, items seen, the item count
   of the last good full run (data/runs/<spider>.jsonl, or the snapshot's listed rows before the
   first logged run), and the share of items with each field the spider's coverage rules name;
3. the spidermon suite of scrapers/monitors.py runs; any failure fails the run;
4. the snapshot is committed if the run did not fail, else kept (nothing known is lost);
5. the run, and what it changed, are appended to data/runs/ (pipelines/snapshot/runlog.py). The run's
   line says whether its snapshot was committed (`snapshot`: "replaced" or "kept") and its
   `run_date`, the date its records were listed on.

A spider that cannot run at all (no API key for its source) calls `skip_run`: the run is logged as
`skipped` with its reason, is not judged, and keeps the snapshot.
"""

import logging
from datetime import UTC, date, datetime
from pathlib import Path

from scrapy.exceptions import CloseSpider
from spidermon.runners import MonitorRunner

from pipelines.snapshot.runlog import append_changes, append_run, last_good_run, read_runs
from pipelines.snapshot.store import Snapshot
from scrapers.monitors import RunMonitors, counts_of

logger = logging.getLogger(__name__)
COVERAGE_PREFIX = "spidermon_field_coverage/Event/"
SKIPPED = "frt/skipped_message"


def runs_dir(settings) -> Path:
    """FRT_RUNS_DIR, or `runs` beside the items folder (data/items → data/runs)."""
    return Path(settings.get("FRT_RUNS_DIR") or Path(settings.get("FRT_ITEMS_DIR")).parent / "runs")


def run_id(crawler) -> str:
    """`<spider>-<UTC start>`, fixed once per run; a distributed run's coordinator names it. A run
    that starts in the same second as one already logged gets `-2` (`-3`, ...) after it: the id
    names the run's WARC file and its changes."""
    stats = crawler.stats
    if not stats.get_value("frt/run_id"):
        start = stats.get_value("start_time") or datetime.now(UTC)
        stats.set_value("frt/run_id", crawler.settings.get("FRT_RUN_ID")
                        or _unused(f"{crawler.spidercls.name}-{start:%Y%m%dT%H%M%SZ}", crawler))
    return stats.get_value("frt/run_id")


def _unused(name: str, crawler) -> str:
    logged = {run["run"] for run in read_runs(runs_dir(crawler.settings), crawler.spidercls.name)}
    candidate, number = name, 1
    while candidate in logged:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def run_date(settings) -> str:
    """The date a run lists its records on: FRT_RUN_DATE, else today."""
    return settings.get("FRT_RUN_DATE") or date.today().isoformat()


def snapshot_arguments(crawler, mode: str) -> dict:
    """What opens the run's Snapshot on the source's last one: when that one's records were last
    listed (the source's last committed run), and the fields whose coverage the spider's rules
    judge."""
    settings, name = crawler.settings, crawler.spidercls.name
    rules = settings.getdict("SPIDERMON_FIELD_COVERAGE_RULES")
    committed = last_good_run(read_runs(runs_dir(settings), name), mode=None)
    return {"path": Path(settings.get("FRT_ITEMS_DIR")) / f"{name}.jsonl",
            "run_date": run_date(settings), "incremental": mode == "incremental",
            "coverage": tuple(k.removeprefix("Event/") for k in rules if k.startswith("Event/")),
            "last_listed": committed.get("run_date") if committed else None}


def judge(crawler, stats: dict) -> list[str]:
    """Run the monitor suite; return the failure messages (none: the run is good)."""
    result = MonitorRunner().run(RunMonitors(crawler=crawler), stats=stats, crawler=crawler,
                                 spider=None, stats_history=[], job=None)
    failures = []
    for item in result.monitors_failed_results:
        message = " ".join((item.reason or (item.error or "").strip().splitlines()[-1]).split())
        logger.error("monitor %s failed: %s", item.monitor.monitor_name, message)
        failures.append(message)
    return failures


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _seconds(started, finished) -> float | None:
    """Seconds between two stats times (datetimes, or ISO text from a distributed run's workers)."""
    if not (started and finished):
        return None
    times = [t if isinstance(t, datetime) else datetime.fromisoformat(t) for t in (started, finished)]
    return round((times[1] - times[0]).total_seconds(), 1)


def run_line(stats: dict, name: str, day: str, status: str, counts: dict, error: str | None,
             workers: int = 1) -> dict:
    """A run's line in the run log, from its stats, its run date and what it counted."""
    started, finished = _iso(stats.get("start_time")), _iso(stats.get("finish_time"))
    dropped = counts_of(stats, "frt/dropped/")
    return {
        "run": stats.get("frt/run_id") or f"{name}-{started}", "spider": name, "run_date": day,
        "started": started, "finished": finished,
        "duration_s": _seconds(stats.get("start_time"), stats.get("finish_time")),
        "status": status, "mode": stats.get("frt/run/mode", "full"), "workers": workers,
        "finish_reason": stats.get("finish_reason"),
        **{k: counts.get(k, 0) for k in ("items", "new", "changed", "unchanged", "restored", "gone")},
        "dropped": sum(dropped.values()), "dropped_reasons": dropped,
        "problems": counts_of(stats, "frt/problems/"),
        "requests": stats.get("frt/http/requests", 0), "conditional": stats.get("frt/http/conditional", 0),
        "http_status": counts_of(stats, "frt/http/status/"), "snapshot": "kept", "error": error,
        "archives": sorted(counts_of(stats, "frt/archive/")),
    }


def skip_run(spider, message: str):
    """Close a spider that cannot run (its source's API key is not set): the run is logged as
    skipped, with `message` as its reason, instead of failed."""
    spider.crawler.stats.set_value(SKIPPED, message)
    spider.logger.warning(message)
    raise CloseSpider("skipped")


def finish_run(crawler, stats: dict, snapshot: Snapshot, workers: int = 1) -> dict:
    """Judge, commit or keep, and log one run, whose records were added to `snapshot`."""
    name = crawler.spidercls.name
    snapshot.settle()
    log_dir = runs_dir(crawler.settings)
    last = last_good_run(read_runs(log_dir, name))
    dropped = counts_of(stats, "frt/dropped/")
    stats.update({"frt/run/items": snapshot.counts["items"],
                  "frt/run/seen": snapshot.added + sum(dropped.values()),
                  "frt/run/reference_items": last["items"] if last else snapshot.listed_before,
                  **{f"{COVERAGE_PREFIX}{field}": share for field, share in snapshot.coverage().items()}})
    skipped = stats.get(SKIPPED)
    failures = [] if skipped else judge(crawler, stats)
    result = snapshot.commit(not (failures or skipped), skipped or "; ".join(failures))
    stats["frt/snapshot_replaced"] = int(result.replaced)
    for key, value in result.counts.items():
        stats[f"frt/run/{key}"] = value
    status = "skipped" if skipped else "failed" if failures else "partial" if dropped else "ok"
    run = run_line(stats, name, snapshot.run_date, status, result.counts,
                   skipped or "; ".join(failures) or None, workers)
    run["snapshot"] = "replaced" if result.replaced else "kept"
    append_run(log_dir, run)
    if result.replaced:
        append_changes(log_dir, run, result.changes)
    (logger.info if result.replaced else logger.error)(
        "%s %s: %s, snapshot %s (%s)", name, run["run"], run["status"], run["snapshot"],
        run["error"] or ", ".join(f"{k} {run[k]}" for k in ("items", "new", "changed", "gone")))
    return run
