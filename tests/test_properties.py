"""Property tests (hypothesis): hostile records through validation, normalisation, the snapshot and
the build. Generated text mixes control characters, right-to-left and zero-width marks, emoji,
huge strings, SQL and HTML payloads; dates and countries are junk as often as not. Whatever comes
in, no exception but a refusal escapes, every refusal names its field, and what is kept reaches
the database unchanged. Every row here is synthetic."""

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.build import build
from pipelines.clean.dates import parse_date_or_reason
from pipelines.clean.identify import identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import InvalidRecord, validate
from pipelines.match import similarity
from pipelines.snapshot.store import Snapshot, records_in
from scrapers.items import Deployment, DocumentRef, LegalAction, WrongfulArrest
from scrapers.pipelines import item_to_record

PAYLOADS = ["<script>alert(1)</script>", "'; drop table deployments; --", "\" onmouseover=\"x",
            "javascript:alert(1)", "\u202eevil\u202c", "\u200b", "🙂👍🏽", "\x00", "\x1b[31m", "Robert'); --"]
hostile_text = st.one_of(st.text(max_size=60), st.sampled_from(PAYLOADS),
                         st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=1500),
                         st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=4).map(" ".join))
optional_text = st.none() | hostile_text
dates = st.none() | st.sampled_from(["2019", "2019-10", "2019-10-31", "10/31/2019", "31/31/2019", "43655",
                                     "2016-17", "yesterday", "", "0000-00-00", "9999"]) | hostile_text
countries = st.none() | st.sampled_from(["US", "GB", "Italy", "Россия", "XX", ""]) | hostile_text
urls = st.sampled_from(["https://example.org/a", "http://example.org/b?utm_source=x#y", "javascript:alert(1)",
                        "data:text/html,<script>", "ftp://example.org/x", "https://example.org/<script>"])
documents = st.lists(st.builds(DocumentRef, url=urls | hostile_text, title=optional_text,
                               publisher=optional_text, published=dates), max_size=3)
common = {"source": st.just("example"), "source_id": st.text(min_size=1, max_size=20) | hostile_text,
          "title": hostile_text, "summary": optional_text, "date": dates, "country": countries,
          "region": optional_text, "place": optional_text, "documents": documents}
events = st.one_of(
    st.builds(Deployment, **common, operator=optional_text, vendors=st.lists(hostile_text, max_size=3)),
    st.builds(WrongfulArrest, **common, agency=optional_text,
              days_detained=st.none() | st.integers(-5, 10**6)),
    st.builds(LegalAction, **common, kind=st.sampled_from(["ban", "fine", "lawsuit", "nonsense"]),
              status=st.sampled_from(["in_force", "decided", "pending", "??"]), jurisdiction=optional_text))


def _through_the_pipeline(item):
    """(record, problems) for a kept item, or the InvalidRecord that refused it."""
    try:
        record, problems = normalise(validate(item_to_record(item)))
        return identify(record), problems
    except InvalidRecord as refusal:
        return refusal


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_every_record_is_kept_or_refused_with_its_field_named(item):
    outcome = _through_the_pipeline(item)
    if isinstance(outcome, InvalidRecord):
        assert outcome.field and outcome.field in str(outcome)
        return
    record, problems = outcome
    assert all(": " in problem for problem in problems)
    assert all(d["url"].startswith(("http://", "https://")) for d in record["documents"])
    assert record["id"] and record["title"]


SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW)
@given(st.lists(events, min_size=1, max_size=6))
def test_what_is_kept_reaches_the_snapshot_and_the_database_unchanged(tmp_path_factory, items):
    folder = tmp_path_factory.mktemp("properties")
    (folder / "items").mkdir()
    (folder / "curated").mkdir()
    snapshot = Snapshot(folder / "items" / "example.jsonl", run_date="2026-01-01")
    kept = {}
    for item in items:
        outcome = _through_the_pipeline(item)
        if isinstance(outcome, InvalidRecord):
            continue
        record = outcome[0]
        if record["id"] in kept:
            continue
        snapshot.add(record)
        kept[record["id"]] = record
    assert snapshot.commit(run_ok=True).replaced
    written = {record["id"]: record for record, _ in records_in(folder / "items" / "example.jsonl")}
    assert written.keys() == kept.keys()
    for record_id, record in kept.items():
        assert {k: v for k, v in written[record_id].items() if k not in ("first_seen", "listed")} == record
    build(folder / "evidence.db", folder / "items", folder / "curated", built_at="2026-01-01T00:00:00Z",
          decisions_file=None, tombstones_file=None, redactions_file=None, published_file=None)
    with sqlite3.connect(folder / "evidence.db") as conn:
        for record_id, record in kept.items():
            row = conn.execute(f"select title, summary from [{record['table']}] where id = ?",
                               (record_id,)).fetchone()
            if row is None:  # merged into another row of the same event: its id resolves through id_aliases
                assert conn.execute("select 1 from id_aliases where id = ?", (record_id,)).fetchone()
                continue
            assert row == (record["title"], record["summary"])


@settings(max_examples=300, deadline=None)
@given(optional_text, optional_text, dates)
def test_similarities_of_hostile_text_are_symmetric_scores_or_unknown(a, b, date_text):
    for compare in (similarity.person, similarity.organisation, similarity.folded_texts):
        score = compare(a, b)
        assert score == compare(b, a)
        assert score is None or 0.0 <= score <= 1.0
    parsed, _reason = parse_date_or_reason(date_text)  # matching compares normalised dates only
    if parsed:
        start, end = similarity.interval(*parsed)
        assert start <= end
