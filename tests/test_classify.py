"""The text classifier (pipelines/classify): its quality floors on the labelled headlines, the
cases issue 21 names, what it extracts, and its command line."""

import io
import json
import sys
from collections import Counter

import pytest

from pipelines.classify import classify, evaluate
from pipelines.classify.__main__ import main

FLOORS = {"frt": 0.90, "wrongful_arrest": 0.85}  # precision and recall, on the held-out split


@pytest.fixture(scope="module")
def labelled():
    return evaluate.read()


@pytest.fixture(scope="module")
def heldout_pairs(labelled):
    return evaluate.predict([row for row in labelled if row["split"] == "heldout"])


def test_the_labelled_set_is_large_multilingual_and_split(labelled):
    assert len(labelled) >= 300
    languages = Counter(row["language"] for row in labelled)
    assert len([language for language, count in languages.items() if count >= 10]) >= 8
    assert {row["split"] for row in labelled} == {"dev", "heldout"}
    assert len({row["id"] for row in labelled}) == len(labelled)
    assert len({row["url"] for row in labelled}) == len(labelled)
    for row in labelled:
        assert row["url"].startswith("http") and row["title"] and row["text"]
        assert row["kind"] in evaluate.KINDS
        assert row["frt"] or row["kind"] == "other"
    kinds = Counter(row["kind"] for row in labelled if row["frt"])
    assert kinds["wrongful_arrest"] >= 40 and kinds["legal_action"] >= 40 and kinds["deployment"] >= 40
    assert sum(not row["frt"] for row in labelled) >= 80


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_quality_on_the_heldout_split_stays_above_its_floor(heldout_pairs, name):
    result = evaluate.score(heldout_pairs, name)
    assert result.support >= 20
    assert result.precision >= FLOORS[name], f"{name} precision {result.precision:.2f}"
    assert result.recall >= FLOORS[name], f"{name} recall {result.recall:.2f}"


def test_score_counts_a_kind_only_where_frt_is_predicted_too():
    label = {"frt": True, "kind": "wrongful_arrest"}
    predicted = {"frt": True, "kind": "wrongful_arrest"}
    pairs = [(label, {"frt": False, "kind": "wrongful_arrest"}), (label, predicted),
             ({"frt": False, "kind": "other"}, predicted)]
    result = evaluate.score(pairs, "wrongful_arrest")
    assert (result.true_positive, result.false_positive, result.false_negative) == (1, 1, 1)
    assert result.precision == 0.5 and result.recall == 0.5


@pytest.mark.parametrize("title, text, language", [
    ("Example man arrested for theft", "Police relied on a false facial match despite his alibi.", "en"),
    ("Example man misidentified", "A face match named him; he says he was tortured in police custody.", "en"),
    ("Example city cameras", "The system triggers police checks based on false matches with faces on a list.",
     "en"),
    ("Example town counts false arrests", "Two false arrests followed face recognition alerts.", "en"),
    ("Homem é preso por engano", "Câmeras de reconhecimento facial confundiram o exemplo.", "pt"),
    ("Задержан по ошибке", "Система распознавания лиц приняла его за другого.", "ru"),
])
def test_wrongful_arrests_told_in_other_words(title, text, language):
    record = classify({"title": title, "text": text, "language": language}, names=False)
    assert (record["frt"], record["kind"]) == (True, "wrongful_arrest")


@pytest.mark.parametrize("title, text", [
    ("Example users sue over photo tagging", "A class action says the feature made templates of faces."),
    ("Example Photos face grouping case", "The service groups pictures by similar faces, a lawsuit says."),
    ("Example shop installs new cameras",
     "The cameras compare shoppers' faces with a watch list of banned people."),
])
def test_face_recognition_that_never_says_its_name(title, text):
    assert classify({"title": title, "text": text, "language": "en"}, names=False)["frt"] is True


@pytest.mark.parametrize("title, text, language", [
    ("Example phone review", "Face ID unlocks the phone when it recognises its owner's face.", "en"),
    ("Example city buys plate readers",
     "The cameras read number plates and do not perform facial recognition.", "en"),
    ("Videoschutz in Example-Stadt",
     "Die Software erkennt Schläge; Gesichtserkennung wird nicht eingesetzt.", "de"),
    ("Example bank checks fingerprints", "Customers confirm payments with a fingerprint scan.", "en"),
])
def test_not_about_face_recognition(title, text, language):
    record = classify({"title": title, "text": text, "language": language}, names=False)
    assert record["frt"] is False and record["kind"] == "other"


def test_names_country_place_agency_vendor_and_date():
    record = classify({"id": "x1", "language": "en", "title": "Example Police Department buys Clearview AI",
                       "text": "On 4 March 2021 the Example Police Department in Columbus, Ohio, began "
                               "running facial recognition searches."})
    assert record == {"id": "x1", "frt": True, "kind": "deployment", "confidence": record["confidence"],
                      "country": "US", "place": "Columbus", "agency": "Example Police Department",
                      "vendor": "Clearview AI", "date": "2021-03-04"}
    assert 0 < record["confidence"] <= 1


def test_names_in_other_languages_and_scripts():
    record = classify({"language": "zh", "title": "北京警方用人脸识别抓获逃犯",
                       "text": "2018年5月, 演唱会安检中的人脸识别系统锁定了一名逃犯。"})
    assert (record["frt"], record["country"], record["place"]) == (True, "CN", "Beijing")
    assert record["date"].startswith("2018")


def test_command_line_reads_and_writes_json_lines(monkeypatch, capsys):
    lines = [{"id": "a", "title": "Example Police Department tests facial recognition", "text": "",
              "language": "en"},
             {"id": "b", "title": "Example bakery opens", "text": "Bread and cakes.", "language": "en"}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(json.dumps(line) + "\n" for line in lines) + "\n"))
    assert main(["--no-names"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["id"], row["frt"]) for row in out] == [("a", True), ("b", False)]
    assert set(out[0]) == {"id", "frt", "kind", "confidence", "country", "place", "agency", "vendor", "date"}


def test_command_line_stops_on_a_line_that_is_not_json(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": "a", "title": "t", "text": ""}\nnot json\n'))
    with pytest.raises(SystemExit) as stop:
        main(["--no-names"])
    assert stop.value.code == 2 and "line 2" in capsys.readouterr().err
