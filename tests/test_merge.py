"""Clusters and merges on synthetic rows: people's decisions win, the oldest id survives, fields
combine as README says, and no document is lost."""

import pytest

from pipelines.match.clusters import Decision, DecisionError, cluster, read_decisions
from pipelines.match.matching import Matcher
from pipelines.match.merge import Ages, Merger, natural_key

REPEATING = frozenset({"example-incidents"})


def arrest(record_id, source, **fields):
    """A synthetic wrongful-arrest record as the build reads it."""
    base = {"id": record_id, "table": "wrongful_arrests", "source": source, "source_id": record_id,
            "title": f"Synthetic arrest {record_id}", "summary": None, "date": "2021-03-04",
            "date_precision": "day", "country": "US", "region": "Illinois", "region_code": "US-IL",
            "county": None, "place": "Springfield", "latitude": 39.8, "longitude": -89.6,
            "geo_precision": "place", "person": "Alex Example", "agency": "Example Police Department",
            "vendors": [], "charges": None, "verification": "as_published", "caveat": None,
            "source_url": None, "first_seen": "2026-01-01", "last_seen": "2026-01-01", "listed": True,
            "merged_ids": [],
            "documents": [{"id": f"doc-{record_id}", "url": f"https://example.org/{record_id}",
                           "role": "coverage"}]}
    base.update(fields)
    return base


def run(records, decisions=(), registered=None, build_day="2026-02-01"):
    matches = Matcher(records, REPEATING).matches()
    clusters, candidates = cluster(records, matches, list(decisions), REPEATING, {})
    merger = Merger(clusters, Ages(registered or {}, build_day))
    by_id = {r["id"]: r for r in records}
    joined = {i for group in clusters.joined() for i in group}
    merged, aliases = {}, {}
    for group in clusters.joined() + [[i] for i in by_id if i not in joined]:
        record, retired, _ = merger.group([by_id[i] for i in group])
        merged[record["id"]] = record
        aliases.update((a["alias"], a) for a in retired)
    return dict(sorted(merged.items())), aliases, candidates


def decision(left, right, verdict):
    return Decision(left, right, verdict, "A. Reviewer", "2026-01-15")


def test_natural_order_of_ids():
    assert sorted(["arrest-aiid-440", "arrest-aiid-74", "arrest-aiid-1000"], key=natural_key) == [
        "arrest-aiid-74", "arrest-aiid-440", "arrest-aiid-1000"]


def test_the_oldest_published_id_survives_and_the_others_become_aliases():
    records = [arrest("arrest-example-incidents-9", "example-incidents"),
               arrest("arrest-example-incidents-10", "example-incidents"),
               arrest("arrest-us-example-2021", "curated", first_seen=None, last_seen=None)]
    registered = {"arrest-example-incidents-10": "2025-06-01", "arrest-example-incidents-9": "2025-07-01",
                  "arrest-us-example-2021": "2025-08-01"}
    merged, aliases, _ = run(records, registered=registered)
    assert list(merged) == ["arrest-example-incidents-10"]
    assert aliases["arrest-example-incidents-9"]["id"] == "arrest-example-incidents-10"
    assert aliases["arrest-us-example-2021"]["since"] == "2025-08-01"  # the day both were published
    assert "score 1.00" in aliases["arrest-us-example-2021"]["reason"]


def test_on_the_same_day_a_curated_id_then_the_lowest_id_survives():
    records = [arrest("arrest-example-incidents-440", "example-incidents"),
               arrest("arrest-example-incidents-74", "example-incidents"),
               arrest("arrest-us-example-2021", "curated", first_seen=None)]
    same_day = {r["id"]: "2026-01-01" for r in records}
    assert list(run(records, registered=same_day)[0]) == ["arrest-us-example-2021"]
    assert list(run(records[:2], registered=same_day)[0]) == ["arrest-example-incidents-74"]


