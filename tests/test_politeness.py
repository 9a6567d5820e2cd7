"""What a source sees of our crawlers: a User-Agent that names the project and how to reach it,
and no request for a path its robots.txt disallows, whatever the spider was asked to fetch. A
source that disallows us is a run that ends with a reason; the rows already known stay."""

import shutil

import pytest
from conftest import CAPTURES, REPO, crawl

from nightly.loopback import CRAWL_SETTINGS, CaptureServer
from pipelines.snapshot.runlog import read_runs

SPIDERS = {"atlas": "atlas/download.csv", "aiid": "aiid/incidents.csv"}


@pytest.mark.parametrize("known", [True, False], ids=["rows-known", "first-run"])
@pytest.mark.parametrize("spider", sorted(SPIDERS))
def test_a_path_robots_txt_disallows_is_never_fetched_and_the_run_fails(spider, known, tmp_path):
    items = tmp_path / "items"
    items.mkdir()
    if known:
        shutil.copy(REPO / "data" / "items" / f"{spider}.jsonl", items)
    before = (items / f"{spider}.jsonl").read_bytes() if known else None
    robots = tmp_path / "robots.txt"
    robots.write_text(f"User-agent: *\nDisallow: /{SPIDERS[spider].split('/')[0]}/\n")
    with CaptureServer(CAPTURES) as server:
        server.replace("robots.txt", robots)
        code, stats, log = crawl(spider, items, f"start_url={server.url(SPIDERS[spider])}",
                                 settings=CRAWL_SETTINGS)
        requested = [entry.path for entry in server.requests()]
    assert requested == ["/robots.txt"], log
    assert stats.get("robotstxt/forbidden", 0) >= 1, log
    run = read_runs(items / "runs", spider)[-1]
    assert run["status"] == "failed" and run["snapshot"] == "kept", run
    assert "robots.txt disallows 1 request(s)" in run["error"], run
    if known:
        assert (items / f"{spider}.jsonl").read_bytes() == before
    else:
        assert not (items / f"{spider}.jsonl").exists()


def test_every_request_names_the_project_and_its_contact(tmp_path):
    with CaptureServer(CAPTURES) as server:
        code, _, log = crawl("atlas", tmp_path / "items", f"start_url={server.url(SPIDERS['atlas'])}",
                             settings=CRAWL_SETTINGS,
                             env={"FRT_CONTACT_URL": "https://example.org/frt-evidence-contact"})
        agents = {entry.headers.get("User-Agent") for entry in server.requests()}
    assert code == 0, log
    assert agents == {"FRT-Evidence/0.1 (facial recognition evidence base; "
                      "+https://example.org/frt-evidence-contact)"}
