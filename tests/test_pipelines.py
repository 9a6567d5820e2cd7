"""Pipelines on good and bad input: dates, places, validation, normalisation, ids, snapshots."""

import itertools
import json

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.clean.dates import UnparseableDate, earliest, parse_date
from pipelines.clean.identify import canonical_url, document_id, event_id, identify, slug
from pipelines.clean.normalise import normalise
from pipelines.clean.places import UnknownPlace, country_code, find_country, locate, region
from pipelines.clean.validate import InvalidRecord, validate
from pipelines.snapshot.store import Snapshot, read_snapshot
from scrapers.items import Deployment, DocumentRef
from scrapers.pipelines import EvidencePipeline
from scrapers.spiders.atlas import AtlasSpider


def record(**fields):
    """A synthetic deployment record, as a spider's item becomes one."""
    base = {"table": "deployments", "source": "example", "source_id": "1",
            "title": "Example Police Department uses face recognition", "summary": None,
            "date": "2019", "country": "US", "region": "IL", "county": None,
            "place": "Springfield", "latitude": None, "longitude": None, "source_url": None,
            "verification": "as_published", "caveat": None, "id": None, "merged_ids": [],
            "documents": [{"url": "https://example.org/a?utm_source=x#top", "publisher": "Example News",
                           "published": "3/5/2019", "role": "coverage"}],
            "operator": "Example Police Department", "vendors": ["dataworks-plus"],
            "system": None, "sector": "policing", "mode": "unknown", "status": "unknown",
            "end_date": None}
    base.update(fields)
    return base


@pytest.mark.parametrize("text, expected", [
    ("12/27/2012", ("2012-12-27", "day")),
    ("2016", ("2016", "year")),
    ("2017/2018", ("2017/2018", "range")),
    ("2018/2017", ("2017/2018", "range")),
    ("October 16th, 2019", ("2019-10-16", "day")),
    ("March, 2018", ("2018-03", "month")),
    ("2020-09", ("2020-09", "month")),
    ("27 de julio de 2019", ("2019-07-27", "day")),
    ("  ", None),
    (None, None),
    # written in figures only, as the Atlas's cells are: read by their shape
    ("04/2019", ("2019-04", "month")),
    ("01/17,2019", ("2019-01-17", "day")),
    ("02/18/ 2020", ("2020-02-18", "day")),
    ("07-11-2019", ("2019-07-11", "day")),
    ("2016-17", ("2016/2017", "range")),  # a year and the next
    ("2010/11", ("2010/2011", "range")),
    ("2011-12", ("2011-12", "month")),  # ISO 8601's month first
    ("43655", ("2019-07-09", "day")),  # a spreadsheet's day number: days since 1899-12-30
    ("43553", ("2019-03-29", "day")),
    ("21, 2019", ("2019", "year")),  # no month: only the year is known, no day is made up
])
def test_dates_keep_their_precision(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["see link", "n/a", "13/45/2019", "2/30/2020", "0999", "10/4"])
def test_text_that_is_no_date_is_refused(text):
    for _ in range(2):  # the second answer comes from the cache
        with pytest.raises(UnparseableDate, match="0999|see link|n/a|13/45|2/30|10/4"):
            parse_date(text)


def test_earliest_skips_non_dates():
    assert earliest(["9/24/2020", "see link", "2016", ""]) == "2016"
    assert earliest(["see link"]) is None


def test_places_offline():
    assert country_code("United Kingdom") == "GB" and country_code("eu") == "EU"
    assert region("US", "MI") == ("US-MI", "Michigan") == region("US", "michigan")
    with pytest.raises(UnknownPlace):
        country_code("Atlantis")
    with pytest.raises(UnknownPlace):
        region("US", "ZZ")
    detroit = locate("US", "Michigan", None, "Detroit")
    assert (round(detroit.latitude, 1), round(detroit.longitude, 1), detroit.precision) == (
        42.3, -83.0, "place")
    assert locate("US", "Louisiana", "Jefferson Parish", None).precision == "county"
    assert locate("US", "Michigan", "Wayne County, Oakland County", None).precision == "county"
    assert locate("US", "Michigan").precision == "region"
    assert locate(None) is None


def test_find_country_in_prose():
    assert find_country("False Arrest of Georgia Man Due to Louisiana Police") == ("US", "Louisiana")
    assert find_country("Indian Police Allegedly Tortured Innocent Man") == ("IN", None)
    assert find_country("A sale at the shop") is None  # "Sale" the city needs its capital


