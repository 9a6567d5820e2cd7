"""The Atlas of Surveillance spider on real captures, synthetic edge cases and broken sources, and
what its crawls do to the snapshot night after night."""

import csv
import json
import re
import shutil
from dataclasses import asdict

import pytest
from conftest import CAPTURES, FIXTURES, crawl, file_response, make_spider, shared_file

from pipelines.clean.dates import parse_date
from pipelines.snapshot.runlog import read_changes, read_runs
from scrapers.spiders.atlas import AtlasSpider

FULL_2020 = "atlas_of_surveillance/atlas_download_20201007_full.csv"
ATLAS_CSV = CAPTURES / "atlas" / "download.csv"
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}


def parse(path):
    spider = make_spider(AtlasSpider, start_url=path.as_uri())
    return [asdict(item) for item in spider.parse(file_response(path))]


def test_full_2020_download_parses_every_face_recognition_row():
    items = parse(shared_file(FULL_2020))
    assert len(items) == 369
    assert len({item["source_id"] for item in items}) == 368
    assert items[0] == {
        "source": "atlas", "source_id": "AOS0137",
        "title": "Face recognition used by Detroit Police Department (MI)",
        "summary": "In 2017, the Detroit Police Department signed a contract with DataWorks Plus "
                   "for real-time face recognition. The contract expired in July 2020, however "
                   "DPD is able to continue use the technology without DataWork's assistance.",
        "date": "08/08/2019", "date_basis": "earliest_report", "country": "US", "region": "MI",
        "county": "Wayne County",
        "place": "Detroit", "latitude": None, "longitude": None,
        "source_url": "https://atlasofsurveillance.org/", "verification": "as_published",
        "caveat": None, "id": None, "merged_ids": [],
        "documents": [
            {"url": "https://www.metrotimes.com/news-hits/archives/2020/07/31/even-if-detroits-"
                    "facial-recognition-contract-expires-dpd-can-still-use-the-software-in-perpetuity",
             "title": None, "publisher": "Detroit Metro Times", "published": "7/31/2020",
             "language": None, "archive_url": None, "role": "coverage"},
            {"url": "https://www.muckrock.com/foi/detroit-314/facial-recognition-detroit-mi-76785/"
                    "#file-808358",
             "title": None, "publisher": "MuckRock", "published": "08/08/2019", "language": None,
             "archive_url": None, "role": "coverage"},
            {"url": "https://www.aclu.org/press-releases/aclu-furthers-investigation-scope-facial-"
                    "recognition-activity-michigan",
             "title": None, "publisher": "ACLU", "published": "9/26/2019", "language": None,
             "archive_url": None, "role": "coverage"},
        ],
        "operator": "Detroit Police Department", "vendors": ["DataWorks Plus"], "system": None,
        "sector": "policing", "mode": "unknown", "status": "unknown", "end_date": None,
        "deployers": None, "developers": None,  # the AIID's lists: the Atlas has none
    }
    assert items[-1] == {
        "source": "atlas", "source_id": "AOS5755",
        "title": "Face recognition used by Northern California Regional Intelligence Center (CA)",
        "summary": "The Northern California Regional Intelligence Center, a fusion center, uses "
                   "face recognition technology, often in support of other law enforcement "
                   "entities in the San Francisco Bay Area.",
        "date": "9/24/2020", "date_basis": "earliest_report", "country": "US", "region": "CA",
        "county": "San Francisco County",
        "place": "San Francisco", "latitude": None, "longitude": None,
        "source_url": "https://atlasofsurveillance.org/", "verification": "as_published",
        "caveat": None, "id": None, "merged_ids": [],
        "documents": [
            {"url": "https://www.sfchronicle.com/bayarea/article/Facial-recognition-tech-used-to-"
                    "build-SFPD-gun-15595796.php",
             "title": None, "publisher": "San Francisco Chronicle", "published": "9/24/2020",
             "language": None, "archive_url": None, "role": "coverage"},
        ],
        "operator": "Northern California Regional Intelligence Center", "vendors": [],
        "system": None, "sector": "policing", "mode": "unknown", "status": "unknown",
        "end_date": None, "deployers": None, "developers": None,
    }


