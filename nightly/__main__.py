"""`python -m nightly`: run a night, live or over the bundled captures, and print its summary.

Live (`make nightly`): the sources as planned by nightly/plan.py, then the discovery spiders
(nightly/plan.py's DISCOVERY), then the cited documents due
tonight (scrapers/spiders/documents.py), with the committed text in data/, the WARC files in
archive/ and the HTTP cache in .scrapy/httpcache.
Over the captures (`make nightly-captures`, as CI does): every source reads its capture from a
loopback HTTP server, in a work folder (build/nightly-captures/) that starts as a copy of
data/items, so the committed text is left alone; a second night there costs only conditional
requests. The cited documents are skipped offline: they are on the live web; so are the
discovery spiders, which have no capture.
"""

import argparse
import logging
import shutil
import sys
from datetime import date
from pathlib import Path

from nightly.loopback import CRAWL_SETTINGS, CaptureServer
from nightly.night import REPO, Night, run_night
from nightly.plan import SOURCES, Step, discovery_plan, plan

DATA = REPO / "data"


def night_in(data: Path, work: Path, settings: dict) -> Night:
    return Night(items=data / "items", runs=data / "runs", db=data / "evidence.db",
                 archive=work / "archive", cache=work / "httpcache", logs=work / "logs",
                 summary=work / "nightly-summary.md", settings=settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", action="store_true", help="over the bundled captures, offline")
    parser.add_argument("--spiders", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--documents", type=int, default=300, help="cited pages to fetch or check")
    parser.add_argument("--work", type=Path, help="work folder (default: build/nightly[-captures])")
    parser.add_argument("--port", type=int, default=18751,
                        help="loopback port for --captures: the same URLs from night to night")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    skipped = {s: "left out of this night (--spiders)" for s in SOURCES if s not in args.spiders}
    if not args.captures:
        work = args.work or REPO / "build" / "nightly"
        night = night_in(DATA, work, {})
        night.archive, night.cache = REPO / "archive", REPO / ".scrapy" / "httpcache"
        night.register = True  # as `make build`: the ids published tonight must resolve forever
        night.releases = REPO / "releases"
        steps = plan(args.spiders, night.items, night.runs, date.today()) + discovery_plan(captures=False)[0]
        steps.append(Step("documents", {"limit": str(args.documents)}, why="the cited pages due tonight"))
        code, text = run_night(steps, night, skipped)
    else:
        work = args.work or REPO / "build" / "nightly-captures"
        if not (work / "data" / "items").exists():
            shutil.copytree(DATA / "items", work / "data" / "items")
        night = night_in(work / "data", work, CRAWL_SETTINGS)
        night.releases = work / "releases"
        skipped["documents"] = "offline: the cited pages are on the live web"
        skipped.update(discovery_plan(captures=True)[1])
        with CaptureServer(DATA / "captures", args.port) as server:
            steps = plan(args.spiders, night.items, night.runs, date.today(), url_for=server.url)
            code, text = run_night(steps, night, skipped)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