@pytest.mark.parametrize("fields, field", [
    ({"title": ""}, "title"),
    ({"source_id": None}, "source_id"),
    ({"sector": "spaceport"}, "sector"),
    ({"mode": "LIVE"}, "mode"),
    ({"table": "meetings"}, "table"),
    ({"verification": "partly"}, "caveat"),
    ({"latitude": 123.0}, "latitude"),
    ({"documents": "https://example.org"}, "documents"),
    ({"documents": [{"url": None}]}, "documents.url"),
    ({"documents": [{"url": "https://example.org", "role": "gossip"}]}, "documents.role"),
    ({"id": "Dep Example 1"}, "id"),
    ({"id": "legal-example-1"}, "id"),
])
def test_validation_names_the_bad_field_and_value(fields, field):
    with pytest.raises(InvalidRecord) as error:
        validate(record(**fields))
    assert error.value.field == field
    assert repr(error.value.value)[:20] in str(error.value)


def test_legal_action_needs_kind_and_status():
    legal = record(table="legal_actions", kind="fine", status="decided")
    for field in ("sector", "mode", "operator", "vendors", "end_date"):
        legal.pop(field)
    assert validate(legal) is legal
    with pytest.raises(InvalidRecord, match="kind"):
        validate(dict(legal, kind="strongly worded letter"))


def test_normalise_tidies_and_reports_what_it_dropped():
    result, problems = normalise(record(date="soon", region="Atlantis", title="  Example \n PD  ",
                                        documents=[{"url": "County of Placer"},
                                                   {"url": "https://example.org/b", "published": "2019"}]))
    assert result["title"] == "Example PD"
    assert result["date"] is None and result["region"] is None
    assert result["vendors"] == ["DataWorks Plus"]
    assert [d["url"] for d in result["documents"]] == ["https://example.org/b"]
    assert [p.split(":")[0] for p in problems] == ["unparseable_date", "unknown_region", "bad_document_url"]
    assert result["geo_precision"] == "place"  # Springfield is found without its region


def test_a_date_is_the_events_unless_the_record_says_otherwise():
    assert normalise(record())[0]["date_basis"] == "event"
    assert normalise(record(date_basis="earliest_report"))[0]["date_basis"] == "earliest_report"
    assert normalise(record(date=None))[0].get("date_basis") is None  # no date, nothing to say of it
    with pytest.raises(InvalidRecord) as error:
        validate(record(date_basis="when we heard of it"))
    assert error.value.field == "date_basis"


def test_normalise_reads_blank_text_as_none_and_a_number_date_as_text():
    result, problems = normalise(record(summary=" \n\t ", caveat="", date=2019, end_date=None))
    assert (result["summary"], result["caveat"]) == (None, None)
    assert (result["date"], result["date_precision"]) == ("2019", "year")
    assert (result["end_date"], result["end_date_precision"]) == (None, None)
    assert problems == []


@pytest.mark.parametrize("fields, reason", [
    ({"country": "Atlantis"}, "country"),
    ({"title": " "}, "title"),
    ({"summary": "Example \ud800"}, "json"),  # a lone surrogate: no UTF-8 for it
])
def test_the_crawl_pipeline_drops_a_refused_item_and_counts_why(tmp_path, fields, reason):
    crawler = get_crawler(AtlasSpider, {"FRT_ITEMS_DIR": str(tmp_path), "FRT_RUN_DATE": "2026-01-01"})
    crawler.spider = AtlasSpider.from_crawler(crawler)
    pipeline = EvidencePipeline.from_crawler(crawler)
    pipeline.open_spider()
    good = {"source": "example", "source_id": "1", "title": "Example Police use face recognition",
            "country": "US", "documents": [DocumentRef(url="https://example.org/a")]}
    pipeline.process_item(Deployment(**good))
    with pytest.raises(DropItem, match="^example 2: "):
        pipeline.process_item(Deployment(**{**good, "source_id": "2", **fields}))
    assert crawler.stats.get_value(f"frt/dropped/{reason}") == 1
    assert pipeline.records.added == 1


def test_unknown_country_refuses_the_record():
    with pytest.raises(InvalidRecord, match="country"):
        normalise(record(country="Atlantis"))


def test_ids_are_stable_and_name_no_person():
    assert event_id("wrongful_arrests", "aiid", "74") == "arrest-aiid-74"
    assert event_id("deployments", "atlas", "AOS0137") == "dep-atlas-aos0137"
    assert slug("Sheriff's Office, São Paulo") == "sheriffs-office-sao-paulo"
    assert canonical_url("http://WWW.Example.org/a/?utm_source=x&b=2&a=1#top") == \
        "https://example.org/a?a=1&b=2"
    assert document_id("https://example.org/a") == document_id("http://www.example.org/a/#x")
    identified = identify(normalise(record())[0])
    assert identified["id"] == "dep-example-1"
    assert identified["documents"][0]["id"] == document_id("https://example.org/a")