def test_day_numbers_in_the_real_download_are_the_days_their_links_name():
    """Five Link N Date cells of the full download hold a spreadsheet's day number ("43655"), none
    of them on a face recognition row; each is the day the linked article's URL names."""
    with shared_file(FULL_2020).open(encoding="utf-8", newline="") as handle:
        cells = {(row["AOSNUMBER"], n): (row[f"Link {n} Date"].strip(), row[f"Link {n}"])
                 for row in csv.DictReader(handle) for n in (1, 2, 3)
                 if re.fullmatch(r"\d{5}", row[f"Link {n} Date"].strip())}
    assert {key: parse_date(text) for key, (text, _) in cells.items()} == {
        ("AOS5572", 1): ("2018-02-15", "day"), ("AOS5572", 2): ("2019-03-25", "day"),
        ("AOS5572", 3): ("2019-03-29", "day"), ("AOS5756", 2): ("2019-07-09", "day"),
        ("AOS5759", 2): ("2018-05-15", "day")}
    days_in_urls = [(parse_date(text)[0], "-".join(day.groups())) for text, url in cells.values()
                    if (day := re.search(r"/(20\d\d)/(\d\d)/(\d\d)/", url))]
    assert len(days_in_urls) == 2 and all(ours == theirs for ours, theirs in days_in_urls)


def test_vendor_lists_and_sectors_in_the_real_download():
    items = {item["source_id"]: item for item in parse(shared_file(FULL_2020))}
    vendors = {tuple(item["vendors"]) for item in items.values()}
    assert ("Idemia", "Dataworks Plus") in vendors
    assert ("Vigilant Solutions", "Dataworks") in vendors
    sectors = {item["sector"] for item in items.values()}
    assert sectors == {"policing", "government", "border", "education"}


def test_2025_edition_header_parses_by_name():
    items = parse(shared_file("atlas_of_surveillance/atlas_2025_header_sample_polars_rewritten.csv"))
    assert items == []  # its four real rows are other technologies: the filter holds


def test_full_download_through_the_engine_gives_368_deployments(tmp_path):
    code, stats, log = crawl("atlas", tmp_path, f"start_url={shared_file(FULL_2020).as_uri()}")
    assert code == 0, log
    records = [json.loads(line) for line in (tmp_path / "atlas.jsonl").read_text().splitlines()]
    assert len(records) == 368
    assert stats["frt/run/duplicate"] == 1  # AOS5547 is listed twice, identically
    assert stats["frt/problems/bad_document_url"] == 1  # AOS0163 gives "County of Placer" as a link
    detroit = next(r for r in records if r["id"] == "dep-atlas-aos0137")
    assert (detroit["region"], detroit["region_code"], detroit["geo_precision"]) == (
        "Michigan", "US-MI", "place")
    assert detroit["date"] == "2019-08-08" and detroit["date_precision"] == "day"
    assert [d["id"] for d in detroit["documents"]] == [
        "doc-b172675834ce", "doc-a999940ce4b9", "doc-97bc41a8dab9"]


def test_synthetic_edge_cases_through_the_engine(tmp_path):
    code, stats, log = crawl("atlas", tmp_path, f"start_url={(FIXTURES / 'atlas_synthetic.csv').as_uri()}")
    assert code == 0, log
    records = {json.loads(line)["id"]: json.loads(line)
               for line in (tmp_path / "atlas.jsonl").read_text().splitlines()}
    assert sorted(records) == ["dep-atlas-aos9001", "dep-atlas-aos9002"]
    good = records["dep-atlas-aos9001"]
    assert good["vendors"] == ["DataWorks Plus"]
    assert [d["published"] for d in good["documents"]] == ["2017/2018", "2016-03-05"]
    assert good["date"] == "2016-03-05"
    odd = records["dep-atlas-aos9002"]
    assert odd["region"] is None and odd["documents"] == [] and odd["geo_precision"] == "country"
    assert stats["frt/dropped/source_id"] == 1
    assert stats["frt/problems/unknown_region"] == 1
    assert "source_id=''" in log and "Example Transit Police" not in (tmp_path / "atlas.jsonl").read_text()


