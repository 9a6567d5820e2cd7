"""The site under load while its database is rebuilt: 64 readers for 60 s, two rebuilds swapped in.

The repository's data is built into a temporary folder with the real build and served there by
the exact `make serve` command. Eight page kinds (home, the deployments table page with its
facets, row pages of every table, search, country pages, claims, JSON and CSV exports) are each
read by one `wrk` process of 8 connections, all at once: 64 concurrent connections, each kind
with its own latency distribution. While they read, the real build runs twice into the same path
(its atomic `os.replace`). Every request is counted: statuses of 400 and above, and every
connect, read, write and timeout error. Before, between and after the swaps an uncached SQL
request asks the server which build it is reading, and a second server started on the swapped
file says what a restart serves. A third server, warmed up but not loaded, has its file swapped
and is then asked concurrently, which makes it start SQL threads: the builds they answer from are
counted. Load average and the CPU time of the server and of the load generator are recorded
beside the figures.
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.site import HOST, WRK_SCRIPT, Server, free_port, project_command

REPO = Path(__file__).resolve().parent.parent
DATABASE = "evidence"
ROW_TABLES = ("deployments", "wrongful_arrests", "legal_actions", "declarations", "documents",
              "organisations", "claims")
SEARCH_WORDS = ("police", "clearview", "ban", "arrest", "airport", "school", "stadium", "court",
                "privacy", "london", "detroit", "china")
RELEASE_SQL = "select value, random() from build where key = 'built_at'"

# Appended to bench.site's URL-rotating script: each wrk process prints its own figures.
WRK_DONE = """done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\\n', summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""
# Appended too with --uncached: each request carries a query argument of its own, which the pages
# ignore, so that every one is answered by Datasette and SQLite, none by the response cache.
WRK_FRESH = """local fresh = 0
request = function()
  n = n % #urls + 1
  fresh = fresh + 1
  local joiner = string.find(urls[n], "?", 1, true) and "&" or "?"
  return wrk.format("GET", urls[n] .. joiner .. "_fresh=" .. fresh)
end
"""


def page_urls(db: Path) -> dict[str, list[str]]:
    """The URLs of each page kind, drawn from the database served."""
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    countries = [r[0] for r in conn.execute(
        "select country from deployments where country is not null group by country "
        "order by count(*) desc limit 6")]
    rows = [f"/{DATABASE}/{table}/{quote(row_id, safe='')}" for table in ROW_TABLES
            for (row_id,) in conn.execute(f"select id from [{table}] order by rowid")]
    conn.close()
    tables = ("deployments", "wrongful_arrests", "legal_actions", "declarations")
    return {
        "home": ["/"],
        "table": [f"/{DATABASE}/deployments"]
                 + [f"/{DATABASE}/deployments?{urlencode({'country': c})}" for c in countries],
        "row": rows,
        "search": [f"/search?{urlencode({'q': word})}" for word in SEARCH_WORDS],
        "country": [f"/country/{c}" for c in countries],
        "claims": ["/claims"],
        "json": [f"/{DATABASE}/{t}.json" for t in tables]
                + [f"/{DATABASE}/deployments.json?{urlencode({'country': c})}" for c in countries],
        "csv": [f"/{DATABASE}/{t}.csv" for t in tables]
               + [f"/{DATABASE}/deployments.csv?{urlencode({'_size': 'max'})}"],
    }


