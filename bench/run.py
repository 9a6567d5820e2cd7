"""`make bench`: the pipeline and the site at scale, each figure beside its baseline, as ratios.

    python -m bench.run --scale 100000 [--compare-with CHECKOUT]     (make bench SCALE=100000)

Inputs are generated under bench/work/<scale>/ (git ignores it) from the real distributions
(bench/profile.py): an Atlas-format CSV of `scale` face recognition rows, the same CSV with 1% of
its rows edited for the next night, and an AIID snapshot's incidents.csv and duplicates.csv with a
tenth of `scale` incidents. Each crawl writes its snapshot, run log, WARC files and document list
into its night's folder there, so nothing reaches data/. Every measured step runs in its own
process, so its peak memory is its own:

1. spider: the atlas spider with the evidence pipelines through the Scrapy engine, against the
   same spider with a no-op pipeline (the engine's limit) and a csv.DictReader loop (parsing);
2. the first night: the atlas and aiid spiders over their captures, then the full build, against
   bare executemany of the same rows plus the full-text indexes (the storage limit);
3. the whole night offline, timed end to end: the next night's crawls (the atlas spider over the
   edited CSV, the aiid spider over its capture, each with last night's snapshot in place), then
   the full build;
4. with --compare-with, the first night's items built by another checkout's code as well
   (bench.steps build --code), against this checkout's build: what a change to the build cost
   (its copy of the items has each listed record's last_seen on its line, as older builds read);
5. site: bench/site.py on the first night's database (a server that fails is reported, after
   the figures above);
6. peak memory of every step: all its processes together (sampled) or its largest process
   (kernel), whichever is more.

Results go to bench/results.json, and a table to stdout and bench/results.md.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from scrapy.utils.project import get_project_settings

from bench import site
from bench.generate import add_last_seen, change_rows, write_aiid_capture, write_atlas_csv
from bench.profile import load_profile

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
FIRST_NIGHT, SECOND_NIGHT = "2026-01-01", "2026-01-02"
CHANGED_SHARE = 0.01
SAMPLE_S = 0.2
MEMORY_LIMIT = int(os.environ.get("BENCH_MEMORY_LIMIT_GB", "18")) << 30
NIGHT_TARGET_S, NIGHT_TARGET_SCALE = 600, 1_000_000


def _descendants(pid: int) -> list[int]:
    found, waiting = [], [pid]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        try:
            waiting += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            pass
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory(threading.Thread):
    """The largest memory a process and its own processes held together, sampled every SAMPLE_S:
    the sum of their proportional set sizes (shared pages counted once)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in _descendants(self.pid)))


