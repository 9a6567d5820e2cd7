"""Citations and charts computed for the pages (publish/), checked without a server."""

import hashlib
import json

import bibtexparser
import pytest

from publish.chart import nice_step, stacked_years
from publish.cite import Reference, bibtex, bibtex_escape, canonical_json, content_hash, csl_json, plain_text

ROW = {"id": "legal-example-ban-2019", "title": "Example City bans face recognition",
       "latitude": 42.33143, "amount": None, "days_detained": 3, "place": "São Paulo"}
REFERENCE = Reference(table="legal_actions", row_id="legal-example-ban-2019",
                      title="Example City bans face recognition",
                      url="https://example.org/evidence/legal_actions/legal-example-ban-2019",
                      release="2026-11-21T12:00:00Z", sha256="ab" * 32)


def test_canonical_json_sorts_keys_without_spaces_and_keeps_unicode():
    assert canonical_json(ROW) == (
        '{"amount":null,"days_detained":3,"id":"legal-example-ban-2019","latitude":42.33143,'
        '"place":"São Paulo","title":"Example City bans face recognition"}')


def test_content_hash_is_sha256_of_the_canonical_json_and_ignores_key_order():
    expected = hashlib.sha256(canonical_json(ROW).encode("utf-8")).hexdigest()
    assert content_hash(ROW) == expected
    assert content_hash(dict(reversed(list(ROW.items())))) == expected
    assert content_hash({**ROW, "days_detained": 4}) != expected


def test_plain_text_names_title_row_release_url_and_hash():
    assert plain_text(REFERENCE) == (
        'FRT Evidence (2026). "Example City bans face recognition" [legal action record '
        "legal-example-ban-2019]. FRT Evidence database, release 2026-11-21T12:00:00Z. "
        f"{REFERENCE.url} (row content SHA-256 {'ab' * 32}).")


def test_bibtex_entry_parses_with_its_fields():
    library = bibtexparser.parse_string(bibtex(REFERENCE))
    assert not library.failed_blocks
    [entry] = library.entries
    assert entry.entry_type == "misc" and entry.key == "frt:legal-example-ban-2019"
    fields = {name: entry.fields_dict[name].value for name in entry.fields_dict}
    assert fields == {
        "author": "{FRT Evidence}", "title": "{Example City bans face recognition}",
        "howpublished": "FRT Evidence database, legal action record legal-example-ban-2019",
        "year": "2026", "version": "2026-11-21T12:00:00Z", "url": REFERENCE.url,
        "note": f"Database release 2026-11-21T12:00:00Z; row content SHA-256 {'ab' * 32}"}


@pytest.mark.parametrize(("title", "escaped"), [
    ("50% & more {fines} #1 $5 a_b ^ ~",
     r"50\% \& more \{fines\} \#1 \$5 a\_b \textasciicircum{} \textasciitilde{}"),
    ("back\\slash", r"back\textbackslash{}slash"),
    ("two\n  lines", "two lines"),
])
def test_bibtex_escapes_what_latex_would_read(title, escaped):
    assert bibtex_escape(title) == escaped
    [entry] = bibtexparser.parse_string(bibtex(Reference(**{**REFERENCE.__dict__, "title": title}))).entries
    assert entry.fields_dict["title"].value == "{" + escaped + "}"


def test_csl_json_is_one_dataset_item_with_url_release_and_hash():
    [item] = json.loads(csl_json(REFERENCE))
    assert item == {
        "id": "frt:legal-example-ban-2019", "type": "dataset",
        "title": "Example City bans face recognition", "author": [{"literal": "FRT Evidence"}],
        "publisher": "FRT Evidence", "genre": "legal action record",
        "number": "legal-example-ban-2019", "version": "2026-11-21T12:00:00Z",
        "issued": {"date-parts": [[2026, 11, 21]]}, "URL": REFERENCE.url,
        "note": f"Row content SHA-256 {'ab' * 32}"}


@pytest.mark.parametrize(("maximum", "step"), [(1, 1), (5, 1), (6, 2), (10, 2), (11, 5), (25, 5),
                                               (26, 10), (37, 10), (51, 20), (480, 100)])
def test_nice_step(maximum, step):
    assert nice_step(maximum) == step


def test_stacked_years_fills_gaps_stacks_series_and_counts_undated():
    counts = [("2017", "deployment", 2), ("2019", "deployment", 3), ("2019", "legal_action", 5),
              (None, "legal_action", 4), ("2019", "unknown_series", 9)]
    chart = stacked_years(counts, ["deployment", "wrongful_arrest", "legal_action"])
    assert [bar.year for bar in chart.bars] == [2017, 2018, 2019]
    assert [bar.total for bar in chart.bars] == [2, 0, 8]
    assert chart.undated == {"deployment": 0, "wrongful_arrest": 0, "legal_action": 4}
    assert [value for value, _ in chart.ticks] == [0, 2, 4, 6, 8]
    top = chart.ticks[-1][1]
    deployment, legal = chart.bars[2].segments
    assert (deployment.series, legal.series) == ("deployment", "legal_action")
    assert deployment.y + deployment.height == pytest.approx(chart.plot_bottom)
    assert legal.y == pytest.approx(top)  # the tallest bar reaches the top tick
    assert legal.y + legal.height == pytest.approx(deployment.y)
    assert deployment.height / legal.height == pytest.approx(3 / 5)
    assert chart.bars[1].segments == []


def test_stacked_years_labels_stay_apart_and_always_name_the_last_year():
    chart = stacked_years([(str(y), "deployment", 1) for y in range(1990, 2026)], ["deployment"])
    years = [year for year, _ in chart.year_labels]
    assert years[-1] == 2025
    xs = [x for _, x in chart.year_labels]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 40
