"""The published site under load, against stock Datasette and against the same SQL run directly.

Three ways to answer the same four pages of one database file:
- the project's site: the exact `make serve` command (metadata, plugins, templates, settings);
- stock Datasette (bench/stock.py): the same Datasette, no plugin, no metadata, no setting, asked
  for the same facets and the same SQL through its URLs;
- direct SQL: the queries behind each page, on the file, with no HTTP and no HTML.

The pages: a row page (distinct rows), the deployments table page with its facets (unfiltered and
filtered by a facet value), a full-text search (terms from common to rare, each asked several
times, as people repeat searches) and a canned query. At concurrency 1 every request is timed
(p50, p95, and p50 of the first request of each distinct URL, before any cache could help); at
16 concurrent connections wrk, a second process, counts requests per second. All traffic goes to
127.0.0.1 and every run is bounded in requests and seconds.
"""

import http.client
import json
import random
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import yaml

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DATABASE = "evidence"
TABLE = "deployments"
CANNED = ("evidence_by_country", {"country": "GB"})
SEARCH_REPEATS = 4
PAGE_SIZE = 100


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(latencies: list[float], first: list[float]) -> dict:
    return {"requests": len(latencies), "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p95_ms": round(1000 * _percentile(latencies, 0.95), 2),
            "first_p50_ms": round(1000 * statistics.median(first), 2) if first else None}