@pytest.mark.parametrize("url, canonical", [
    ("http://www.example.org/a/", "https://example.org/a"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org:8080/x//", "https://example.org:8080/x"),
    ("http://www.//example.org", "https://example.org"),
    ("https://example.org/é/ a", "https://example.org/é/ a"),
    ("https://example.org/a?utm_source=x", "https://example.org/a"),
])
def test_canonical_urls_plain_or_not(url, canonical):
    assert canonical_url(url) == canonical


def _identified(**fields):
    return identify(normalise(record(**fields))[0])


def _committed(path, run_date, *records, **options):
    snapshot = Snapshot(path, run_date, **options)
    for one in records:
        snapshot.add(one)
    return snapshot.commit(run_ok=True)


def test_snapshot_keeps_first_seen_and_marks_rows_no_longer_listed(tmp_path):
    path = tmp_path / "example.jsonl"
    assert _committed(path, "2026-01-01", _identified(source_id="1"), _identified(source_id="2")).replaced
    result = _committed(path, "2026-02-01", _identified(source_id="1", summary="changed"),
                        _identified(source_id="3"), last_listed="2026-01-01")
    assert result.replaced
    assert (result.counts["changed"], result.counts["new"], result.counts["gone"]) == (1, 1, 1)
    rows = read_snapshot(path)
    assert list(rows) == sorted(rows)
    assert [(r["first_seen"], r["listed"], r.get("last_seen")) for r in rows.values()] == [
        ("2026-01-01", True, None), ("2026-01-01", False, "2026-01-01"), ("2026-02-01", True, None)]
    assert list(result.changes) == [
        {"id": "dep-example-1", "table": "deployments", "change": "changed",
         "diff": {"summary": [None, "changed"]}},
        {"id": "dep-example-2", "table": "deployments", "change": "gone", "diff": None},
        {"id": "dep-example-3", "table": "deployments", "change": "added", "diff": None},
    ]
    result = _committed(path, "2026-03-01", _identified(source_id="2"),
                        _identified(source_id="1", summary="changed"), _identified(source_id="3"),
                        last_listed="2026-02-01")
    assert list(result.changes) == [
        {"id": "dep-example-2", "table": "deployments", "change": "restored", "diff": None}]
    restored = read_snapshot(path)["dep-example-2"]
    assert (restored["listed"], restored.get("last_seen"), restored["first_seen"]) == (
        True, None, "2026-01-01")


def test_records_seen_again_leave_the_snapshot_byte_for_byte(tmp_path):
    path = tmp_path / "example.jsonl"
    _committed(path, "2026-01-01", *(_identified(source_id=str(n)) for n in range(3)))
    before = path.read_bytes()
    result = _committed(path, "2026-01-02", *(_identified(source_id=str(n)) for n in (2, 0, 1)),
                        last_listed="2026-01-01")
    assert path.read_bytes() == before
    assert result.counts["unchanged"] == 3 and list(result.changes) == []


def test_an_incremental_run_adds_and_never_marks_gone(tmp_path):
    path = tmp_path / "example.jsonl"
    _committed(path, "2026-01-01", _identified(source_id="1"), _identified(source_id="2"))
    result = _committed(path, "2026-01-02", _identified(source_id="3"), incremental=True,
                        last_listed="2026-01-01")
    assert result.counts["gone"] == 0
    assert [c["change"] for c in result.changes] == ["added"]
    rows = read_snapshot(path)
    assert sorted(rows) == ["dep-example-1", "dep-example-2", "dep-example-3"]
    assert all(row["listed"] and "last_seen" not in row for row in rows.values())


def test_a_failed_run_keeps_the_snapshot_and_says_why(tmp_path):
    path = tmp_path / "example.jsonl"
    _committed(path, "2026-01-01", *(_identified(source_id=str(n)) for n in range(10)))
    before = path.read_bytes()
    failed = Snapshot(path, "2026-01-03")
    assert failed.listed_before == 10
    for n in range(3):
        failed.add(_identified(source_id=str(n), summary="changed"))
    result = failed.commit(run_ok=False, reason="only 3 items against 10 in the last good run")
    assert not result.replaced and result.reason == "only 3 items against 10 in the last good run"
    assert list(result.changes) == []
    assert path.read_bytes() == before
    rejected = [json.loads(line) for line in (tmp_path / "example.rejected.jsonl").read_text().splitlines()]
    assert [(r["id"], r["summary"]) for r in rejected] == [
        ("dep-example-0", "changed"), ("dep-example-1", "changed"), ("dep-example-2", "changed")]


def test_a_snapshot_out_of_id_order_is_not_merged_into(tmp_path):
    path = tmp_path / "example.jsonl"
    _committed(path, "2026-01-01", _identified(source_id="1"), _identified(source_id="2"))
    path.write_text("".join(reversed(path.read_text().splitlines(keepends=True))))
    with pytest.raises(ValueError, match="example.jsonl is not sorted by id: dep-example-1 comes after "
                                         "dep-example-2"):
        _committed(path, "2026-01-02", _identified(source_id="1"))


def test_repeated_source_id_never_duplicates(tmp_path):
    result = _committed(tmp_path / "example.jsonl", "2026-01-01", _identified(source_id="7"),
                        _identified(source_id="7"), _identified(source_id="7", operator="Example Sheriff"))
    assert (result.counts["new"], result.counts["duplicate"], result.counts["renamed"]) == (2, 1, 1)
    ids = [json.loads(line)["id"] for line in (tmp_path / "example.jsonl").read_text().splitlines()]
    assert len(ids) == 2 and ids[0] == "dep-example-7" and ids[1].startswith("dep-example-7-")


def test_same_items_give_the_same_bytes(tmp_path):
    for name in ("a", "b"):
        _committed(tmp_path / f"{name}.jsonl", "2026-01-01",
                   *(_identified(source_id=str(n)) for n in (3, 1, 2)))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_a_run_of_more_than_a_batch_keeps_duplicates_apart(tmp_path):
    result = _committed(tmp_path / "example.jsonl", "2026-01-01",
                        *(_identified(source_id=str(n % 1200)) for n in range(2500)))
    assert (result.counts["new"], result.counts["duplicate"], result.counts["items"]) == (1200, 1300, 1200)


SHARED_ID_RUN = [  # in source order: two records of one id differ, a third repeats the first
    ("https://example.org/a", 0, {"source_id": "7", "summary": "Example"}),
    ("https://example.org/a", 1, {"source_id": "7", "summary": "Example", "operator": "Example Sheriff"}),
    ("https://example.org/b", 0, {"source_id": "7", "summary": "Example"}),
    ("https://example.org/b", 1, {"source_id": "8", "summary": None}),
]


def _shared_id_run(path, order) -> tuple[bytes, dict, dict]:
    snapshot = Snapshot(path, "2026-01-01", coverage=("operator", "summary"))
    for index in order:
        url, rank, fields = SHARED_ID_RUN[index]
        snapshot.add(_identified(**fields), (url, "GET", "", rank))
    coverage = snapshot.coverage()
    result = snapshot.commit(run_ok=True)
    return path.read_bytes(), result.counts, coverage


@pytest.mark.parametrize("order", sorted(set(itertools.permutations(range(len(SHARED_ID_RUN))))))
def test_records_sharing_an_id_are_settled_in_source_order_whatever_order_they_came_in(tmp_path, order):
    in_order = _shared_id_run(tmp_path / "in-order.jsonl", range(len(SHARED_ID_RUN)))
    lines, counts, coverage = in_order
    ids = [json.loads(line)["id"] for line in lines.decode().splitlines()]
    assert ids[0] == "dep-example-7" and ids[1].startswith("dep-example-7-") and ids[2] == "dep-example-8"
    assert read_snapshot(tmp_path / "in-order.jsonl")["dep-example-7"]["operator"] != "Example Sheriff"
    assert (counts["new"], counts["renamed"], counts["duplicate"], counts["items"]) == (3, 1, 1, 3)
    assert coverage == {"operator": 1.0, "summary": pytest.approx(2 / 3)}
    assert _shared_id_run(tmp_path / "arrived.jsonl", order) == in_order


LAST_NIGHT = [  # in source order, against a snapshot listing 7 and no longer listing 9
    ("https://example.org/a", 0, {"source_id": "7", "summary": "Now"}),
    ("https://example.org/a", 1, {"source_id": "7", "operator": "Example Sheriff"}),
    ("https://example.org/a", 2, {"source_id": "9"}),
    ("https://example.org/a", 3, {"source_id": "9", "operator": "Example Sheriff"}),
]


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 0, 3, 2), (3, 2, 1, 0)])
def test_a_settled_id_is_counted_against_the_last_snapshot(tmp_path, order):
    """An id whose records came out of source order is counted changed, restored or renamed as a
    run in source order counts it."""
    results = []
    for arrival in (range(len(LAST_NIGHT)), order):
        path = tmp_path / f"{len(results)}.jsonl"
        _committed(path, "2026-01-01", _identified(source_id="7"), _identified(source_id="9"))
        _committed(path, "2026-01-02", _identified(source_id="7"), last_listed="2026-01-01")  # 9 goes
        third = Snapshot(path, "2026-01-03", last_listed="2026-01-02")
        for index in arrival:
            url, rank, fields = LAST_NIGHT[index]
            third.add(_identified(**fields), (url, "GET", "", rank))
        result = third.commit(run_ok=True)
        results.append((path.read_bytes(), result.counts, list(result.changes)))
    counts = results[0][1]
    assert (counts["changed"], counts["restored"], counts["new"], counts["renamed"]) == (1, 1, 2, 2)
    assert results[1] == results[0]
