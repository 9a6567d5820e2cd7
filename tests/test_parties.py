"""AIID parties on the full March 2025 snapshot: the people, accounts, groups and unnamed parties the
AIID lists as deployers or developers are found, and none of them becomes an organisation."""

import csv
import json
import sqlite3
from collections import Counter

import pytest
from conftest import REPO, RUN_DATE, file_response, make_spider, shared_file
from served import write_items

from pipelines.build import build
from pipelines.clean.organisations import organisation_id
from pipelines.clean.parties import harmed_person, is_organisation, kind, listed_people, slug_hash
from scrapers.spiders.aiid import AiidSpider, entity_name

FULL = "aiid/aiid_snapshot_incidents_full.csv"
ROLES = {"deployers": "Alleged deployer of AI system", "developers": "Alleged developer of AI system",
         "harmed": "Alleged harmed or nearly harmed parties"}


@pytest.fixture(scope="module")
def entities() -> dict[str, dict[str, list[str]]]:
    """incident id → role → the entity slugs the AIID lists."""
    with shared_file(FULL).open(encoding="utf-8", newline="") as handle:
        return {row["incident_id"]: {role: json.loads(row[column] or "[]") for role, column in ROLES.items()}
                for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def items():
    path = shared_file(FULL)
    spider = make_spider(AiidSpider, start_url=path.as_uri())
    return list(spider.parse_incidents_csv(file_response(path)))


def test_every_deployer_and_developer_of_the_snapshot_is_sorted_out(entities):
    slugs = {slug for roles in entities.values() for role in ("deployers", "developers")
             for slug in roles[role]}
    assert Counter(kind(slug) for slug in slugs) == {
        "organisation": 773, "person": 167, "group": 138, "unnamed": 102, "account": 23}
    # the list names people of this snapshot only, each once, and none of them by name
    assert len(listed_people()) == 135
    assert listed_people() <= {slug_hash(slug) for slug in slugs}


@pytest.mark.parametrize("slug, expected", [
    ("detroit-police-department", "organisation"), ("clearview-ai", "organisation"),
    ("macy's", "organisation"), ("wang-mou", "person"), ("zhang-moumou", "person"),
    ("unnamed-male-student", "person"), ("employee-of-example-department", "person"),
    ("police-departments", "group"), ("developers-of-mugshot-recognition-software", "group"),
    ("unnamed-korean-companies", "unnamed"), ("x-user-example", "account"), ("@example", "account"),
    ("none", "unnamed"),
])
def test_kinds_of_entity(slug, expected):
    assert kind(slug) == expected


def test_harmed_people_are_told_from_groups():
    assert [slug for slug in ("black-people-in-detroit", "nyc-black-young-people", "unknown",
                              "general-public", "buenos-aires-children")
            if harmed_person(slug)] == []
    assert harmed_person("example-person")


def test_the_face_recognition_incidents_name_fourteen_people_as_deployers_or_developers(entities, items):
    people = {(item.source_id, slug) for item in items
              for role in ("deployers", "developers") for slug in entities[item.source_id][role]
              if kind(slug) == "person"}
    assert Counter(incident for incident, _ in people) == {"167": 2, "298": 1, "409": 2, "584": 5, "806": 4}
    by_id = {item.source_id: item for item in items}
    assert (by_id["298"].operator, by_id["298"].deployers, by_id["298"].developers) == (None, [], [])
    assert (by_id["806"].operator, by_id["806"].deployers) == (None, [])
    assert by_id["409"].deployers == by_id["409"].developers == ["University Of North Carolina Wilmington"]
    assert len(entities["584"]["deployers"]) == 10 and len(by_id["584"].deployers) == 6


@pytest.mark.shared
def test_no_organisation_row_comes_from_a_person(tmp_path, entities, items):
    """The full snapshot built with the repository's curated files: no organisation is a person the
    AIID names, in any role, nor the person of a wrongful arrest."""
    write_items(tmp_path / "items", "aiid", items, RUN_DATE)
    db_path = tmp_path / "evidence.db"
    build(db_path, items_dir=tmp_path / "items", curated_dir=REPO / "data" / "curated",
          published_file=None, built_at="2026-12-08T00:00:00Z")
    with sqlite3.connect(db_path) as conn:
        organisations = {row[0] for row in conn.execute("select id from organisations")}
        roles = Counter(row[0] for row in conn.execute(
            "select role from event_organisations where event_id like '%-aiid-%'"))
        arrested = [row[0] for row in conn.execute(
            "select person from wrongful_arrests where person is not null")]
    not_organisations = {slug for roles_ in entities.values() for slugs in roles_.values() for slug in slugs
                         if not is_organisation(slug)}
    assert len(not_organisations) > 400
    assert sorted(organisation_id(entity_name(slug)) for slug in not_organisations
                  if organisation_id(entity_name(slug)) in organisations) == []
    assert sorted(organisation_id(person) for person in arrested
                  if organisation_id(person) in organisations) == []
    assert roles["deployer"] > 0 and roles["developer"] > 0 and roles["vendor"] > 0