@pytest.mark.parametrize("fixture, reason, message", [
    ("atlas_error_page.html", "not_csv", "is not the Atlas CSV (starts '<!DOCTYPE html>"),
    ("atlas_renamed_columns.csv", "columns_changed", "lacks columns ['Agency']"),
])
def test_a_broken_source_keeps_the_last_good_snapshot(tmp_path, fixture, reason, message):
    shutil.copy(FIXTURES / "snapshot_atlas_previous.jsonl", tmp_path / "atlas.jsonl")
    before = (tmp_path / "atlas.jsonl").read_bytes()
    code, stats, log = crawl("atlas", tmp_path, f"start_url={(FIXTURES / fixture).as_uri()}")
    assert code == 0
    assert stats["finish_reason"] == reason
    assert stats[f"frt/source_error/{reason}"] == 1
    assert stats["frt/snapshot_replaced"] == 0
    assert (tmp_path / "atlas.jsonl").read_bytes() == before
    assert f"monitor finished cleanly failed: file://{FIXTURES / fixture} {message}" in log


def test_demo_capture_gives_its_rows():
    items = parse(CAPTURES / "atlas" / "download.csv")
    assert len(items) == 369  # every FR row of the 2020 download: 368 agencies, AOS5547 twice as in it
    assert [item["source_id"] for item in items][:3] == ["AOS0137", "AOS0142", "AOS0163"]
    nypd = next(item for item in items if item["source_id"] == "AOS3197")
    assert nypd["vendors"] == ["Idemia", "Dataworks Plus"]
    repeated = [item for item in items if item["source_id"] == "AOS5547"]
    assert len(repeated) == 2 and repeated[0] == repeated[1]


def test_current_edition_capture_parses_by_header_name():
    items = parse(CAPTURES / "atlas" / "download_2025.csv")
    assert [item["source_id"] for item in items] == ["AOS0137", "AOS1092", "AOS3197"]
    assert items[0]["operator"] == "Detroit Police Department"
    assert items[0]["documents"][0]["publisher"] == "Detroit Metro Times"


def _crawl_atlas(items, csv_path, run_date) -> dict:
    code, _, log = crawl("atlas", items, f"start_url={csv_path.as_uri()}",
                         settings={**FAST, "FRT_RUN_DATE": run_date})
    assert code == 0, log
    return read_runs(items / "runs", "atlas")[-1]


def test_a_crawl_that_sees_the_same_records_again_leaves_the_snapshot_as_it_was(tmp_path):
    items = tmp_path / "items"
    first = _crawl_atlas(items, ATLAS_CSV, "2026-11-21")
    before = (items / "atlas.jsonl").read_bytes()
    second = _crawl_atlas(items, ATLAS_CSV, "2026-11-22")
    assert (items / "atlas.jsonl").read_bytes() == before
    assert [(r["run_date"], r["snapshot"], r["new"], r["unchanged"]) for r in (first, second)] == [
        ("2026-11-21", "replaced", 368, 0), ("2026-11-22", "replaced", 0, 368)]
    assert [c for c in read_changes(items / "runs") if c["run"] == second["run"]] == []
    lines = [json.loads(line) for line in before.splitlines()]
    assert {(r["first_seen"], r["listed"], r.get("last_seen")) for r in lines} == {("2026-11-21", True, None)}


def test_a_record_the_source_stops_listing_keeps_the_date_it_was_last_listed(tmp_path):
    items, shorter = tmp_path / "items", tmp_path / "download.csv"
    with ATLAS_CSV.open(encoding="utf-8", newline="") as source, shorter.open("w", newline="") as target:
        rows = csv.reader(source)
        csv.writer(target, quoting=csv.QUOTE_ALL).writerows(row for row in rows if row[0] != "AOS0137")
    _crawl_atlas(items, ATLAS_CSV, "2026-11-21")
    before = (items / "atlas.jsonl").read_bytes().splitlines()
    gone = _crawl_atlas(items, shorter, "2026-11-22")
    after = (items / "atlas.jsonl").read_bytes().splitlines()
    [(old, new)] = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert json.loads(new) == {**json.loads(old), "listed": False, "last_seen": "2026-11-21"}
    restored = _crawl_atlas(items, ATLAS_CSV, "2026-11-23")
    assert (items / "atlas.jsonl").read_bytes().splitlines() == before
    changes = [(c["run"], c["id"], c["change"]) for c in read_changes(items / "runs")]
    assert changes[368:] == [(gone["run"], "dep-atlas-aos0137", "gone"),
                             (restored["run"], "dep-atlas-aos0137", "restored")]
    assert (gone["gone"], gone["unchanged"], restored["restored"], restored["unchanged"]) == (1, 367, 1, 367)
