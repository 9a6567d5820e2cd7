"""Redaction reaches what a night publishes beside the database: the WACZ packaged with the build's
redactions holds no record with the name (the real AIID snapshot names Randal Reid), keeps the others
replayable and says what it withheld; the analyses rendered on the redacted database show no name.
The Redactor comes from a real build of the repository's data, as a night gets it, in memory."""

import gzip
import io
import json
import re
import subprocess
import zipfile

import pytest
import yaml
from conftest import REPO, shared_file
from warcio.archiveiterator import ArchiveIterator

from nightly.night import Night, package
from pipelines.archive.warc import WarcFile, package_wacz
from pipelines.build import build
from pipelines.ledgers.redact import redactors_made

NAME = re.compile(rb"(randall?|quran)[^a-z0-9]{0,3}(quran[^a-z0-9]{0,3})?reid")
WORDS = re.compile(rb"(?<![a-z])(randall?|quran|reid)(?![a-z])")
AIID_CSV = "https://example.org/aiid-snapshot/incidents.csv"  # the test's address of the real file
CLEAN_URL = "https://incidentdatabase.ai/api/graphql"
WARC_NAME = "aiid-20261130.warc.gz"
NAMED_URL = ("https://www.aiaaic.org/aiaaic-repository/ai-algorithmic-and-automation-incidents/"
             "louisiana-police-randall-reid-wrongful-arrest-jailing")


@pytest.fixture(scope="module")
def redacted(tmp_path_factory):
    """The repository's data built with the Reid row redacted; the Redactor the build made."""
    root = tmp_path_factory.mktemp("redact-archives")
    request = root / "redactions.yml"
    request.write_text(yaml.safe_dump([{"id": "arrest-aiid-515", "fields": ["person"],
                                        "reason": "test: takedown request", "date": "2026-11-30"}]))
    with redactors_made() as made:
        build(root / "evidence.db", redactions_file=request, built_at="2026-11-30T00:00:00Z")
    assert len(made) == 1
    return root / "evidence.db", made[0]


def exchange(warc: WarcFile, url: str, body: bytes, mime: str) -> str:
    return warc.write_exchange(url=url, method="GET", request_headers=[("Accept", "*/*")], request_body=b"",
                               status=200, reason="OK", response_headers=[("Content-Type", mime)], body=body)


@pytest.fixture(scope="module")
def wacz(redacted, tmp_path_factory):
    """A night's WARC holding the real AIID incidents CSV (it names him), a page whose address
    names him, and a clean answer; packaged with the build's redactions."""
    root = tmp_path_factory.mktemp("wacz")
    warc = WarcFile(root / WARC_NAME, {"spider": "aiid"})
    incidents = shared_file("aiid/aiid_snapshot_incidents_full.csv").read_bytes()
    withheld = [exchange(warc, AIID_CSV, incidents, "text/csv"),
                exchange(warc, NAMED_URL, b"<html><title>A page</title></html>", "text/html")]
    clean_body = shared_file("aiid/graphql_incident50_response_cypress_fixture.json").read_bytes()
    kept = exchange(warc, CLEAN_URL, clean_body, "application/json")
    warc.close()
    assert NAME.search(gzip.decompress((root / WARC_NAME).read_bytes()).lower())
    out = package_wacz([root / WARC_NAME], root / "frt-evidence-2026-11-30.wacz", title="test",
                       withhold=redacted[1].holds_value)
    return out, withheld, kept, clean_body


def readable(name: str, data: bytes) -> bytes:
    return gzip.decompress(data) if name.endswith(".gz") else data


def test_no_file_of_the_wacz_holds_the_name(wacz):
    with zipfile.ZipFile(wacz[0]) as archive:
        names = archive.namelist()
        contents = {name: readable(name, archive.read(name)).lower() for name in names}
    assert f"archive/{WARC_NAME}" in names and "indexes/index.cdx.gz" in names
    for name, data in contents.items():
        assert not NAME.search(data), name
        assert not NAME.search(re.sub(rb"[^a-z0-9]", b"", data)), name  # no separator at all
    with zipfile.ZipFile(wacz[0]) as archive:
        assert not NAME.search(wacz[0].read_bytes().lower())
        assert archive.testzip() is None