def build(db: Path) -> dict:
    """The real build into db (atomic swap); its wall time and the build time it wrote."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines.build", "--db", str(db)], cwd=REPO,
                   capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    built_at = conn.execute("select value from build where key = 'built_at'").fetchone()[0]
    conn.close()
    return {"seconds": round(seconds, 2), "built_at": built_at, "inode": db.stat().st_ino}


def served_release(server: Server, probes: int = 12) -> list[str]:
    """The build times the server answers with, asked `probes` times on fresh connections, by SQL
    the response cache never keeps (it calls random())."""
    path = f"/{DATABASE}.json?{urlencode({'sql': RELEASE_SQL, '_shape': 'array'})}"
    seen = []
    for _ in range(probes):
        status, body = server.get(path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        seen.append(json.loads(body)[0]["value"])
    return sorted(set(seen))


def footer_release(server: Server, path: str = "/") -> str | None:
    """The release a page's footer names."""
    status, body = server.get(path)
    found = re.search(rb'release <time datetime="([^"]+)"', body)
    return found.group(1).decode() if status == 200 and found else None


def check_pages(server: Server, urls: dict[str, list[str]]) -> None:
    """Every URL of the mix answers 200 before the load starts: errors are not measured as pages."""
    failed = [(url, status) for kind in urls.values() for url in kind
              if (status := server.get(url)[0]) != 200]
    if failed:
        raise RuntimeError(f"pages that do not answer 200: {failed}")


def kept_pages(server: Server) -> dict:
    """The response cache's counts (plugins/speed.py): entries, bytes, hits and misses so far."""
    return json.loads(server.get("/-/speed.json")[1])["pages"]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_wrk(port: int, urls: list[str], connections: int, seconds: int, work: Path, kind: str,
              uncached: bool = False):
    listing, script = work / f"{kind}.urls", work / f"{kind}.lua"
    listing.write_text("\n".join(urls) + "\n")
    script.write_text(WRK_SCRIPT % listing + WRK_DONE + (WRK_FRESH if uncached else ""))
    out = (work / f"{kind}.out").open("w")
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
                             "-s", str(script), f"http://{HOST}:{port}"], stdout=out,
                            stderr=subprocess.STDOUT)


