"""What a night runs: each source spider with its arguments, live or over the bundled captures.

SOURCES are the source spiders in the order a night runs them; the Makefile's SPIDERS and its
scrape-captures target list the same spiders and CAPTURES (tests/test_nightly.py keeps them
equal). Live, the Atlas is fetched whole: its one CSV costs a "304 Not Modified" on a night it
did not change. The AIID is asked through its GraphQL API only for incidents newer than the
highest one its snapshot holds, and read whole from its weekly snapshot when its last full run
is FULL_EVERY_DAYS old, so that incidents it stopped listing are noticed too. Over the captures,
every source reads its capture from the loopback server (nightly/loopback.py).

DISCOVERY are the discovery steps a live night runs after the sources and before the build
(scrapers/spiders/feeds.py, gdelt.py, aiaaic.py, openstates.py, courtlistener.py, then article.py,
which fetches at most ARTICLES_A_NIGHT of the pages the others found): they find reports for people
to review, never rows, but for openstates, whose state bills are legal_actions rows. openstates and
courtlistener need an API key; without it their run is logged skipped. A spider is added with one
line. Over the captures they are skipped, with the reason, since data/captures holds no capture of
the feeds, GDELT, the AIAAIC sheet, the two APIs or the articles.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from pipelines.snapshot.runlog import last_good_run, read_runs
from pipelines.snapshot.store import read_snapshot

SOURCES = ("atlas", "aiid")
CAPTURES = {"atlas": "atlas/download.csv", "aiid": "aiid/incidents.csv"}
FULL_EVERY_DAYS = 7
ARTICLES_A_NIGHT = 300
NO_DISCOVERY_CAPTURE = "offline: data/captures holds no capture of this discovery source"


@dataclass
class Step:
    """One spider run of a night: `scrapy crawl <spider> -a key=value ...`."""

    spider: str
    arguments: dict[str, str] = field(default_factory=dict)
    why: str = ""


# one line a spider; the article spider last: it reads the pages of what the others found
DISCOVERY = (
    Step("feeds", why="the RSS and Atom feeds of data/feeds.yml, revalidated"),
    Step("gdelt", why="GDELT's articles since the last ok run"),
    Step("aiaaic", why="the AIAAIC sheet's face recognition entries"),
    Step("openstates", why="state bills on facial recognition (skipped without OPENSTATES_API_KEY)"),
    Step("courtlistener", why="court opinions and dockets on face recognition (skipped without a token)"),
    Step("article", {"limit": str(ARTICLES_A_NIGHT)}, why="the pages found, not fetched before"),
)


def aiid_since(items_dir: Path) -> int:
    """The highest AIID incident id the snapshot holds (its duplicates included); 0 if none."""
    ids = [0]
    for record in read_snapshot(Path(items_dir) / "aiid.jsonl").values():
        ids += [int(n) for n in [record["source_id"], *record.get("merged_ids", [])] if str(n).isdigit()]
    return max(ids)


def _days_since(run: dict | None, today: date) -> int | None:
    if run is None:
        return None
    return (today - datetime.fromisoformat(run["started"]).date()).days


def live_step(spider: str, items_dir: Path, runs_dir: Path, today: date) -> Step:
    if spider != "aiid":
        return Step(spider, why="the whole source, revalidated")
    age = _days_since(last_good_run(read_runs(runs_dir, "aiid"), mode="full"), today)
    since = aiid_since(items_dir)
    if age is None or age >= FULL_EVERY_DAYS or not since:
        return Step(spider, why="the weekly snapshot, whole" if age is not None else "no full run yet")
    return Step(spider, {"route": "graphql", "since": str(since)},
                why=f"incidents newer than {since} (last full run {age} days ago)")


def capture_step(spider: str, url_for) -> Step:
    return Step(spider, {"start_url": url_for(CAPTURES[spider])}, why="the bundled capture, over loopback")


def plan(spiders, items_dir: Path, runs_dir: Path, today: date, url_for=None) -> list[Step]:
    """The steps of a night; with `url_for` (a capture path → URL), over the captures."""
    return [capture_step(s, url_for) if url_for else live_step(s, items_dir, runs_dir, today)
            for s in spiders]


def discovery_plan(captures: bool) -> tuple[list[Step], dict[str, str]]:
    """The discovery steps of a night, and the discovery spiders skipped with their reason."""
    if captures:
        return [], {step.spider: NO_DISCOVERY_CAPTURE for step in DISCOVERY}
    return list(DISCOVERY), {}
