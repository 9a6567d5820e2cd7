"""The Makefile agrees with the code: its SPIDERS are the source spiders a night runs, and
scrape-captures reads the same capture of each that the offline night serves."""

import re

from conftest import REPO
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from nightly.plan import CAPTURES, SOURCES

MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")


def recipe(target: str) -> list[str]:
    block = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    return [line.strip() for line in block.group(1).splitlines()]


def test_spiders_are_the_sources_of_a_night():
    spiders = re.search(r"^SPIDERS := (.*)$", MAKEFILE, re.M).group(1).split()
    assert tuple(spiders) == SOURCES
    every = set(get_spider_loader(get_project_settings()).list())
    assert every - set(spiders) == {"documents"}  # the cited pages, not a source of rows


def test_scrape_captures_reads_each_source_capture():
    crawled = dict(re.findall(r"scrapy crawl (\w+) -a start_url=file://\$\(CAPTURES\)/(\S+)",
                              "\n".join(recipe("scrape-captures"))))
    assert crawled == CAPTURES
    assert all((REPO / "data" / "captures" / path).exists() for path in CAPTURES.values())


def test_the_operations_targets_call_the_nightly_commands():
    assert recipe("nightly") == ["$(BIN)/python -m nightly"]
    assert recipe("nightly-captures") == ["$(BIN)/python -m nightly --captures"]
    distributed = "$(BIN)/python -m nightly.workers --workers $(workers) $(SPIDERS)"
    assert recipe("scrape-distributed") == [distributed]
    assert "redis" in re.search(r"^test:(.*)##", MAKEFILE, re.M).group(1).split()
