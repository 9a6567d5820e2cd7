"""Discovery in the night: the plan runs the discovery spiders after the sources live and skips
them, saying why, over the captures; and a discovery run whose robots.txt forbids one feed drops
that feed, counted, and reads the others (a partial run, not a failed one), while a run in which
robots.txt forbids every feed fails."""

import json
import shutil

from conftest import FIXTURES, crawl

from nightly.loopback import CaptureServer
from nightly.plan import DISCOVERY, NO_DISCOVERY_CAPTURE, SOURCES, discovery_plan
from pipelines.snapshot.runlog import read_runs

FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def test_a_live_night_runs_each_discovery_spider_and_an_offline_night_skips_each():
    steps, skipped = discovery_plan(captures=False)
    assert [step.spider for step in steps] == ["feeds", "gdelt", "aiaaic", "openstates", "courtlistener",
                                               "article"]
    assert [step.arguments for step in steps] == [{}, {}, {}, {}, {}, {"limit": "300"}]
    assert all(step.why for step in steps) and skipped == {}
    assert not {step.spider for step in DISCOVERY} & set(SOURCES)
    assert discovery_plan(captures=True) == ([], {step.spider: NO_DISCOVERY_CAPTURE for step in DISCOVERY})


def feeds_run(tmp_path, robots: str):
    """A feeds crawl of two feeds served over loopback, under the given robots.txt."""
    root = tmp_path / "served"
    for folder in ("open", "closed"):
        (root / folder).mkdir(parents=True)
        shutil.copy(FIXTURES / "discovery" / "algorithmwatch_en.xml", root / folder / "feed.xml")
    (root / "robots.txt").write_text(robots, encoding="utf-8")
    with CaptureServer(root) as server:
        feeds = [{"url": server.url(f"{folder}/feed.xml"), "publisher": f"Example {folder}", "language": "en"}
                 for folder in ("open", "closed")]
        (tmp_path / "feeds.yml").write_text(json.dumps(feeds), encoding="utf-8")
        items = tmp_path / "items"
        code, stats, log = crawl("feeds", items, f"feeds={tmp_path / 'feeds.yml'}", settings=FAST,
                                 env={"FRT_DISCOVERED_DIR": str(tmp_path / "discovered")})
    return code, stats, log, read_runs(items / "runs", "feeds")[-1]


def test_a_feed_robots_txt_forbids_is_a_counted_drop_and_the_other_feeds_are_read(tmp_path):
    code, stats, log, run = feeds_run(tmp_path, "User-agent: *\nDisallow: /closed/\n")
    assert code == 0, log
    assert stats["robotstxt/forbidden"] == 1 and stats["frt/dropped/feed_unreachable"] == 1
    assert (run["status"], run["items"], run["error"]) == ("partial", 1, None)
    assert run["dropped_reasons"] == {"feed_unreachable": 1}


def test_a_run_whose_robots_txt_forbids_every_feed_fails(tmp_path):
    _, stats, log, run = feeds_run(tmp_path, "User-agent: *\nDisallow: /\n")
    assert stats["robotstxt/forbidden"] == 2
    assert run["status"] == "failed" and "nothing could be read" in run["error"], log