def project_command(db: Path, port: int) -> list[str]:
    """The command `make serve` runs, for this database and port."""
    shown = subprocess.run(["make", "-n", "--no-print-directory", "serve", f"DB={db}", f"PORT={port}"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout
    line = next(line for line in shown.splitlines() if "datasette serve" in line)
    return shlex.split(line)


def stock_command(db: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "bench.stock", "serve", "-i", str(db), "--host", HOST, "--port", str(port)]


def free_port() -> int:
    """A loopback port no one listens on now, so that a server of another run is never measured."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """One Datasette process on loopback, stopped on exit."""

    def __init__(self, command: list[str], port: int, log: Path):
        self.command, self.port, self.log = command, port, log
        self.process = None

    def __enter__(self):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.command, cwd=REPO, stdout=self.log.open("w"),
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[0]} stopped: see {self.log}")
            try:
                status, _ = self.get("/-/versions.json")
                if status == 200:
                    self.ready_seconds = time.perf_counter() - self.started
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()  # a server that never answered is not left running
        raise RuntimeError(f"the server on port {self.port} did not answer within 600 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def get(self, path: str, connection=None) -> tuple[int, bytes]:
        conn = connection or http.client.HTTPConnection(HOST, self.port, timeout=120)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        if connection is None:
            conn.close()
        return response.status, body

    def wait_until_warm(self, timeout: float = 900) -> float | None:
        """Seconds until the project's cache reports itself warm (None where there is no cache)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.get("/-/speed.json")
            if status != 200:
                return None
            if json.loads(body).get("warm"):
                return time.perf_counter() - self.started
            time.sleep(0.5)
        raise RuntimeError(f"the cache on port {self.port} was not warm within {timeout} s")


def metadata() -> dict:
    return yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8"))


def facet_arguments(table_metadata: dict) -> list[tuple[str, str]]:
    """The facets metadata.yml configures, as the URL arguments stock Datasette needs for them."""
    arguments = []
    for facet in table_metadata.get("facets", []):
        if isinstance(facet, str):
            arguments.append(("_facet", facet))
        else:
            (kind, column), = facet.items()
            arguments.append((f"_facet_{kind}", column))
    return arguments


def workload(db: Path, words: list[str], seed: int = 7) -> dict:
    """The URLs of each page, for the project's site and for stock Datasette, and their SQL."""
    rng = random.Random(seed)
    meta = metadata()
    tables = meta["databases"][DATABASE]["tables"]
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    count = conn.execute(f"select max(rowid) from {TABLE}").fetchone()[0]
    rowids = ",".join(str(rng.randint(1, count)) for _ in range(300))
    ids = [r[0] for r in conn.execute(f"select id from {TABLE} where rowid in ({rowids})")]
    countries = [r[0] for r in conn.execute(f"select country from {TABLE} where country is not null "
                                            "group by country order by count(*) desc limit 3")]
    terms = []
    for word in words:
        found = conn.execute(f"select count(*) from {TABLE}_fts where {TABLE}_fts match ?", (f'"{word}"',))
        if found.fetchone()[0]:
            terms.append(word)
        if len(terms) == 20:
            break
    facets = facet_arguments(tables.get(TABLE, {}))
    sort = tables.get(TABLE, {}).get("sort_desc")
    filters = [[]] + [[("country", c)] for c in countries]
    searches = [t for t in terms for _ in range(SEARCH_REPEATS)]
    rng.shuffle(searches)
    query = meta["databases"][DATABASE].get("queries", {}).get(CANNED[0])
    pages = {
        "row": {"project": [f"/{DATABASE}/{TABLE}/{quote(i, safe='')}" for i in ids],
                "stock": [f"/{DATABASE}/{TABLE}/{quote(i, safe='')}" for i in ids]},
        "table": {"project": [_url(f"/{DATABASE}/{TABLE}", f) for f in filters] * 15,
                  "stock": [_url(f"/{DATABASE}/{TABLE}", f + facets) for f in filters] * 15},
        "search": {"project": [_url(f"/{DATABASE}/{TABLE}", [("_search", t)]) for t in searches],
                   "stock": [_url(f"/{DATABASE}/{TABLE}", [("_search", t)]) for t in searches]},
    }
    if query:
        sql, params = query["sql"], CANNED[1]
        pages["canned"] = {"project": [_url(f"/{DATABASE}/{CANNED[0]}", list(params.items()))] * 40,
                           "stock": [_url(f"/{DATABASE}", [("sql", sql), *params.items()])] * 40}
    direct = {
        "row": [[(f"select * from {TABLE} where id = ?", (i,))] for i in ids],
        "table": [_table_sql(TABLE, f, [c for k, c in facets if k == "_facet"], sort) for f in filters] * 15,
        "search": [_search_sql(TABLE, t, sort) for t in searches],
    }
    if query:
        direct["canned"] = [[(query["sql"], CANNED[1])]] * 40
    return {"pages": pages, "direct": direct, "terms": terms, "rows": count,
            "canned": CANNED[0] if query else None}


def _url(path: str, arguments: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(arguments)}" if arguments else path


def _table_sql(table: str, filters: list, facets: list[str], sort: str | None) -> list:
    where = " and ".join(f"[{c}] = ?" for c, _ in filters) or "1"
    params = tuple(v for _, v in filters)
    order = f"order by [{sort}] desc, id" if sort else "order by id"
    queries = [(f"select count(*) from {table} where {where}", params),
               (f"select * from {table} where {where} {order} limit {PAGE_SIZE + 1}", params)]
    queries += [(f"select [{c}], count(*) from {table} where {where} group by [{c}] "
                 f"order by count(*) desc limit 31", params) for c in facets]
    return queries


def _search_sql(table: str, term: str, sort: str | None) -> list:
    match = f"rowid in (select rowid from {table}_fts where {table}_fts match ?)"
    order = f"order by [{sort}] desc, id" if sort else "order by id"
    return [(f"select count(*) from {table} where {match}", (term,)),
            (f"select * from {table} where {match} {order} limit {PAGE_SIZE + 1}", (term,))]


def time_direct(db: Path, queries: list[list], budget_s: float) -> dict:
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    latencies, deadline = [], time.monotonic() + budget_s
    for batch in queries:
        started = time.perf_counter()
        for sql, params in batch:
            conn.execute(sql, params).fetchall()
        latencies.append(time.perf_counter() - started)
        if time.monotonic() > deadline:
            break
    conn.close()
    return summary(latencies, [])


def time_http(server: Server, urls: list[str], budget_s: float) -> dict:
    """Every URL once, in order, on one keep-alive connection: latency at concurrency 1."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=120)
    latencies, first, seen, deadline = [], [], set(), time.monotonic() + budget_s
    statuses = {}
    for url in urls:
        started = time.perf_counter()
        status, _ = server.get(url, conn)
        elapsed = time.perf_counter() - started
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(elapsed)
        if url not in seen:
            seen.add(url)
            first.append(elapsed)
        if time.monotonic() > deadline:
            break
    conn.close()
    return {**summary(latencies, first), "statuses": statuses}


WRK_SCRIPT = """
local urls = {}
for line in io.lines("%s") do urls[#urls + 1] = line end
local n = 0
request = function()
  n = n %% #urls + 1
  return wrk.format("GET", urls[n])
end
"""


def throughput(server: Server, urls: list[str], seconds: int, connections: int = 16) -> dict:
    """Requests per second at `connections` concurrent connections, measured by wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"rps": None, "note": "wrk is not installed (apt-get install wrk)"}
    with tempfile.TemporaryDirectory() as tmp:
        listing, script = Path(tmp) / "urls.txt", Path(tmp) / "rotate.lua"
        listing.write_text("\n".join(urls) + "\n")
        script.write_text(WRK_SCRIPT % listing)
        done = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
                               "-s", str(script), f"http://{HOST}:{server.port}"],
                              capture_output=True, text=True, timeout=seconds + 120)
    rps = next((float(line.split()[1]) for line in done.stdout.splitlines()
                if line.startswith("Requests/sec:")), None)
    errors = next((line.strip() for line in done.stdout.splitlines() if "Non-2xx" in line), None)
    return {"rps": rps, "connections": connections, "seconds": seconds, "errors": errors}


def measure(db: Path, words: list[str], work: Path, budget_s: float = 60, wrk_s: int = 8) -> dict:
    """Every page on the project's site, on stock Datasette and as direct SQL."""
    plan = workload(db, words)
    results = {"rows": plan["rows"], "search_terms": plan["terms"], "canned_query": plan["canned"],
               "pages": {}}
    for page, queries in plan["direct"].items():
        results["pages"].setdefault(page, {})["direct"] = time_direct(db, queries, budget_s)
    for name, command in (("project", project_command), ("stock", stock_command)):
        port = free_port()
        with Server(command(db, port), port, work / f"{name}.log") as server:
            results[f"{name}_ready_s"] = round(server.ready_seconds, 2)
            warm = server.wait_until_warm()
            results[f"{name}_warm_s"] = round(warm, 2) if warm else None
            for page, urls in plan["pages"].items():
                measured = time_http(server, urls[name], budget_s)
                measured["rps_16"] = throughput(server, sorted(set(urls[name])), wrk_s)
                results["pages"][page][name] = measured
    return results
