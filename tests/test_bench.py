"""The benchmark: its generated data is shaped like the real sources, obviously synthetic and read
by the real spiders; and `make bench` at a tiny scale crawls, builds and times a whole night
without writing into data/."""

import csv
import json

import pytest
from conftest import REPO, file_response, make_spider

from bench import run, site
from bench.generate import AIID_HEADER, ATLAS_HEADER, change_rows, write_aiid_capture, write_atlas_csv
from bench.profile import load_profile
from pipelines.classify import classify
from scrapers.items import LegalAction, WrongfulArrest
from scrapers.spiders.aiid import AiidSpider
from scrapers.spiders.atlas import AtlasSpider


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def test_the_profile_is_measured_from_real_rows(profile):
    summary = profile.summary()
    assert summary["atlas_rows_measured"] >= 15 and summary["aiid_incidents_measured"] >= 15
    assert summary["aiid_face_recognition_incidents_measured"] >= 10
    assert 10 <= summary["median_summary_words"] <= 60
    assert 0 < summary["url_reuse"] < 1
    assert 0 < summary["policing_share"] < 1 and 0 < summary["duplicate_share"] < 1
    assert "US" in summary["countries"]
    assert "Idemia" in profile.vendors.values or "DataWorks Plus" in profile.vendors.values


def csv_rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def about_faces(rows: list[dict]) -> list[dict]:
    """The generated incidents the aiid spider's classifier takes as face recognition."""
    return [r for r in rows if classify({"title": r["title"], "text": r["description"]}, names=False)["frt"]]


def test_generated_atlas_rows_are_synthetic_and_parse(tmp_path, profile):
    path = write_atlas_csv(tmp_path / "download.csv", 300, profile)
    rows = csv_rows(path)
    assert list(rows[0]) == ATLAS_HEADER and len(rows) == 300
    assert all(r["Agency"].startswith("Example ") and r["Summary"].startswith("Synthetic benchmark row")
               for r in rows)
    assert all(r[f"Link {n}"].startswith("https://example.org/") for r in rows for n in (1, 2, 3)
               if r[f"Link {n}"])
    items = list(make_spider(AtlasSpider).parse(file_response(path)))
    assert len(items) == 300 and items[0].source_id == "AOS0000000"
    assert write_atlas_csv(tmp_path / "again.csv", 300, profile).read_bytes() == path.read_bytes()
    assert change_rows(path, tmp_path / "night.csv", 0.1) in range(15, 50)


def test_a_generated_aiid_capture_is_read_by_the_aiid_spider(tmp_path, profile):
    path = write_aiid_capture(tmp_path / "aiid", 400, profile)
    rows = csv_rows(path)
    assert list(rows[0]) == AIID_HEADER and len(rows) == 400
    assert all(r["title"].startswith("Synthetic incident 9") and r["_id"].startswith("ObjectId(")
               for r in rows)
    assert all(s.startswith("example-") for r in rows for s in json.loads(r["Alleged deployer of AI system"]))
    spider = make_spider(AiidSpider)
    duplicates = spider.read_duplicates((path.parent / "duplicates.csv").read_text(encoding="utf-8"))
    items = list(spider.incidents_from_csv(path.read_text(encoding="utf-8"), duplicates))
    # the incidents its classifier takes (random words drawn from real text deny some: "not", "unlocking");
    # no duplicate is among them
    assert len(items) == len(about_faces(rows)) >= 0.95 * len(rows)
    assert {type(i) for i in items} >= {WrongfulArrest, LegalAction}
    assert sum(bool(i.country) for i in items) / len(items) >= 0.5  # the spider's coverage rule
    assert sum(len(i.merged_ids) for i in items) == len(duplicates) > 0
    assert write_aiid_capture(tmp_path / "again", 400, profile).read_bytes() == path.read_bytes()


def test_the_bench_at_a_tiny_scale(tmp_path, monkeypatch):
    data_before = {p: p.stat().st_mtime_ns for p in (REPO / "data").rglob("*")}
    monkeypatch.setattr(site, "measure", lambda *args, **kwargs: {})  # the site has its own servers
    results = run.run(200, 1, tmp_path / "bench", compare_with=REPO)

    failed = {name: step["failed"] for name, step in (*results["spider"].items(), *results["build"].items())
              if isinstance(step, dict) and "failed" in step}
    assert not failed
    spider, build, night = results["spider"], results["build"], results["night"]
    assert spider["pipelines"]["items"] == spider["noop"]["items"] == 200
    capture = csv_rows(tmp_path / "bench" / "aiid" / "incidents.csv")
    assert spider["aiid"]["items"] == len(about_faces(capture)) >= 18
    assert spider["aiid"]["snapshot"] == "replaced"
    assert night["atlas"]["snapshot"] == night["aiid"]["snapshot"] == "replaced" and "failed" not in night
    assert night["seconds"] >= sum(night[s]["wall_s"] for s in ("atlas", "aiid", "build"))
    assert build["full"]["counts"]["deployments"] >= 200 and build["storage_baseline"]["rows"] > 0
    assert build["compared"]["counts"] == build["full"]["counts"]
    assert build["compared"]["code"] == str(REPO)
    compared = (tmp_path / "bench" / "compared" / "items" / "atlas.jsonl").read_text().splitlines()
    assert all(json.loads(line)["last_seen"] == run.FIRST_NIGHT for line in compared)
    table = run.pipeline_rows(results)
    assert all(measured is not None for _, measured, *_ in table)
    assert any(figure.startswith("the whole night offline") for figure, *_ in table)
    assert "| full build (s) vs executemany + FTS rebuild |" in run.table(results)
    assert {p: p.stat().st_mtime_ns for p in (REPO / "data").rglob("*")} == data_before
