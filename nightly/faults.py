"""The fault matrix: every source spider against every way its source can fail, in one process.

Each source is served over loopback (nightly/loopback.py) from a copy of its capture in
data/captures/ (the AIID's GraphQL route from the synthetic pages of tests/fixtures/). A good
run of every source first fills a folder: snapshots, run log, WARC files, HTTP cache. Then for
each source and each fault a copy of that folder is crawled again, the fault injected on the
source's main path, beside one other source whose path stays healthy; the two crawls run side by
side in the same reactor. Every crawl of the matrix runs in this one process (Scrapy's crawlers
on one asyncio reactor), so the whole matrix costs one process start.

A cell records what the run log says (status, reason, whether the snapshot was replaced), how
many requests the server saw on the failing path and how many of them were retries, whether the
source's snapshot is byte for byte what it was, and whether the other source's run was ok with
its snapshot untouched. `python -m nightly.faults` prints the matrix as a Markdown table (the
README's "Faults" shows it); `--json` writes every cell. Waits are shortened (a 0.05 s backoff
base, and a 0.5 s download timeout where the fault is a timeout), nothing else is; the Atlas
capture is served cut to its first ATLAS_ROWS rows.
"""

import argparse
import asyncio
import csv
import io
import itertools
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from nightly.loopback import CRAWL_SETTINGS, CaptureServer
from pipelines.snapshot.runlog import read_runs

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
GOOD_DATE, NIGHT_DATE = "2026-11-21", "2026-11-22"
MATRIX_SETTINGS = {**CRAWL_SETTINGS, "FRT_RETRY_BACKOFF_BASE": 0.05, "LOG_LEVEL": "ERROR"}
TIMEOUT = {"DOWNLOAD_TIMEOUT": 0.5}  # the faulty source's, in the timeout cells only
STALL_SECONDS = 2  # a stalled answer: longer than that timeout
ATLAS_ROWS = 100  # of the capture's rows: enough for every monitor to judge, and quick
FLOOD_BYTES = 50 * 2**20
ERROR_PAGE = (FIXTURES / "atlas_error_page.html").read_bytes()  # synthetic


@dataclass(frozen=True)
class Source:
    """A row of the matrix: a spider on one route, the path its faults go to, the column it
    loses to the `renamed` fault and the one the `missing` fault drops."""

    name: str
    spider: str
    path: str
    content_type: str
    arguments: Callable[[CaptureServer], dict]
    renamed: tuple[str, str]
    dropped: str
    other: str  # the source crawled beside it, healthy


SOURCES = {s.name: s for s in (
    Source("atlas", "atlas", "atlas/download.csv", "text/csv",
           lambda server: {"start_url": server.url("atlas/download.csv")}, ("Agency", "Agency Name"),
           "Link 1", "aiid"),
    Source("aiid", "aiid", "aiid/incidents.csv", "text/csv",
           lambda server: {"start_url": server.url("aiid/incidents.csv")}, ("title", "incident_title"),
           "date", "atlas"),
    Source("aiid graphql", "aiid", "api/graphql", "application/json",
           lambda server: {"route": "graphql", "since": "9000", "graphql_url": server.url("api/graphql")},
           ("incident_id", "id"), "date", "atlas"),
)}


def graphql_pages(query: dict, body: bytes) -> tuple[int, str, bytes]:
    """The AIID GraphQL API as a night finds it: a page of 3 incidents newer than `since`
    (synthetic), the last."""
    return 200, "application/json", (FIXTURES / "aiid_graphql_page_last.json").read_bytes()


def renamed(source: Source, body: bytes) -> bytes:
    old, new = source.renamed
    if source.content_type == "application/json":
        page = json.loads(body)
        page["data"]["incidents"] = [{new if k == old else k: v for k, v in incident.items()}
                                     for incident in page["data"]["incidents"]]
        return json.dumps(page).encode()
    header, _, rows = body.partition(b"\n")
    names = next(csv.reader([header.decode("utf-8-sig")]))
    return _csv_line([new if name == old else name for name in names]) + rows