def finish_wrk(process, work: Path, kind: str) -> dict:
    """Wait for one wrk process; its figures and the CPU time it used."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    text = (work / f"{kind}.out").read_text()
    line = next((line for line in text.splitlines() if line.startswith('{"requests"')), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk for {kind} failed: {text}")
    figures = json.loads(line)
    seconds = figures["duration_us"] / 1e6
    return {"requests": figures["requests"], "rps": round(figures["requests"] / seconds, 1),
            "p50_ms": figures["p50_us"] / 1000, "p95_ms": figures["p95_us"] / 1000,
            "p99_ms": figures["p99_us"] / 1000, "max_ms": figures["max_us"] / 1000,
            "errors": {k: figures[k] for k in ("connect", "read", "write", "status", "timeout")},
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}


def quiet_swap(work: Path, probes: int = 64) -> dict:
    """A server that has warmed up but not read under load, its file swapped: the builds that
    `probes` concurrent requests are answered from. Each holds an SQL thread for a while (a cross
    join), so that Datasette starts the SQL threads it had not needed yet."""
    db = work / "quiet" / "evidence.db"
    db.parent.mkdir()
    builds = [build(db)["built_at"]]
    port = free_port()
    with Server(project_command(db, port), port, work / "quiet.log") as server:
        server.wait_until_warm()
        threads_before = len(list(Path(f"/proc/{server.process.pid}/task").iterdir()))
        builds.append(build(db)["built_at"])
        sql = f"{RELEASE_SQL} and (select count(*) from deployments a, deployments b) > 0"
        path = f"/{DATABASE}.json?{urlencode({'sql': sql, '_shape': 'array'})}"
        with ThreadPoolExecutor(16) as pool:
            seen = list(pool.map(lambda _: json.loads(server.get(path)[1])[0]["value"], range(probes)))
        threads_after = len(list(Path(f"/proc/{server.process.pid}/task").iterdir()))
    return {"first_build": builds[0], "swapped_in": builds[1], "threads_before": threads_before,
            "threads_after": threads_after,
            "answers": {"first_build": seen.count(builds[0]), "swapped_in": seen.count(builds[1])}}


def run(work: Path, connections: int = 64, seconds: int = 60, swaps_at=(15, 35),
        uncached: bool = False) -> dict:
    """Load the site for `seconds` and rebuild its database at each of `swaps_at` seconds."""
    db = work / "evidence.db"
    first = build(db)
    urls = page_urls(db)
    per_kind = connections // len(urls)
    port = free_port()
    with Server(project_command(db, port), port, work / "server.log") as server:
        server.wait_until_warm()
        check_pages(server, urls)
        before = {"sql": served_release(server), "footer": footer_release(server)}
        load_before, server_cpu = os.getloadavg(), cpu_seconds(server.process.pid)
        kept_before = kept_pages(server)
        started = time.monotonic()
        processes = {kind: start_wrk(port, kind_urls, per_kind, seconds, work, kind, uncached)
                     for kind, kind_urls in urls.items()}
        swaps = []
        for at in swaps_at:
            time.sleep(max(0.0, started + at - time.monotonic()))
            began = time.monotonic() - started
            swap = {"started_s": round(began, 1), **build(db)}
            swap["swapped_s"] = round(time.monotonic() - started, 1)
            swap["served_sql"] = served_release(server)
            swap["served_footer"] = footer_release(server)
            swap["new_page_footer"] = footer_release(server, f"/search?q=swap{len(swaps)}")
            swaps.append(swap)
        load_during = os.getloadavg()
        pages = {kind: finish_wrk(process, work, kind) for kind, process in processes.items()}
        server_cpu = round(cpu_seconds(server.process.pid) - server_cpu, 2)
        kept_after = kept_pages(server)
        cache = {k: kept_after[k] - kept_before[k] for k in ("hits", "misses")}
        after = {"sql": served_release(server), "footer": footer_release(server)}
    port = free_port()
    with Server(project_command(db, port), port, work / "restarted.log") as restarted:
        warm = restarted.wait_until_warm()
        after_restart = {"sql": served_release(restarted), "footer": footer_release(restarted),
                         "ready_s": round(restarted.ready_seconds, 2),
                         "warm_s": round(warm, 2) if warm else None}
    quiet = quiet_swap(work)
    total = sum(p["requests"] for p in pages.values())
    return {"connections": per_kind * len(urls), "seconds": seconds, "uncached": uncached,
            "cpus": os.cpu_count(),
            "first_build": first, "before": before, "swaps": swaps, "after": after,
            "after_restart": after_restart, "cache_during_load": cache,
            "quiet_server_swapped": quiet, "pages": pages, "requests": total,
            "rps": round(sum(p["rps"] for p in pages.values()), 1),
            "errors": sum(sum(p["errors"].values()) for p in pages.values()),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_at_end": [round(x, 2) for x in load_during],
            "server_cpu_s": server_cpu, "wrk_cpu_s": round(sum(p["cpu_s"] for p in pages.values()), 2)}


def table(results: dict) -> str:
    """The figures as the Markdown table README shows."""
    lines = ["| page kind | requests | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |",
             "|---|---|---|---|---|---|---|"]
    for kind, p in results["pages"].items():
        lines.append(f"| {kind} | {p['requests']:,} | {p['rps']:,} | {p['p50_ms']:.1f} | "
                     f"{p['p95_ms']:.1f} | {p['p99_ms']:.1f} | {sum(p['errors'].values())} |")
    lines.append(f"| all | {results['requests']:,} | {results['rps']:,} |  |  |  | "
                 f"{results['errors']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--uncached", action="store_true",
                        help="every request a URL of its own: none answered by the response cache")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or REPO / "bench" / "work" / ("load-uncached.json" if args.uncached else "load.json")
    with tempfile.TemporaryDirectory(prefix="frt-load-") as tmp:
        results = run(Path(tmp), args.connections, args.seconds,
                      (args.seconds // 4, args.seconds * 7 // 12), args.uncached)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "pages"}, indent=2))
    print(table(results))
    if results["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