def step(command: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run one measured step in its own process: wall seconds, peak memory (the largest process's, by
    the kernel, and all its processes' together, sampled), its JSON output. What earlier steps and
    the bench itself wrote is on disk first: a step does not pay for writing back another's files."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    os.sync()
    started = time.perf_counter()
    out = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=out, preexec_fn=limit, text=True)
    memory = TreeMemory(process.pid)
    memory.start()
    stdout = process.stdout.read()
    memory.done.set()
    memory.join()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if log:
        out.close()
    result = {"wall_s": round(seconds, 2),
              "peak_mb": round(max(usage.ru_maxrss, memory.peak_kib) / 1024),
              "largest_process_peak_mb": round(usage.ru_maxrss / 1024)}
    if os.waitstatus_to_exitcode(status) != 0:
        result["failed"] = f"exit {os.waitstatus_to_exitcode(status)}" + (f", see {log}" if log else "")
        return result
    if stdout.strip():
        result.update(json.loads(stdout))
    return result


def crawl(spider: str, capture: Path, night: Path, run_date: str, work: Path, noop: bool = False) -> dict:
    """One crawl through the engine over a capture, writing into the night's folder; seconds from
    engine start to stop (snapshot written), and whether the run's snapshot was committed."""
    name = f"{night.name}-{spider}"
    clock = work / f"clock-{name}.json"
    extensions = {**get_project_settings().getdict("EXTENSIONS"), "bench.probe.Clock": 0}
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"start_url={capture.as_uri()}",
               "-s", "LOG_LEVEL=INFO", "-s", f"EXTENSIONS={json.dumps(extensions)}",
               "-s", f"BENCH_CLOCK_FILE={clock}"]
    if noop:
        command += ["-s", 'ITEM_PIPELINES={"bench.probe.NoopPipeline": 300}']
    env = {"FRT_ITEMS_DIR": str(night / "items"), "FRT_RUNS_DIR": str(night / "runs"),
           "FRT_RUN_DATE": run_date, "FRT_HTTPCACHE": "0", "FRT_ARCHIVE_DIR": str(night / "archive"),
           "FRT_DOCUMENTS_FILE": str(night / "documents.jsonl")}
    log = work / f"crawl-{name}.log"
    result = step(command, env, log=log)
    if "failed" in result:
        return result
    result.update(json.loads(clock.read_text()))
    result["items_per_s"] = round(result["items"] / result["seconds"])
    if not noop:
        run = json.loads((night / "runs" / f"{spider}.jsonl").read_text().splitlines()[-1])
        result["snapshot"] = run["snapshot"]
        if run["snapshot"] != "replaced":
            result["failed"] = f"the run's snapshot was {run['snapshot']} ({run['status']}), see {log}"
    return result


def build(night: Path, work: Path, code: Path | None = None) -> dict:
    """The full build of a night's items into the night's evidence.db, by this checkout's code or
    by that of the checkout at `code`."""
    command = [sys.executable, "-m", "bench.steps", "build", str(night / "evidence.db"), str(night / "items")]
    return step(command + (["--code", str(code)] if code else []), log=work / f"build-{night.name}.log")


def whole_night(night: Path, atlas_csv: Path, aiid_csv: Path, work: Path) -> dict:
    """Every spider over its capture, then the full build, as a night runs them, one after another;
    the seconds from the first crawl's start to the build's end."""
    os.sync()
    started = time.perf_counter()
    steps = {"atlas": crawl("atlas", atlas_csv, night, SECOND_NIGHT, work),
             "aiid": crawl("aiid", aiid_csv, night, SECOND_NIGHT, work)}
    steps["build"] = build(night, work)
    failed = [f"{name}: {s['failed']}" for name, s in steps.items() if "failed" in s]
    return {**steps, "seconds": round(time.perf_counter() - started, 2),
            "peak_mb": max(s["peak_mb"] for s in steps.values()), **({"failed": failed} if failed else {})}


def search_terms(profile) -> list[str]:
    """Words of the summaries from the most frequent to the rare: ranks 1, 2, 4, 8, ..."""
    words = [w for w in profile.summary_words.values if len(w) > 3 and w.isalpha()]
    return [words[rank] for rank in (2 ** n - 1 for n in range(20)) if rank < len(words)]


