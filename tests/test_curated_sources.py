"""The sources of every curated event row: each one titled and attributed, an http(s) address that is
not a test or development host, and a publication date, when one is given, in ISO form.

A source is what a reader is sent to; an untitled one, or one on a host that was never meant to be
public (a CMS back office, a test or dev copy of a site), is not a citation. claims.yml is not an
event file (it maps letters to claims) and has no sources of this kind.
"""

import re
from pathlib import Path

import pytest
import yaml

CURATED = Path(__file__).resolve().parents[1] / "data" / "curated"
EVENT_FILES = ("wrongful_arrests", "legal_actions", "deployments", "declarations")
# hosts that serve a copy of a site for its makers, not its readers
TEST_HOSTS = ("accion-test.", "manage.lawstreetmedia.com", "-dev.")
ISO_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
WEB_ADDRESS = re.compile(r"https?://[^\s/]+\.[^\s/]+(/\S*)?")


def source_problems(rows: list[dict]) -> list[tuple[str, str, str]]:
    """(row id, url, what is wrong) for every source of the rows that breaks a rule."""
    problems = []
    for row in rows:
        for source in row.get("sources") or []:
            url = str(source.get("url") or "")
            where = (row.get("id", "?"), url)
            for field in ("title", "publisher"):
                if not str(source.get(field) or "").strip():
                    problems.append((*where, f"no {field}"))
            if not WEB_ADDRESS.fullmatch(url):
                problems.append((*where, "not an http(s) address"))
            host = url.split("://", 1)[-1].split("/", 1)[0].lower()
            if any(marker in host for marker in TEST_HOSTS):
                problems.append((*where, "a test or development host"))
            if "published" in source and not ISO_DATE.fullmatch(str(source["published"])):
                problems.append((*where, f"published {source['published']!r} is not YYYY, YYYY-MM or YYYY-MM-DD"))
    return problems


@pytest.fixture(scope="module", params=EVENT_FILES)
def rows(request) -> list[dict]:
    return yaml.safe_load((CURATED / f"{request.param}.yml").read_text(encoding="utf-8"))


def test_every_event_row_has_sources(rows):
    assert [row["id"] for row in rows if not row.get("sources")] == []


def test_every_source_is_titled_attributed_public_and_dated_in_iso_form(rows):
    assert source_problems(rows) == []


def test_the_rules_catch_what_they_are_for():
    good = {"url": "https://example.org/a", "title": "A", "publisher": "P", "published": "2020-06"}
    bad_rows = [{"id": "legal-example-2020", "sources": [
        good,
        {**good, "title": ""},
        {k: v for k, v in good.items() if k != "publisher"},
        {**good, "url": "example.org/a"},
        {**good, "url": "https://accion-test.1961.com.ar/nota"},
        {**good, "url": "https://manage.lawstreetmedia.com/news/x"},
        {**good, "url": "https://apnews-dev.example.com/article"},
        {**good, "published": "2020-13"},
        {**good, "published": "June 2020"},
    ]}]
    assert [problem for _, _, problem in source_problems(bad_rows)] == [
        "no title", "no publisher", "not an http(s) address", "a test or development host",
        "a test or development host", "a test or development host",
        "published '2020-13' is not YYYY, YYYY-MM or YYYY-MM-DD",
        "published 'June 2020' is not YYYY, YYYY-MM or YYYY-MM-DD",
    ]
