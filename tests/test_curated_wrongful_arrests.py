"""The curated wrongful arrests: published ids kept, every source titled, rows loadable as records."""

from pathlib import Path

import pytest
import yaml

from pipelines.read.curated import curated_record

FILE = Path(__file__).resolve().parents[1] / "data" / "curated" / "wrongful_arrests.yml"
# ids already published and linked to; a row's id never changes
PUBLISHED_IDS = {
    "arrest-us-woodbridge-2019", "arrest-us-detroit-2019", "arrest-br-rio-de-janeiro-2019",
    "arrest-ar-buenos-aires-2019", "arrest-us-detroit-2020", "arrest-us-st-louis-county-2021",
    "arrest-us-bloomington-2021", "arrest-us-maryland-transit-police-2022",
    "arrest-us-jefferson-parish-2022", "arrest-us-detroit-2023", "arrest-us-houston-2023",
    "arrest-us-miami-2024", "arrest-br-rio-de-janeiro-2024", "arrest-gb-london-2024",
    "arrest-us-new-york-2025",
}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return yaml.safe_load(FILE.read_text(encoding="utf-8"))


def test_every_published_id_is_still_there(rows):
    assert PUBLISHED_IDS <= {row["id"] for row in rows}


def test_every_source_has_a_title_and_a_publisher(rows):
    untitled = [(row["id"], source["url"]) for row in rows
                for source in row["sources"] if not source.get("title") or not source.get("publisher")]
    # the rows written before titles were required keep their untitled sources; no other row may add one
    assert {row_id for row_id, _ in untitled} <= PUBLISHED_IDS


def test_rows_are_in_date_order(rows):
    dates = [str(row["date"]) for row in rows]
    assert dates == sorted(dates)


def test_a_partly_verified_row_says_why(rows):
    assert [row["id"] for row in rows if row["verification"] == "partly" and not row.get("caveat")] == []


def test_each_row_becomes_a_record_with_its_place_resolved(rows):
    records = {row["id"]: curated_record("wrongful_arrests", row) for row in rows}
    assert records["arrest-ru-moscow-2019"]["region_code"] == "RU-MOW"
    assert records["arrest-gb-cardiff-2025"]["region_code"] == "GB-WLS"
    assert records["arrest-br-fortaleza-2025"]["region_code"] == "BR-CE"
    assert records["arrest-us-fargo-2025"]["person"] == "Angela Lipps"
    assert records["arrest-br-copacabana-2024"]["days_detained"] == 2


def test_people_who_did_not_go_public_are_not_named(rows):
    anonymous = {"arrest-gb-home-bargains-2024", "arrest-gb-chadwell-heath-2025",
                 "arrest-us-livonia-2021", "arrest-br-fortaleza-2025", "arrest-br-copacabana-2024"}
    assert [row["id"] for row in rows if row["id"] in anonymous and row.get("person")] == []
