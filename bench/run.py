"""`make bench`: the pipeline and the site at scale, each figure beside its baseline, as ratios.

    python -m bench.run --scale 100000        (make bench SCALE=100000)

Inputs are generated under bench/work/<scale>/ (git ignores it) from the real distributions
(bench/profile.py): an Atlas-format CSV of `scale` face recognition rows, the same CSV with 1% of
its rows edited for the next night, and AIID-shaped incidents with their news reports (a tenth
of `scale`). Every measured step runs in its own process, so its peak memory is its own:

1. spider: the atlas spider with the evidence pipelines through the Scrapy engine, against the
   same spider with a no-op pipeline (the engine's limit) and a csv.DictReader loop (parsing);
   first run, then the next night's run over the edited CSV with the snapshot in place;
2. build: the full build against bare executemany of the same rows plus a full-text rebuild;
3. nightly: the incremental build against a full build of the same text, for a night in which 1%
   of the records changed (the first night after a full build: from a copy of the first database
   and the state its build left beside it), the next night in which another 1% changed (from
   where that build left the database and the spare one build back, pipelines/spare.py), and the
   next night's real spider run after the first build (whose every listed line carries the new
   last_seen); each incremental database is checked equal to the full one;
4. site: bench/site.py on the first full build;
5. peak memory of every step: all its processes together (sampled) or its largest process (kernel),
   whichever is more.

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
from bench.generate import change_rows, write_atlas_csv, write_news_snapshot
from bench.profile import load_profile

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work"
FIRST_NIGHT, SECOND_NIGHT = "2026-01-01", "2026-01-02"
CHANGED_SHARE = 0.01
SAMPLE_S = 0.2
MEMORY_LIMIT = int(os.environ.get("BENCH_MEMORY_LIMIT_GB", "18")) << 30


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
    """The largest memory a process and its own processes (a build's or a crawl's second process)
    held together, sampled every SAMPLE_S: the sum of their proportional set sizes (shared pages
    counted once)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in _descendants(self.pid)))