def run(scale: int, site_budget_s: float, work: Path, compare_with: Path | None = None) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    profile = load_profile()
    results = {"scale": scale, "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "sqlite": sqlite3.sqlite_version, "system": platform.platform()},
               "profile": profile.summary()}
    atlas_csv, edited_csv = work / "atlas.csv", work / "atlas-next-night.csv"
    write_atlas_csv(atlas_csv, scale, profile)
    results["edited_rows"] = change_rows(atlas_csv, edited_csv, CHANGED_SHARE)
    aiid_csv = write_aiid_capture(work / "aiid", max(1, scale // 10), profile)
    results["csv_mb"] = {"atlas": round(atlas_csv.stat().st_size / 1e6, 1),
                         "aiid": round(aiid_csv.stat().st_size / 1e6, 1)}

    first, second = work / "first-night", work / "next-night"
    spider = {"csv_loop": step([sys.executable, "-m", "bench.steps", "csvloop", str(atlas_csv)]),
              "noop": crawl("atlas", atlas_csv, work / "noop", FIRST_NIGHT, work, noop=True),
              "pipelines": crawl("atlas", atlas_csv, first, FIRST_NIGHT, work),
              "aiid": crawl("aiid", aiid_csv, first, FIRST_NIGHT, work)}
    spider["csv_loop"]["items_per_s"] = round(spider["csv_loop"]["items"] / spider["csv_loop"]["seconds"])
    results["spider"] = spider
    results["build"] = {"full": build(first, work)}
    if "failed" in results["build"]["full"]:
        return results
    first_db = first / "evidence.db"
    results["build"]["storage_baseline"] = step(
        [sys.executable, "-m", "bench.steps", "baseline", str(first_db), str(work / "baseline.db")])
    results["build"]["db_mb"] = round(first_db.stat().st_size / 1e6, 1)
    if compare_with:
        compared = work / "compared"
        shutil.copytree(first, compared, ignore=shutil.ignore_patterns("evidence.db*"))
        add_last_seen(compared / "items", FIRST_NIGHT)
        results["build"]["compared"] = build(compared, work, code=compare_with)
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("evidence.db*"))
    results["night"] = whole_night(second, edited_csv, aiid_csv, work)
    try:
        results["site"] = site.measure(first_db, search_terms(profile), work, budget_s=site_budget_s)
    except RuntimeError as error:  # a server that stopped or never answered: the figures above stand
        results["site"] = {"failed": str(error)}
    results["finished"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return results


def _ratio(a, b, digits: int = 2):
    return round(a / b, digits) if a is not None and b else None


def pipeline_rows(results: dict) -> list[tuple]:
    """(figure, measured, baseline, ratio, target, met) of the crawls, the builds and the night."""
    spider, night = results.get("spider", {}), results.get("night", {})
    crawls = {"first run": spider.get("pipelines", {}), "next night": night.get("atlas", {})}
    noop = spider.get("noop", {}).get("items_per_s")
    out = []
    for label, measured in crawls.items():
        ratio = _ratio(measured.get("items_per_s"), noop)
        out.append((f"spider + pipelines, {label} (items/s) vs no-op spider", measured.get("items_per_s"),
                    noop, ratio, ">= 0.5", ratio is not None and ratio >= 0.5))
    loop = spider.get("csv_loop", {}).get("items_per_s")
    out.append(("no-op spider (items/s) vs csv.DictReader loop", noop, loop, _ratio(noop, loop), "", None))
    out.append((f"aiid spider + pipelines, first run (items/s); next night "
                f"{night.get('aiid', {}).get('items_per_s')}", spider.get("aiid", {}).get("items_per_s"),
                None, None, "", None))
    build = results.get("build", {})
    full, bare = build.get("full", {}), build.get("storage_baseline", {})
    ratio = _ratio(full.get("seconds"), bare.get("seconds"))
    out.append(("full build (s) vs executemany + FTS rebuild", _round(full.get("seconds")),
                _round(bare.get("seconds")), ratio, "<= 4", ratio is not None and ratio <= 4))
    out.append(("full build peak memory, its processes together (MB)", full.get("peak_mb"), None, None,
                "< 1024", (full.get("peak_mb") or 1e9) < 1024))
    if compared := build.get("compared"):
        same = compared.get("counts") == full.get("counts")
        out.append((f"full build (s), this checkout ({full.get('commit')}) vs {compared.get('code')} "
                    f"({compared.get('commit')}); the same row counts: {same}", _round(full.get("seconds")),
                    _round(compared.get("seconds")), _ratio(full.get("seconds"), compared.get("seconds")),
                    "", None))
        out.append((f"full build peak memory (MB), this checkout vs {compared.get('code')}",
                    full.get("peak_mb"), compared.get("peak_mb"),
                    _ratio(full.get("peak_mb"), compared.get("peak_mb")), "", None))
    if night:
        parts = ", ".join(f"{name} {night[name].get('wall_s')} s" for name in ("atlas", "aiid", "build"))
        judged = results["scale"] >= NIGHT_TARGET_SCALE
        out.append((f"the whole night offline, end to end (s): {parts}; peak {night['peak_mb']} MB",
                    night["seconds"], None, None, f"<= {NIGHT_TARGET_S} s at 1M",
                    "failed" not in night and night["seconds"] <= NIGHT_TARGET_S if judged else None))
    for label, measured in (("pipelines, first run", crawls["first run"]),
                            ("pipelines, next night", crawls["next night"]), ("noop", spider.get("noop", {})),
                            ("aiid, first run", spider.get("aiid", {}))):
        out.append((f"spider peak memory, {label}, its processes together (MB)", measured.get("peak_mb"),
                    None, None, "flat", None))
    return out


def site_rows(results: dict) -> list[tuple]:
    """(figure, measured, baseline, ratio, target, met) of the site's pages."""
    if failed := results.get("site", {}).get("failed"):
        return [(f"site: {failed}", None, None, None, "", False)]
    out = []
    pages = results.get("site", {}).get("pages", {})
    for page, p95_target in (("row", 30), ("table", 150), ("search", 100), ("canned", None)):
        measured = pages.get(page, {})
        ours, stock, direct = (measured.get(k, {}) for k in ("project", "stock", "direct"))
        speedup = _ratio(stock.get("p50_ms"), ours.get("p50_ms"), 1)
        if page == "row":
            gap = _round((ours.get("p50_ms") or 0) - (direct.get("p50_ms") or 0))
            out.append((f"{page} page p50 (ms) vs direct SQL (gap {gap} ms)", ours.get("p50_ms"),
                        direct.get("p50_ms"), None, "gap <= 10 ms",
                        gap is not None and gap <= 10 if ours else None))
        else:
            targeted = page in ("table", "search")
            out.append((f"{page} page p50 (ms) vs stock Datasette", ours.get("p50_ms"), stock.get("p50_ms"),
                        speedup, ">= 2x faster" if targeted else "",
                        speedup is not None and speedup >= 2 if targeted and ours else None))
        first = ours.get("first_p50_ms")
        out.append((f"{page} page p95 (ms) vs stock Datasette; first request p50 {first}",
                    ours.get("p95_ms"), stock.get("p95_ms"),
                    _ratio(stock.get("p95_ms"), ours.get("p95_ms"), 1),
                    f"<= {p95_target} ms" if p95_target else "",
                    (ours.get("p95_ms") or 1e9) <= p95_target if p95_target and ours else None))
        rps, stock_rps = (measured.get(k, {}).get("rps_16", {}).get("rps") for k in ("project", "stock"))
        out.append((f"{page} page requests/s at 16 connections vs stock", rps, stock_rps,
                    _ratio(rps, stock_rps, 1), "", None))
    return out


def rows(results: dict) -> list[tuple]:
    """(figure, measured, baseline, ratio, target, met) for the table."""
    return pipeline_rows(results) + site_rows(results)


def _round(value):
    return round(value, 2) if isinstance(value, float) else value


def table(results: dict) -> str:
    lines = [f"Scale {results['scale']:,} items, {results['machine']['cpus']} CPUs, "
             f"run {results['started']}", "",
             "| figure | measured | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for figure, measured, baseline, ratio, target, met in rows(results):
        shown = {True: "yes", False: "**no**", None: ""}[met]
        cells = (figure, _fmt(measured), _fmt(baseline), _fmt(ratio), target, shown)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--site-budget", type=float, default=60, help="seconds per page and server")
    parser.add_argument("--compare-with", type=Path,
                        help="another checkout of the project: its build of the same items as well")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args()
    compare_with = args.compare_with.resolve() if args.compare_with else None
    results = run(args.scale, args.site_budget, WORK / str(args.scale), compare_with)
    results["table"] = rows(results)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    text = table(results)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