def dropped(source: Source, body: bytes) -> bytes:
    if source.content_type == "application/json":
        page = json.loads(body)
        for incident in page["data"]["incidents"]:
            incident.pop(source.dropped, None)
        return json.dumps(page).encode()
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    served = io.StringIO()
    writer = csv.DictWriter(served, [name for name in reader.fieldnames or () if name != source.dropped],
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(reader)
    return served.getvalue().encode()


def _csv_line(values: list[str]) -> bytes:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(values)
    return line.getvalue().encode()


def changed(server: CaptureServer, source: Source, change, content_type: str) -> None:
    """Serve path's answer changed by `change(source, body)` with this Content-Type: each GraphQL
    page as it is asked for, a file once."""
    if source.content_type == "application/json":
        server.answer(source.path, lambda query, body: (
            200, content_type, change(source, graphql_pages(query, body)[2])))
    else:
        body, _, _ = server.content("/" + source.path)
        server.send(source.path, change(source, body), content_type)


def _charset(source: Source) -> str:
    return f"{source.content_type}; charset=utf-8"


FAULTS = {
    "404": lambda server, source: server.fail(source.path, 404),
    "500": lambda server, source: server.fail(source.path, 500),
    "503": lambda server, source: server.fail(source.path, 503),
    "429 once, Retry-After 1 s": lambda server, source: server.fail(
        source.path, 429, {"Retry-After": "1"}, times=1),
    "429, Retry-After a day (date)": lambda server, source: server.fail(
        source.path, 429, {"Retry-After": formatdate(time.time() + 86400, usegmt=True)}),
    "timeout": lambda server, source: server.cut(source.path, "stall"),
    "connection reset": lambda server, source: server.cut(source.path, "reset"),
    "truncated body": lambda server, source: server.cut(source.path, "truncate"),
    "HTML error page, 200": lambda server, source: changed(
        server, source, lambda _, body: ERROR_PAGE, "text/html; charset=utf-8"),
    "empty, 200": lambda server, source: changed(server, source, lambda _, body: b"", _charset(source)),
    "cp1252 labelled utf-8": lambda server, source: changed(
        server, source, lambda _, body: body.decode("utf-8").encode("cp1252", "replace"), _charset(source)),
    "no charset": lambda server, source: changed(server, source, lambda _, body: body, source.content_type),
    "renamed column": lambda server, source: changed(server, source, renamed, _charset(source)),
    "missing column": lambda server, source: changed(server, source, dropped, _charset(source)),
    "50 MiB": lambda server, source: server.flood(source.path, FLOOD_BYTES),
}


def crawl_settings(folder: Path, run_date: str):
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("scrapers.settings", priority="project")
    settings.setdict({**MATRIX_SETTINGS, "FRT_ITEMS_DIR": str(folder), "FRT_RUNS_DIR": str(folder / "runs"),
                      "FRT_ARCHIVE_DIR": str(folder / "archive"), "HTTPCACHE_DIR": str(folder / "httpcache"),
                      "FRT_RUN_DATE": run_date}, priority="cmdline")
    return settings


async def crawl(source: Source, server: CaptureServer, folder: Path, run_date: str, **settings) -> dict:
    """Run source's spider into folder (with these settings too); return the run it logged."""
    from scrapy.crawler import Crawler
    from scrapy.spiderloader import get_spider_loader

    crawl = crawl_settings(folder, run_date)
    crawl.setdict(settings, priority="cmdline")
    await Crawler(get_spider_loader(crawl).load(source.spider), crawl).crawl_async(**source.arguments(server))
    return read_runs(folder / "runs", source.spider)[-1]


def _snapshot(folder: Path, source: Source) -> bytes:
    return (folder / f"{source.spider}.jsonl").read_bytes()


async def cell(source: Source, fault: str, server: CaptureServer, base: Path, work: Path) -> dict:
    """One source under one fault, with its other source beside it, in a copy of base."""
    other = SOURCES[source.other]
    folder = shutil.copytree(base, work / f"{source.name}-{fault}".replace(" ", "_").replace("/", "_"))
    before = {s.name: _snapshot(folder, s) for s in (source, other)}
    seen = len(server.requests(source.path))
    FAULTS[fault](server, source)
    started = time.monotonic()
    try:
        run, other_run = await asyncio.gather(
            crawl(source, server, folder, NIGHT_DATE, **(TIMEOUT if fault == "timeout" else {})),
            crawl(other, server, folder, NIGHT_DATE))
    finally:
        server.heal()
        server.answer("api/graphql", graphql_pages)
    requests = len(server.requests(source.path)) - seen
    return {"source": source.name, "fault": fault, "status": run["status"], "reason": run["error"],
            "finish_reason": run["finish_reason"], "snapshot": run["snapshot"],
            "snapshot_unchanged": _snapshot(folder, source) == before[source.name],
            "requests": requests, "retries": max(0, requests - 1),
            "seconds": round(time.monotonic() - started, 2),
            "other": {"source": other.name, "status": other_run["status"],
                      "snapshot_unchanged": _snapshot(folder, other) == before[other.name]}}


def serve_root(work: Path) -> Path:
    """A copy of the captures the matrix serves (the Atlas's cut to its first ATLAS_ROWS rows, in
    its own quoting), so that a capture edited meanwhile cannot move it."""
    root, captures = work / "captures", REPO / "data" / "captures"
    for name in ("atlas", "aiid"):
        (root / name).mkdir(parents=True)
    for name in ("aiid/incidents.csv", "aiid/duplicates.csv"):
        shutil.copy(captures / name, root / name)
    with (captures / "atlas/download.csv").open(encoding="utf-8", newline="") as capture, \
            (root / "atlas/download.csv").open("w", encoding="utf-8", newline="") as served:
        csv.writer(served, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
            itertools.islice(csv.reader(capture), ATLAS_ROWS + 1))
    return root


async def matrix(work: Path, sources=tuple(SOURCES), faults=tuple(FAULTS)) -> list[dict]:
    """Every cell of sources × faults, after the good runs they start from."""
    with CaptureServer(serve_root(work), stall_seconds=STALL_SECONDS) as server:
        server.answer("api/graphql", graphql_pages)
        csv_base, graphql_base = work / "good", work / "good-graphql"
        for name in ("atlas", "aiid"):  # one after the other: the first run of each names no rival
            run = await crawl(SOURCES[name], server, csv_base, GOOD_DATE)
            if run["status"] != "ok":
                raise RuntimeError(f"the good run of {name} failed: {run['error']}")
        shutil.copytree(csv_base, graphql_base)
        run = await crawl(SOURCES["aiid graphql"], server, graphql_base, GOOD_DATE)
        if run["status"] != "ok":
            raise RuntimeError(f"the good run of aiid graphql failed: {run['error']}")
        return [await cell(SOURCES[name], fault, server,
                           graphql_base if name == "aiid graphql" else csv_base, work)
                for fault in faults for name in sources]


def run_matrix(work: Path, **which) -> list[dict]:
    """The matrix, run on an asyncio reactor installed for it (in a process of its own)."""
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from twisted.internet import reactor

    outcome = {}
    done = deferred_from_coro(matrix(work, **which))
    done.addCallbacks(lambda cells: outcome.update(cells=cells),
                      lambda failure: outcome.update(error=failure))
    done.addBoth(lambda _: reactor.stop())
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        outcome["error"].raiseException()
    return outcome["cells"]


def label(cell: dict) -> str:
    retries = f"{cell['retries']} retr{'y' if cell['retries'] == 1 else 'ies'}"
    kept = "kept" if cell["snapshot_unchanged"] else "changed"
    return f"{cell['status']}, {retries}, {kept}"


def table(cells: list[dict]) -> str:
    """The matrix in Markdown: a row a fault, a column a source, then whether every other source
    crawled beside a faulty one was ok with its snapshot kept."""
    sources = list(dict.fromkeys(c["source"] for c in cells))
    lines = ["| fault | " + " | ".join(sources) + " | other source |",
             "|---" * (len(sources) + 2) + "|"]
    for fault in dict.fromkeys(c["fault"] for c in cells):
        row = {c["source"]: c for c in cells if c["fault"] == fault}
        others = all(c["other"]["status"] == "ok" and c["other"]["snapshot_unchanged"] for c in row.values())
        lines.append(f"| {fault} | " + " | ".join(label(row[s]) for s in sources) +
                     f" | {'ok, kept' if others else 'AFFECTED'} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every cell (status, reason, requests...) here")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=FAULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="faults-") as work:
        cells = run_matrix(Path(work), sources=tuple(args.sources), faults=tuple(args.faults))
    if args.json:
        args.json.write_text(json.dumps(cells, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(table(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