def test_fields_combine_curated_first_then_survivor_and_no_document_is_lost():
    scraped = arrest("arrest-example-incidents-1", "example-incidents", date="2021-03",
                     date_precision="month", charges="theft", vendors=["Clearview AI"],
                     first_seen="2025-01-01", last_seen="2026-01-01", person="Alex J. Example")
    curated = arrest("arrest-us-example-2021", "curated", first_seen=None, last_seen=None, charges=None,
                     verification="checked", vendors=["IDEMIA"], days_detained=3, region=None,
                     region_code=None, place=None, latitude=None, longitude=None, geo_precision=None,
                     documents=[{"id": "doc-shared", "url": "https://example.org/shared"}])
    merged, aliases, _ = run([scraped, curated], registered={"arrest-us-example-2021": "2024-01-01"})
    row = merged["arrest-us-example-2021"]
    assert row["person"] == "Alex Example" and row["verification"] == "checked"  # curated values first
    assert row["charges"] == "theft"                                              # gap filled
    assert (row["date"], row["date_precision"]) == ("2021-03-04", "day")          # one row's pair
    assert (row["region"], row["place"], row["latitude"]) == ("Illinois", "Springfield", 39.8)  # most precise
    assert row["vendors"] == ["IDEMIA", "Clearview AI"]
    assert [d["id"] for d in row["documents"]] == ["doc-shared", "doc-arrest-example-incidents-1"]
    assert (row["first_seen"], row["last_seen"], row["listed"]) == ("2025-01-01", "2026-01-01", True)
    assert row["source"] == "curated"
    assert aliases["arrest-example-incidents-1"]["survivor_table"] == "wrongful_arrests"


def test_a_location_comes_whole_from_one_row_curated_first_when_as_precise():
    scraped = arrest("arrest-example-incidents-1", "example-incidents")
    curated = arrest("arrest-us-example-2021", "curated", region="Indiana", region_code="US-IN",
                     place="Example Town", latitude=40.0, longitude=-86.0, geo_precision="region")
    row = run([scraped, curated])[0]["arrest-us-example-2021"]
    assert (row["region_code"], row["place"], row["latitude"], row["geo_precision"]) == (
        "US-IN", "Example Town", 40.0, "region")


def test_a_decision_different_wins_over_a_perfect_score():
    records = [arrest("arrest-example-incidents-1", "example-incidents"),
               arrest("arrest-example-incidents-2", "example-incidents")]
    merged, aliases, candidates = run(records, [decision("arrest-example-incidents-2",
                                                         "arrest-example-incidents-1", "different")])
    assert sorted(merged) == ["arrest-example-incidents-1", "arrest-example-incidents-2"]
    assert aliases == {} and candidates == []  # decided pairs leave the review table


def test_a_decision_same_joins_rows_no_score_would():
    records = [arrest("arrest-us-example-2020", "curated", person="Alex Example"),
               arrest("arrest-us-example-2021", "curated", person="Sam Sample", date="2023-01-01")]
    merged, aliases, _ = run(records, [decision("arrest-us-example-2020", "arrest-us-example-2021", "same")])
    assert list(merged) == ["arrest-us-example-2020"]
    assert aliases["arrest-us-example-2021"]["reason"].endswith("decided same by A. Reviewer on 2026-01-15")
    assert aliases["arrest-us-example-2021"]["since"] == "2026-01-15"


def test_a_merge_never_puts_two_rows_of_a_source_that_lists_each_event_once_together():
    """An incident that matches two curated rows joins the better one; the other pair is for review."""
    records = [arrest("arrest-example-incidents-1", "example-incidents", date="2021-03-04"),
               arrest("arrest-us-example-2021-a", "curated", date="2021-03-04"),
               arrest("arrest-us-example-2021-b", "curated", date="2021-03-20")]
    merged, aliases, candidates = run(records)
    assert aliases["arrest-example-incidents-1"]["id"] in merged
    assert len(merged) == 2
    refused = [c for c in candidates if c["note"] == "would put two curated rows in one event"]
    assert len(refused) == 1 and refused[0]["right_id"] == "arrest-us-example-2021-b"


def test_contradicting_decisions_stop_the_build():
    records = [arrest(f"arrest-example-incidents-{n}", "example-incidents") for n in (1, 2, 3)]
    contradiction = [decision("arrest-example-incidents-1", "arrest-example-incidents-2", "same"),
                     decision("arrest-example-incidents-2", "arrest-example-incidents-3", "same"),
                     decision("arrest-example-incidents-1", "arrest-example-incidents-3", "different")]
    with pytest.raises(DecisionError, match="contradict"):
        run(records, contradiction)


@pytest.mark.parametrize("line, message", [
    ("a,b,maybe,A. Reviewer,2026-01-15", "decision='maybe' must be same or different"),
    ("a,b,same,,2026-01-15", "who must name a person"),
    ("a,b,same,A. Reviewer,15/01/2026", "when be YYYY-MM-DD"),
    ("a,a,same,A. Reviewer,2026-01-15", "two different ids"),
])
def test_a_bad_decision_line_is_named(tmp_path, line, message):
    path = tmp_path / "decisions.csv"
    path.write_text(f"left_id,right_id,decision,who,when\n{line}\n")
    with pytest.raises(DecisionError, match="decisions.csv line 2") as error:
        read_decisions(path)
    assert message in str(error.value)
