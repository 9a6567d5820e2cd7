"""The staging process: what a crawl hands it gives the snapshot staging in-process gives, its
problems come back to the crawl, and a failure there is an error here, not a hang."""

import pytest

from pipelines.identify import identify
from pipelines.normalise import normalise
from pipelines.staging import BATCH, StagingProcess
from pipelines.store import Snapshot
from tests.test_pipelines import record


def _records(n: int) -> list[dict]:
    """Synthetic records; every tenth has a date no parser reads, one a region the US lacks."""
    records = [record(source_id=str(k), date="someday" if k % 10 == 0 else "2019",
                      region="Atlantis" if k == 7 else "IL") for k in range(n)]
    records.append(record(source_id="3"))  # the id of record 3 again: settled in source order
    return records


def test_staging_in_a_second_process_gives_the_snapshot_staging_here_gives(tmp_path):
    records = _records(2 * BATCH + 17)
    here = Snapshot(tmp_path / "here.jsonl", "2026-01-01", coverage=("summary", "region"))
    for rank, one in enumerate(records):
        here.add(identify(normalise(dict(one))[0]), ("https://example.org/", "GET", "", rank))
    reported = []
    staging = StagingProcess(lambda label, problems: reported.append((label, problems)),
                             path=tmp_path / "there.jsonl", run_date="2026-01-01",
                             coverage=("summary", "region"))
    for rank, one in enumerate(records):
        staging.add(dict(one), ("https://example.org/", "GET", "", rank))
    there = staging.finish()
    assert there.counts == here.counts and there.counts["duplicate"] == 1
    assert there.added == len(records)
    assert there.coverage() == here.coverage() and there.coverage()["region"] < 1
    assert there.commit(run_ok=True).counts == here.commit(run_ok=True).counts
    assert (tmp_path / "there.jsonl").read_bytes() == (tmp_path / "here.jsonl").read_bytes()
    labels = [label for label, _ in reported]
    assert len(labels) == len(set(labels)) == 2 * BATCH // 10 + 3
    assert ("example 7", ["unknown_region: region 'Atlantis' is not an ISO 3166-2 region of US"]) in reported
    assert any(label == "example 10" and problems[0].startswith("unparseable_date: date ")
               for label, problems in reported)


def test_a_record_that_cannot_be_staged_is_a_problem_counted_and_the_rest_are_kept(tmp_path):
    reported = []
    staging = StagingProcess(lambda label, problems: reported.append((label, problems)),
                             path=tmp_path / "example.jsonl", run_date="2026-01-01")
    staging.add({"table": "deployments", "source": "example", "source_id": "1"})  # no documents
    staging.add(record(source_id="2"))
    snapshot = staging.finish()
    assert snapshot.counts["new"] == 1 and snapshot.added == 1
    assert reported == [("example 1", ["staging_error: KeyError: 'documents'; the record was not kept"])]


def test_a_staging_process_that_dies_is_an_error_in_the_crawl_not_a_hang(tmp_path):
    staging = StagingProcess(lambda label, problems: None, path=tmp_path / "example.jsonl",
                             run_date="2026-01-01")
    staging._process.process.kill()
    with pytest.raises(RuntimeError, match="the staging process ended"):
        staging.finish()
    assert not (tmp_path / "example.jsonl").exists()
