"""The demo captures (data/captures/): rebuilt byte for byte by their script from the real files in
../shared/real, every real cell kept, and the free text ours: it neither copies the original nor
changes how the spiders read a row."""

import csv
import dataclasses
import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from conftest import CAPTURES, make_spider, shared_file

from pipelines.classify import classify
from scrapers.spiders.aiid import AiidSpider, entity_name

ATLAS_FULL = "atlas_of_surveillance/atlas_download_20201007_full.csv"
AIID_FULL = "aiid/aiid_snapshot_incidents_full.csv"
CAPTURE_FILES = ("atlas/download.csv", "atlas/download_2025.csv", "aiid/incidents.csv",
                 "aiid/duplicates.csv")
ENTITY_COLUMNS = ("Alleged deployer of AI system", "Alleged developer of AI system",
                  "Alleged harmed or nearly harmed parties")
# the 64 incidents the spider's former keyword rule took (the capture's selection)
KEYWORD_RULE = {"36", "74", "76", "107", "108", "109", "140", "158", "166", "184", "199", "212", "223", "224",
                "235", "249", "265", "267", "276", "288", "295", "298", "307", "309", "310", "315", "358",
                "368", "371", "375", "388", "391", "409", "412", "418", "430", "431", "438", "439", "440",
                "441", "472", "483", "484", "515", "517", "518", "557", "558", "584", "592", "598", "619",
                "630", "659", "665", "691", "692", "781", "806", "815", "816", "829", "896"}
# the incidents about face recognition without the keyword rule's words, found by reading
ABOUT_FACE_RECOGNITION = {"26", "32", "114", "122", "214", "254", "258", "396"}
# taken by the classifier from the full snapshot, but not about recognising people's faces
# (a model guessing sexual orientation from a face photo; GAN-made faces): left out of the capture
CLASSIFIER_MISTAKES = {"167", "324"}
CONTROLS = {"23", "1"}
LONGEST_SHARED_RUN = 8  # words: a shared run this long is copying, not a name or a kept term


def rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def shared_run(ours: str, theirs: str, skip_names: bool) -> int:
    """The longest run of words two texts share (case aside). With skip_names, a word written
    with a capital or a digit in either text (a name, a place, a number) ends a run."""
    def keys(text):
        return [None if skip_names and (word[0].isupper() or word[0].isdigit()) else word.lower()
                for word in re.findall(r"[\w’']+", text)]
    a, b = keys(ours), keys(theirs)
    longest, previous = 0, [0] * (len(b) + 1)
    for word in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b):
            if word is not None and word == other:
                current[j + 1] = previous[j] + 1
                longest = max(longest, current[j + 1])
        previous = current
    return longest


