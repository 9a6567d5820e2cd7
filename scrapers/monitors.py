"""The monitors that judge a spider run (spidermon): a run that fails one keeps the last good snapshot.

They read the run's stats only, so they judge a single-process crawl at its close and a
distributed one over its workers' merged stats alike (scrapers/runs.py runs the suite). Each
failure message says in plain words what went wrong, for the nightly summary.

- finished cleanly: the spider was not stopped (by a source error it recognised, such as an HTML
  page where a CSV should be, or renamed columns; or by too many errors).
- source answered: no request was left without an answer after its retries (HTTP 4xx/5xx,
  network failure), none was refused by the source's robots.txt (so never sent), and no
  callback raised. A spider that reads many independent answers (the discovery spiders:
  FRT_ANSWERS_MAY_FAIL) counts an unanswered or forbidden one as a drop, with its reason, and
  fails only when it read none (scrapers/discoveries.py), so these two checks do not apply to it.
- item count: a full run that completed keeps at least FRT_SNAPSHOT_MIN_SHARE of the items of
  the source's last good full run (or, before the first logged run, of the rows its snapshot
  lists).
- validation errors: at most FRT_MAX_DROPPED_SHARE of the items were refused by validation
  (judged from FRT_MIN_ITEMS_FOR_SHARES items on: one bad row of three is no trend).
- field coverage (spidermon's own monitor): the share of items with each required field filled
  reaches the spider's SPIDERMON_FIELD_COVERAGE_RULES (`Event/<field>`), from
  FRT_MIN_ITEMS_FOR_SHARES items on.
"""

from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors import FieldCoverageMonitor
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor

UNANSWERED = ("retry/max_reached", "httperror/response_ignored_count", "frt/http/given_up")


def counts_of(stats, prefix: str) -> dict[str, int]:
    """The numeric stats under a prefix, by the rest of their name: {"source_id": 2}."""
    return {k.removeprefix(prefix): v for k, v in sorted(stats.items())
            if k.startswith(prefix) and isinstance(v, int | float)}


def top_reasons(counts: dict[str, int], limit: int = 3) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return ", ".join(f"{reason} {count}" for reason, count in ranked)


@monitors.name("finished cleanly")
class FinishedCleanly(BaseScrapyMonitor):
    """The spider finished by itself."""

    @monitors.name("the spider was not stopped")
    def test_finish_reason(self):
        reason = self.stats.get("finish_reason")
        message = self.stats.get("frt/source_error_message") or f"the spider stopped: {reason}"
        self.assertEqual(reason, "finished", msg=message)


@monitors.name("source answered")
class SourceAnswered(BaseScrapyMonitor):
    """Every request got a usable answer."""

    @property
    def answers_may_fail(self) -> bool:
        return self.crawler.settings.getbool("FRT_ANSWERS_MAY_FAIL")

    @monitors.name("no request was left unanswered")
    def test_no_unanswered_request(self):
        if self.answers_may_fail:
            self.skipTest("an answer that failed is a drop, counted with its reason")
        unanswered = max(self.stats.get(key, 0) for key in UNANSWERED)
        last = self.stats.get("frt/http/last_error", "an error")
        self.assertEqual(unanswered, 0, msg=f"{last}; {unanswered} request(s) given up after retries")

    @monitors.name("robots.txt allowed every request")
    def test_no_request_forbidden_by_robots(self):
        if self.answers_may_fail:
            self.skipTest("a page robots.txt forbids is a drop, counted with its reason")
        forbidden = self.stats.get("robotstxt/forbidden", 0)
        self.assertEqual(forbidden, 0, msg=(f"the source's robots.txt disallows {forbidden} request(s) "
                                            "the spider needs: they were not sent"))

    @monitors.name("no callback raised")
    def test_no_spider_exception(self):
        raised = counts_of(self.stats, "spider_exceptions/")
        self.assertFalse(raised, msg=f"the spider raised {top_reasons(raised)}")


@monitors.name("item count")
class ItemCount(BaseScrapyMonitor):
    """A full run keeps most of the items of the last good run."""

    @monitors.name("no collapse against the last good run")
    def test_item_count(self):
        if self.stats.get("frt/run/mode") == "incremental":
            self.skipTest("an incremental run brings only what is new")
        if self.stats.get("finish_reason") != "finished" or any(self.stats.get(k) for k in UNANSWERED):
            self.skipTest("the run did not complete: the count says nothing more")
        reference = self.stats.get("frt/run/reference_items") or 0
        if not reference:
            self.skipTest("no good run and no snapshot to compare with")
        items = self.stats.get("frt/run/items", 0)
        share = self.crawler.settings.getfloat("FRT_SNAPSHOT_MIN_SHARE")
        self.assertGreaterEqual(items, share * reference, msg=(
            f"only {items} items against {reference} in the last good run (below {share:.0%})"))


@monitors.name("validation errors")
class ValidationErrors(BaseScrapyMonitor):
    """Few items are refused by validation."""

    @monitors.name("refused items stay under the limit")
    def test_dropped_share(self):
        dropped = counts_of(self.stats, "frt/dropped/")
        seen = self.stats.get("frt/run/seen", 0)
        if seen < self.crawler.settings.getint("FRT_MIN_ITEMS_FOR_SHARES"):
            self.skipTest(f"{seen} items are too few for a share to mean anything")
        limit = self.crawler.settings.getfloat("FRT_MAX_DROPPED_SHARE")
        total = sum(dropped.values())
        self.assertLessEqual(total / seen, limit, msg=(
            f"{total} of {seen} items refused ({total / seen:.0%}, limit {limit:.0%}): "
            f"{top_reasons(dropped)}"))


@monitors.name("field coverage")
class FieldCoverage(FieldCoverageMonitor):
    """spidermon's field coverage rules, judged once a run has enough items to make a share."""

    def test_check_if_field_coverage_rules_are_met(self):
        items = self.stats.get("frt/run/items", 0)
        if items < self.crawler.settings.getint("FRT_MIN_ITEMS_FOR_SHARES"):
            self.skipTest(f"{items} items are too few for a share to mean anything")
        super().test_check_if_field_coverage_rules_are_met()


class RunMonitors(MonitorSuite):
    monitors = [FinishedCleanly, SourceAnswered, ItemCount, ValidationErrors, FieldCoverage]