def test_the_withheld_records_and_their_requests_are_counted_by_id(wacz):
    _, withheld, _, _ = wacz
    with zipfile.ZipFile(wacz[0]) as archive:
        package = json.loads(archive.read("datapackage.json"))
        records = list(ArchiveIterator(io.BytesIO(archive.read(f"archive/{WARC_NAME}"))))
    assert package["withheld"]["records"] == 4  # two responses and the request of each
    assert set(withheld) <= set(package["withheld"]["record_ids"])
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request"]
    assert not WORDS.search(json.dumps(package).lower().encode())


def test_the_other_records_stay_and_replay_from_the_index(wacz):
    _, _, kept, clean_body = wacz
    with zipfile.ZipFile(wacz[0]) as archive:
        index = gzip.decompress(archive.read("indexes/index.cdx.gz")).decode().splitlines()
        pages = archive.read("pages/pages.jsonl").decode().splitlines()
        warc = archive.read(f"archive/{WARC_NAME}")
    assert len(index) == 1 and [json.loads(p).get("url") for p in pages[1:]] == [CLEAN_URL]
    fields = json.loads(index[0].split(" ", 2)[2])
    assert (fields["url"], fields["filename"], fields["status"]) == (CLEAN_URL, WARC_NAME, "200")
    stored = warc[fields["offset"]:fields["offset"] + fields["length"]]
    record = next(iter(ArchiveIterator(io.BytesIO(stored))))
    assert record.rec_headers.get_header("WARC-Record-ID") == kept
    assert record.content_stream().read() == clean_body


def test_without_redactions_nothing_is_withheld(tmp_path):
    warc = WarcFile(tmp_path / "a.warc.gz", {})
    exchange(warc, NAMED_URL, b"Randal Reid", "text/plain")
    warc.close()
    out = package_wacz([tmp_path / "a.warc.gz"], tmp_path / "a.wacz", title="test",
                       withhold=lambda data: False)
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("datapackage.json"))["withheld"] == {
            "reason": "holds a value redacted from the evidence base", "records": 0, "record_ids": []}
        assert NAME.search(gzip.decompress(archive.read("archive/a.warc.gz")).lower())


def test_the_notebooks_rendered_on_the_redacted_database_show_no_name(redacted, tmp_path):
    """make notebooks' own command, on the redacted database, into a folder of the test's."""
    recipe = next(line for line in (REPO / "Makefile").read_text().splitlines() if "nbconvert" in line)
    command = recipe.strip().replace("$(DB)", str(redacted[0])).replace("$(BIN)", str(REPO / ".venv/bin"))
    command = command.replace("--output-dir static/analyses", f"--output-dir {tmp_path}")
    subprocess.run(command, shell=True, cwd=REPO, check=True, capture_output=True, timeout=600)
    rendered = sorted(tmp_path.glob("*.html"))
    assert [p.stem for p in rendered] == sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    for page in rendered:
        data = page.read_bytes().lower()
        assert not WORDS.search(data), page.name


def test_the_night_packages_with_the_builds_redactions_or_not_at_all(redacted, tmp_path):
    archive = tmp_path / "archive"
    warc = WarcFile(archive / WARC_NAME, {})
    exchange(warc, NAMED_URL, b"<html></html>", "text/html")
    exchange(warc, CLEAN_URL, b"{}", "application/json")
    warc.close()
    night = Night(items=tmp_path, runs=tmp_path, db=redacted[0], archive=archive, cache=tmp_path,
                  logs=tmp_path, summary=tmp_path / "summary.md", run_date="2026-11-30")
    runs = [{"spider": "aiid", "archives": [WARC_NAME]}]
    assert "no archive packaged: the build stopped before reading its redactions" in package(runs, night, [])
    assert not list(archive.glob("*.wacz"))
    assert package(runs, night, [redacted[1]]) == "; archive frt-evidence-2026-11-30.wacz"
    with zipfile.ZipFile(archive / "frt-evidence-2026-11-30.wacz") as wacz:
        assert json.loads(wacz.read("datapackage.json"))["withheld"]["records"] == 2
        assert len(gzip.decompress(wacz.read("indexes/index.cdx.gz")).splitlines()) == 1