def step(command: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run one measured step in its own process: wall seconds, peak memory (the largest process's, by
    the kernel, and all its processes' together, sampled), its JSON output. What earlier steps and
    the bench itself wrote is on disk first: a step does not pay for writing back another's files
    (at 1M items, an incremental build run just after the bench copied the last database took
    19.3 s, 14.2 s once that copy was on disk)."""
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


def crawl(csv_path: Path, items: Path, run_date: str, work: Path, noop: bool = False) -> dict:
    """One atlas crawl through the engine; seconds from engine start to stop (snapshot written)."""
    clock = work / f"clock-{items.name}.json"
    extensions = {**get_project_settings().getdict("EXTENSIONS"), "bench.probe.Clock": 0}
    command = [sys.executable, "-m", "scrapy", "crawl", "atlas", "-a", f"start_url={csv_path.as_uri()}",
               "-s", "LOG_LEVEL=INFO", "-s", f"EXTENSIONS={json.dumps(extensions)}",
               "-s", f"BENCH_CLOCK_FILE={clock}"]
    if noop:
        command += ["-s", 'ITEM_PIPELINES={"bench.probe.NoopPipeline": 300}']
    env = {"FRT_ITEMS_DIR": str(items), "FRT_RUNS_DIR": str(work / "runs"), "FRT_RUN_DATE": run_date,
           "FRT_HTTPCACHE": "0", "FRT_ARCHIVE_DIR": str(work / "archive"),
           "FRT_DOCUMENTS_FILE": str(work / "documents.jsonl")}
    result = step(command, env, log=work / f"crawl-{items.name}.log")
    if "failed" not in result:
        result.update(json.loads(clock.read_text()))
        result["items_per_s"] = round(result["items"] / result["seconds"])
    return result


def build(db: Path, items: Path, work: Path, incremental: bool = False) -> dict:
    command = [sys.executable, "-m", "bench.steps", "build", str(db), str(items)]
    return step(command + (["--incremental"] if incremental else []),
                log=work / f"build-{db.parent.name}.log")


def edit_records(source: Path, target: Path, share: float, night: int = 0) -> int:
    """A snapshot with `share` of its records' summaries edited, everything else as it was; each
    `night` edits other records."""
    edited, step_every = 0, round(1 / share)
    with source.open(encoding="utf-8") as inp, target.open("w", encoding="utf-8") as out:
        for number, line in enumerate(inp):
            if number % step_every == night * 37 % step_every:
                record = json.loads(line)
                record["summary"] = f"{record.get('summary') or ''} Edited overnight ({number})."
                line = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
                edited += 1
            out.write(line)
    return edited


def same_database(left: Path, right: Path) -> bool:
    """The same rows in every table and view (full-text shadow tables aside) and the same schema."""
    a, b = sqlite3.connect(left), sqlite3.connect(right)
    schema = "select type, name, sql from sqlite_master where name not like 'sqlite_%' order by name"
    if a.execute(schema).fetchall() != b.execute(schema).fetchall():
        return False
    for kind, name, _ in a.execute(schema).fetchall():
        if kind not in ("table", "view") or "_fts_" in name or name.endswith("_fts"):
            continue
        columns = [row[1] for row in a.execute(f"pragma table_info([{name}])")]
        order = ", ".join(f"[{c}]" for c in columns)
        query = f"select * from [{name}] order by {order}"
        if any(x != y for x, y in zip(a.execute(query), b.execute(query), strict=True)):
            return False
    return True


def nightly(name: str, items: Path, work: Path, previous_db: Path | None = None,
            previous_night: str | None = None) -> dict:
    """A full and an incremental build of one night's text, and whether they agree. The incremental
    build starts from a copy of previous_db and the state its build left, as on the first night
    after a full build, or where the previous night's incremental build left its database and the
    spare one build back (pipelines/spare.py), as on every other night."""
    full_db = work / f"{name}-full" / "evidence.db"
    incremental_db = work / f"{name}-incremental" / "evidence.db"
    full_db.parent.mkdir(parents=True)
    if previous_night:
        (work / f"{previous_night}-incremental").rename(incremental_db.parent)
    else:
        incremental_db.parent.mkdir()
        shutil.copyfile(previous_db, incremental_db)
        state = previous_db.with_name(previous_db.name + ".state")
        shutil.copyfile(state, incremental_db.with_name(state.name))
    os.sync()  # the copies are the bench's, made ahead: a night finds last night's files on disk
    full = build(full_db, items, work)
    incremental = build(incremental_db, items, work, incremental=True)
    result = {"full": full, "incremental": incremental}
    if "failed" not in full and "failed" not in incremental:
        result["ratio"] = round(incremental["seconds"] / full["seconds"], 3)
        result["same_database"] = same_database(full_db, incremental_db)
    return result


def search_terms(profile) -> list[str]:
    """Words of the summaries from the most frequent to the rare: ranks 1, 2, 4, 8, ..."""
    words = [w for w in profile.summary_words.values if len(w) > 3 and w.isalpha()]
    return [words[rank] for rank in (2 ** n - 1 for n in range(20)) if rank < len(words)]


def run(scale: int, site_budget_s: float) -> dict:
    work = WORK / str(scale)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    profile = load_profile()
    results = {"scale": scale, "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "sqlite": sqlite3.sqlite_version, "system": platform.platform()},
               "profile": profile.summary()}
    csv_path, night_csv = work / "atlas.csv", work / "atlas-next-night.csv"
    write_atlas_csv(csv_path, scale, profile)
    results["edited_rows"] = change_rows(csv_path, night_csv, CHANGED_SHARE)
    results["csv_mb"] = round(csv_path.stat().st_size / 1e6, 1)

    first, second = work / "items", work / "items-next-night"
    spider = {"csv_loop": step([sys.executable, "-m", "bench.steps", "csvloop", str(csv_path)]),
              "noop": crawl(csv_path, work / "items-noop", FIRST_NIGHT, work, noop=True),
              "pipelines": crawl(csv_path, first, FIRST_NIGHT, work)}
    spider["csv_loop"]["items_per_s"] = round(spider["csv_loop"]["items"] / spider["csv_loop"]["seconds"])
    write_news_snapshot(first, scale // 10, profile, FIRST_NIGHT)
    shutil.copytree(first, second)
    spider["pipelines_next_night"] = crawl(night_csv, second, SECOND_NIGHT, work)
    results["spider"] = spider

    one_percent = work / "items-one-percent"
    one_percent.mkdir()
    shutil.copy(first / "aiid.jsonl", one_percent / "aiid.jsonl")
    results["changed_records"] = edit_records(first / "atlas.jsonl", one_percent / "atlas.jsonl",
                                              CHANGED_SHARE)
    again = work / "items-one-percent-again"
    again.mkdir()
    shutil.copy(first / "aiid.jsonl", again / "aiid.jsonl")
    results["changed_again"] = edit_records(one_percent / "atlas.jsonl", again / "atlas.jsonl",
                                            CHANGED_SHARE, night=1)
    first_db = work / "first" / "evidence.db"
    first_db.parent.mkdir()
    results["build"] = {"full": build(first_db, first, work)}
    if "failed" in results["build"]["full"]:
        return results
    results["build"]["storage_baseline"] = step(
        [sys.executable, "-m", "bench.steps", "baseline", str(first_db), str(work / "baseline.db")])
    results["build"]["db_mb"] = round(first_db.stat().st_size / 1e6, 1)
    results["nightly"] = {
        "one_percent_records": nightly("one-percent", one_percent, work, previous_db=first_db),
        "one_percent_again": nightly("one-percent-again", again, work, previous_night="one-percent"),
        "next_night_crawl": nightly("next-night", second, work, previous_db=first_db)}
    results["site"] = site.measure(first_db, search_terms(profile), work, budget_s=site_budget_s)
    results["finished"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return results


def _ratio(a, b, digits: int = 2):
    return round(a / b, digits) if a is not None and b else None


def rows(results: dict) -> list[tuple]:
    """(figure, measured, baseline, ratio, target, met) for the table."""
    out = []
    spider = results.get("spider", {})
    noop = spider.get("noop", {}).get("items_per_s")
    for name in ("pipelines", "pipelines_next_night"):
        rate = spider.get(name, {}).get("items_per_s")
        ratio = _ratio(rate, noop)
        label = "spider + pipelines, first run" if name == "pipelines" else "spider + pipelines, next night"
        out.append((f"{label} (items/s) vs no-op spider", rate, noop, ratio, ">= 0.5",
                    ratio is not None and ratio >= 0.5))
    loop = spider.get("csv_loop", {}).get("items_per_s")
    out.append(("no-op spider (items/s) vs csv.DictReader loop", noop, loop, _ratio(noop, loop), "", None))
    build = results.get("build", {})
    full, bare = build.get("full", {}).get("seconds"), build.get("storage_baseline", {}).get("seconds")
    ratio = _ratio(full, bare)
    out.append(("full build (s) vs executemany + FTS rebuild", _round(full), _round(bare), ratio,
                "<= 3, <= 90 s at 1M", ratio is not None and ratio <= 3 and full <= 90))
    for name, label in (("one_percent_records", "1% of records changed, first night after a full build "
                                                "(a copy of the last database)"),
                        ("one_percent_again", "1% changed again the next night (into the spare, 2% "
                                              "changed since its build)"),
                        ("next_night_crawl", "next night's crawl (all last_seen new)")):
        night = results.get("nightly", {}).get(name, {})
        incremental = night.get("incremental", {}).get("seconds")
        full_night = night.get("full", {}).get("seconds")
        ratio = _ratio(incremental, full_night, 3)
        targeted = name != "next_night_crawl"
        met = ratio is not None and ratio <= 0.1 and night.get("same_database")
        out.append((f"incremental build, {label} (s) vs full build; same database: "
                    f"{night.get('same_database')}", _round(incremental), _round(full_night), ratio,
                    "<= 0.1" if targeted else "", met if targeted else None))
    build_peak = build.get("full", {}).get("peak_mb")
    out.append(("build peak memory, its processes together (MB)", build_peak, None, None, "< 1024",
                (build_peak or 1e9) < 1024))
    for name in ("pipelines", "pipelines_next_night", "noop"):
        out.append((f"spider peak memory, {name}, its processes together (MB)",
                    spider.get(name, {}).get("peak_mb"), None, None, "flat", None))
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
            out.append((f"{page} page p50 (ms) vs stock Datasette", ours.get("p50_ms"), stock.get("p50_ms"),
                        speedup, ">= 2x faster" if page in ("table", "search") else "",
                        speedup is not None and speedup >= 2 if page in ("table", "search") else None))
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
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args()
    results = run(args.scale, args.site_budget)
    results["table"] = rows(results)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    text = table(results)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