def test_the_script_rebuilds_every_capture_byte_for_byte(tmp_path):
    shared = shared_file(ATLAS_FULL).parents[1]
    done = subprocess.run([sys.executable, str(CAPTURES / "reconstruct.py"), "--shared", str(shared),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'atlas/download.csv'}: 373 rows" in done.stdout
    for name in CAPTURE_FILES:
        assert (tmp_path / name).read_bytes() == (CAPTURES / name).read_bytes(), name


def test_every_face_recognition_row_of_the_atlas_is_in_the_capture_as_published():
    original = rows(shared_file(ATLAS_FULL))
    capture = rows(CAPTURES / "atlas" / "download.csv")
    face_recognition = [row for row in original if row["Technology"] == "Face Recognition"]
    others = [row for row in capture if row["Technology"] != "Face Recognition"]
    assert (len(face_recognition), len(capture)) == (369, 373)
    assert [(row["AOSNUMBER"], row["Agency"], row["Technology"]) for row in others] == [
        ("AOS0583", "Detroit Police Department", "Body-worn Cameras"),
        ("AOS1519", "Detroit Police Department", "Drones"),
        ("AOS5053", "Detroit Police Department", "Real-Time Crime Center"),
        ("AOS5553", "Detroit Police Department", "Automated License Plate Readers")]
    chosen = {row["AOSNUMBER"] for row in capture}
    in_capture_order = [row for row in original if row["AOSNUMBER"] in chosen]
    unsummarised = [{**row, "Summary": None} for row in capture]
    assert unsummarised == [{**row, "Summary": None} for row in in_capture_order]
    assert [row["AOSNUMBER"] for row in capture].count("AOS5547") == 2


def test_the_made_summaries_state_the_rows_own_cells():
    by_id = {row["AOSNUMBER"]: row["Summary"] for row in rows(CAPTURES / "atlas" / "download.csv")}
    assert by_id["AOS0142"] == (
        "The Atlas of Surveillance records face recognition use by Los Angeles County Sheriff's "
        "Department (Los Angeles, CA), with DataWorks Plus named as vendor, citing ActivistPost "
        "(03/21/2018). ")
    assert by_id["AOS2582"] == (  # a first source without a date
        "The Atlas of Surveillance records face recognition use by Coral Springs Police Department "
        "(Coral Springs, FL), with Clearview AI named as vendor, citing Coral Springs Org. ")
    assert by_id["AOS3197"].startswith("The NYPD has used face recognition since 2011")  # by hand
    assert by_id["AOS0181"] == (  # no vendor, and no trailing space, as the original summary has none
        "The Atlas of Surveillance records face recognition use by Riverside County Sheriff's "
        "Department (Riverside, CA), citing OneZero (8/1/2019).")


def test_every_aiid_incident_keeps_the_originals_ids_dates_reports_and_entities():
    original = rows(shared_file(AIID_FULL))
    capture = rows(CAPTURES / "aiid" / "incidents.csv")
    kept = ("_id", "incident_id", "date", "reports", *ENTITY_COLUMNS)
    by_id = {row["incident_id"]: row for row in original}
    assert [{c: row[c] for c in kept} for row in capture] == [
        {c: row[c] for c in kept} for row in original if row["incident_id"] in
        {row["incident_id"] for row in capture}]
    taken = {row["incident_id"] for row in original
             if classify({"title": row["title"], "text": row["description"]}, names=False)["frt"]}
    captured = {row["incident_id"] for row in capture}
    assert captured == KEYWORD_RULE | ABOUT_FACE_RECOGNITION | CONTROLS and len(captured) == 74
    assert taken - CLASSIFIER_MISTAKES <= captured  # every incident the spider takes, but two
    assert KEYWORD_RULE - taken == {"307"}  # phone unlocking: the classifier's rule leaves it out
    assert ABOUT_FACE_RECOGNITION - taken == {"26", "32", "396"}  # phone unlocking; a selfie check
    assert [by_id[i]["date"] for i in sorted(ABOUT_FACE_RECOGNITION, key=int)] == [
        "2017-09-13", "2017-09-13", "2018-07-26", "2015-06-14", "2020-01-02", "2015-05-01",
        "2022-05-13", "2018-07-04"]


def _read_by_spider(spider, row):
    names = {role: [(slug, entity_name(slug)) for slug in json.loads(row[column])]
             for role, column in zip(("deployers", "developers", "harmed"), ENTITY_COLUMNS, strict=True)}
    item = spider.incident(row["incident_id"], row["date"], row["title"], row["description"],
                           names, reports=[])
    if item is None:
        return None
    fields = dataclasses.asdict(item)
    for ours in ("title", "summary", "documents"):
        fields.pop(ours)
    return type(item).__name__, fields


def test_the_spider_reads_each_rewrite_as_it_reads_the_original():
    original = {row["incident_id"]: row for row in rows(shared_file(AIID_FULL))}
    spider = make_spider(AiidSpider)
    readings = [(_read_by_spider(spider, row), _read_by_spider(spider, original[row["incident_id"]]))
                for row in rows(CAPTURES / "aiid" / "incidents.csv")]
    assert all(ours == theirs for ours, theirs in readings)
    tables = Counter(ours[0] if ours else None for ours, _ in readings)
    # not taken: the 2 controls, 3 about unlocking a phone (26, 32, 307) and Uber's selfie check (396)
    assert tables == {"Deployment": 49, "WrongfulArrest": 14, "LegalAction": 5, None: 6}


@pytest.mark.parametrize("capture, original, key, columns", [
    ("atlas/download.csv", ATLAS_FULL, "AOSNUMBER", ("Summary",)),
    ("aiid/incidents.csv", AIID_FULL, "incident_id", ("title", "description")),
])
def test_no_free_text_copies_the_original(capture, original, key, columns):
    theirs = {row[key]: row for row in rows(shared_file(original))}
    for row in rows(CAPTURES / capture):
        for column in columns:
            ours, source = row[column], theirs[row[key]][column]
            assert ours.strip() != source.strip(), (row[key], column)
            # titles are all capitals, so in them every word counts
            assert shared_run(ours, source, skip_names=column != "title") < LONGEST_SHARED_RUN, (
                row[key], column)


def test_the_copy_check_sees_a_copied_sentence():
    source = "The Detroit Police Department operates one drone, according to data compiled by the Center."
    copied = "According to data compiled by the Center, the department operates one drone too."
    assert shared_run(copied, source, skip_names=True) == 5  # "to data compiled by the"
    assert shared_run(source, source, skip_names=False) == 14
