"""Leads from discovered documents: the classifier's verdict, candidate citations of known events,
one lead for one new event across outlets and languages, stable lead ids, a person's review (promote
to a temporary curated folder, reject) read back by the next build, and the demo database's leads.

The documents here are synthetic (example.org, "Example Police Department"), except in the last
test, which reads the repository's data/discovered (real articles: tests/fixtures/discovery)."""

import csv
import json

import pytest
import sqlite_utils
import yaml

from pipelines.clean.identify import canonical_url, document_id
from pipelines.discover.grouping import group, lead_id
from pipelines.discover.known import KnownEvents
from pipelines.discover.leads import NO_EVENT, NOT_FRT, insert_leads
from pipelines.discover.review import ReviewError, parse_settings, promote, read_reviewed, reject
from pipelines.read.curated import load_curated
from pipelines.snapshot.store import line_of
from pipelines.write.schema import create_tables


def found(url, title, summary, language, published, publisher="Example News", first_seen="2026-12-01"):
    return {"id": document_id(url), "url": url, "canonical_url": canonical_url(url), "title": title,
            "publisher": publisher, "published": published, "language": language, "summary": summary,
            "spider": "feeds", "queries": [f"https://{publisher.split()[0].lower()}.example.org/feed"],
            "first_seen": first_seen}


HAMBURG_EN = found("https://example.org/en/hamburg-station",
                   "Hamburg police test live facial recognition at the main station",
                   "The Example Police Department says the trial in Hamburg, Germany began on 3 March 2025.",
                   "en", "2025-03-03")
HAMBURG_DE = found("https://example.net/de/hamburg-bahnhof",
                   "Polizei testet Gesichtserkennung am Hamburger Hauptbahnhof",
                   "Die Polizei in Hamburg hat am 4. März 2025 mit dem Test begonnen.", "de", "2025-03-04",
                   publisher="Beispiel Zeitung", first_seen="2026-12-02")
LYON = found("https://example.fr/lyon", "La police d’Exampleville teste la reconnaissance faciale à Lyon",
             "Le test a commencé le 10 mars 2025 à Lyon.", "fr", "2025-03-10", publisher="Exemple Infos")
BUDGET = found("https://example.org/budget", "Example City council debates its budget",
               "Nothing about faces.", "en", "2025-03-05")
EXPLAINER = found("https://example.org/explainer", "How facial recognition works: an explainer",
                  "A study of the technology and what researchers say about its accuracy.", "en",
                  "2025-03-06")
DETROIT = found("https://example.org/detroit",
                "Example Police Department wrongly arrests a man in Detroit after a face recognition match",
                "Officers held him for two days from 2 May 2025 after a false match.", "en", "2025-05-20")
CITED = found("https://www.example.org/cited-report?utm_source=feed", "Council report on the cameras",
              "No words about faces here.", "en", "2025-06-01")
EVENT = "arrest-us-example-detroit-2025"
REPORT = "https://example.org/cited-report"


@pytest.fixture
def db():
    """A database with one event: a wrongful arrest in Detroit in May 2025, citing one report."""
    database = sqlite_utils.Database(memory=True)
    create_tables(database)
    database["wrongful_arrests"].insert({"id": EVENT, "title": "Example arrest", "country": "US",
                                         "date": "2025-05-02", "date_precision": "day", "place": "Detroit",
                                         "agency": "Example Police Department", "source": "curated"})
    database["documents"].insert({"id": document_id(REPORT), "url": REPORT})
    database["citations"].insert({"event_id": EVENT, "document_id": document_id(REPORT),
                                  "event_table": "wrongful_arrests", "role": "coverage"})
    return database


def write_discovered(directory, documents):
    """The documents as a discovery spider's snapshot: sorted by id, each with its first_seen."""
    directory.mkdir(exist_ok=True)
    lines = [line_of({**document, "listed": True}) for document in sorted(documents, key=lambda d: d["id"])]
    (directory / "feeds.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def leads_of(database, discovered, reviewed=None):
    counts = insert_leads(database, discovered, reviewed)
    return ({row["id"]: row for row in database["leads"].rows},
            {row["id"]: row for row in database["discovered_documents"].rows}, counts)


def judged(document, **verdict):
    return {**document, "frt": True, "confidence": 0.8, "agency": None, "vendor": None, "date": None,
            **verdict}


def test_two_outlets_in_two_languages_reporting_one_event_make_one_lead():
    english = judged(HAMBURG_EN, kind="deployment", country="DE", place="Hamburg", date="2025-03-03")
    german = judged(HAMBURG_DE, kind="deployment", country="DE", place="Hamburg", date="2025-03-04")
    lyon = judged(LYON, kind="deployment", country="FR", place="Lyon", date="2025-03-10")
    later = judged(found("https://example.org/hamburg-2026", "Hamburg again", "", "en", "2026-01-10"),
                   kind="deployment", country="DE", place="Hamburg", date="2026-01-10")
    assert [[d["id"] for d in one] for one in group([lyon, german, later, english])] == [
        [english["id"], german["id"]],
        [lyon["id"]],
        [later["id"]],
    ]  # a year later is another event


def test_a_lead_keeps_the_id_of_its_first_found_document_as_others_join():
    english = judged(HAMBURG_EN, kind="deployment", country="DE", place="Hamburg")
    german = judged(HAMBURG_DE, kind="deployment", country="DE", place="Hamburg")
    earlier_published = judged(found("https://example.org/hamburg-preview", "Hamburg preview", "", "en",
                                     "2025-02-28", first_seen="2026-12-05"),
                               kind="deployment", country="DE", place="Hamburg")
    assert (
        group([english])[0][0]["id"]
        == group([german, earlier_published, english])[0][0]["id"]
        == english["id"]
    )
    assert lead_id(english["id"]) == "lead-" + english["id"].removeprefix("doc-")


def test_known_events_by_citation_and_by_kind_country_date_and_a_shared_name(db):
    known = KnownEvents(db.conn)
    assert tuple(known.citing(CITED["id"])) == (EVENT, "wrongful_arrests")
    arrest = {"kind": "wrongful_arrest", "country": "US", "place": "Detroit", "published": "2025-05-20"}
    assert known.matching(arrest) == (EVENT, "wrongful_arrests", "Detroit")
    assert known.matching({**arrest, "place": None, "agency": "Example Police Dept."}) == (
        EVENT,
        "wrongful_arrests",
        "Example Police Dept.",
    )
    assert known.matching({**arrest, "published": "2026-09-01"}) is None  # a report a year and more later
    assert known.matching({**arrest, "date": "2025-08-01"}) is None  # its own event date is months off
    assert known.matching({**arrest, "country": "CA"}) is None
    assert known.matching({**arrest, "place": "Chicago"}) is None
    assert known.matching({**arrest, "kind": "deployment"}) is None


def test_the_build_step_sorts_every_document_and_counts_what_it_left_out(db, tmp_path):
    write_discovered(tmp_path, [HAMBURG_EN, HAMBURG_DE, LYON, BUDGET, EXPLAINER, DETROIT, CITED])
    leads, documents, counts = leads_of(db, tmp_path)
    hamburg = lead_id(HAMBURG_EN["id"])
    assert sorted(leads) == sorted([hamburg, lead_id(LYON["id"]), lead_id(DETROIT["id"])])
    assert leads[hamburg] | {"documents": json.loads(leads[hamburg]["documents"])} == {
        "id": hamburg,
        "kind": "deployment",
        "confidence": 0.81,
        "country": "DE",
        "place": "Hamburg",
        "agency": "The Example Police Department",
        "vendor": None,
        "date": "2025-03-03",
        "title": HAMBURG_EN["title"],
        "status": "open",
        "event_id": None,
        "event_table": None,
        "documents": [
            {"id": HAMBURG_EN["id"], "url": HAMBURG_EN["url"]},
            {"id": HAMBURG_DE["id"], "url": HAMBURG_DE["url"]},
        ],
        "reason": "2 documents of one event: the same kind and country, close dates, a shared name",
        "first_seen": "2026-12-01",
    }
    candidate = leads[lead_id(DETROIT["id"])]  # the first found: published first
    assert (candidate["kind"], candidate["event_id"], candidate["event_table"]) == (
        "wrongful_arrest",
        EVENT,
        "wrongful_arrests",
    )
    assert json.loads(candidate["documents"]) == [
        {"id": DETROIT["id"], "url": DETROIT["url"]},
        {"id": CITED["id"], "url": CITED["url"]},
    ]
    assert candidate["reason"] == (
        f"may report wrongful_arrests {EVENT}: already cited by {EVENT}; "
        "same kind and country, a close date and Detroit"
    )
    assert (documents[BUDGET["id"]]["reason"], documents[BUDGET["id"]]["frt"]) == (NOT_FRT, 0)
    assert (documents[EXPLAINER["id"]]["reason"], documents[EXPLAINER["id"]]["kind"]) == (NO_EVENT, "other")
    assert documents[HAMBURG_DE["id"]]["lead_id"] == hamburg and documents[HAMBURG_DE["id"]]["reason"] is None
    assert counts == {"in a lead": 5, NOT_FRT: 1, NO_EVENT: 1, "leads": 3}


def review_folders(tmp_path):
    """The discovered documents, curated files and review ledger of a test, and a built database's path."""
    (tmp_path / "curated").mkdir()
    return (tmp_path / "discovered", tmp_path / "curated", tmp_path / "leads_reviewed.csv",
            tmp_path / "evidence.db")


def test_promote_and_reject_round_trip(db, tmp_path):
    discovered, curated, ledger, database = review_folders(tmp_path)
    (curated / "wrongful_arrests.yml").write_text(
        f"# synthetic\n- id: {EVENT}\n  title: Example arrest in Detroit\n  date: '2025-05-02'\n"
        "  country: US\n  place: Detroit\n  summary: A synthetic row.\n  sources:\n    - url: https://example.org/cited-report\n"
        "      publisher: Example News\n  verification: checked\n",
        encoding="utf-8",
    )
    write_discovered(discovered, [HAMBURG_EN, HAMBURG_DE, LYON, DETROIT, CITED])
    built = sqlite_utils.Database(database)
    create_tables(built)
    for table in ("wrongful_arrests", "documents", "citations"):
        built[table].insert_all(db[table].rows)
    insert_leads(built, discovered, ledger)
    hamburg, lyon, candidate = lead_id(HAMBURG_EN["id"]), lead_id(LYON["id"]), lead_id(DETROIT["id"])

    assert promote(hamburg, database, curated, ledger, {}, "Jane Curator") == "dep-de-hamburg-2025"
    entry = yaml.safe_load((curated / "deployments.yml").read_text(encoding="utf-8"))[0]
    assert entry == {
        "id": "dep-de-hamburg-2025",
        "title": "Face recognition deployment reported in Hamburg, Germany",
        "date": "2025-03-03",
        "country": "DE",
        "place": "Hamburg",
        "operator": "The Example Police Department",
        "summary": "Reported by Beispiel Zeitung, Example News (2 document(s) found by discovery); a curator "
        "writes this summary from the sources.",
        "verification": "partly",
        "caveat": f"promoted from discovery lead {hamburg}; check before publishing",
        "sources": [
            {
                "url": HAMBURG_EN["url"],
                "publisher": "Example News",
                "published": "2025-03-03",
                "title": HAMBURG_EN["title"],
                "language": "en",
                "role": "coverage",
            },
            {
                "url": HAMBURG_DE["url"],
                "publisher": "Beispiel Zeitung",
                "published": "2025-03-04",
                "title": HAMBURG_DE["title"],
                "language": "de",
                "role": "coverage",
            },
        ],
        "sector": "unknown",
        "mode": "unknown",
        "status": "unknown",
    }
    assert promote(candidate, database, curated, ledger, {}, "Jane Curator") == EVENT
    [arrest] = [r for r in load_curated(curated) if r["id"] == EVENT]
    assert [d["url"] for d in arrest["documents"]] == [  # the report it cited already is not added again
        REPORT,
        DETROIT["url"],
    ]
    assert (curated / "wrongful_arrests.yml").read_text(encoding="utf-8").startswith("# synthetic\n- id: ")
    reject(lyon, "an Exampleville test, not a real deployment", database, ledger, "Jane Curator")

    with ledger.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["lead"], r["status"], r["reason"], r["who"], r["entry"], r["documents"]) for r in rows] == [
        (
            hamburg,
            "promoted",
            "promoted to deployments dep-de-hamburg-2025",
            "Jane Curator",
            "dep-de-hamburg-2025",
            f"{HAMBURG_EN['id']} {HAMBURG_DE['id']}",
        ),
        (
            candidate,
            "promoted",
            f"documents added to the sources of {EVENT}",
            "Jane Curator",
            EVENT,
            f"{DETROIT['id']} {CITED['id']}",
        ),
        (lyon, "rejected", "an Exampleville test, not a real deployment", "Jane Curator", "", LYON["id"]),
    ]
    with pytest.raises(ReviewError, match="was already reviewed"):  # the ledger says so before a build
        reject(lyon, "twice", database, ledger, "Jane Curator")

    rebuilt = sqlite_utils.Database(memory=True)
    create_tables(rebuilt)
    late = found(
        "https://example.org/hamburg-late",
        "Hamburg police extend the face recognition trial at the main station",
        "The trial in Hamburg goes on from 5 March 2025.",
        "en",
        "2025-03-05",
        first_seen="2026-12-09",
    )
    write_discovered(discovered, [HAMBURG_EN, HAMBURG_DE, LYON, DETROIT, CITED, late])
    leads, documents, _ = leads_of(rebuilt, discovered, ledger)
    assert {key: (row["status"], row["event_id"]) for key, row in leads.items()} == {
        hamburg: ("promoted", "dep-de-hamburg-2025"),
        candidate: ("promoted", EVENT),
        lyon: ("rejected", None),
        lead_id(late["id"]): ("open", None),
    }  # a later report of a reviewed event is a new lead
    assert leads[lyon]["reason"] == "an Exampleville test, not a real deployment"
    assert documents[HAMBURG_DE["id"]]["lead_id"] == hamburg
    assert read_reviewed(ledger)[hamburg]["documents"] == [HAMBURG_EN["id"], HAMBURG_DE["id"]]


def test_a_promotion_the_curated_checks_refuse_writes_nothing(tmp_path):
    discovered, curated, ledger, database = review_folders(tmp_path)
    write_discovered(
        discovered,
        [
            found(
                "https://example.org/ban",
                "Example City bans face recognition in Lyon",
                "The council of Lyon voted a ban on 12 March 2025.",
                "en",
                "2025-03-12",
            )
        ],
    )
    built = sqlite_utils.Database(database)
    create_tables(built)
    insert_leads(built, discovered, ledger)
    [lead] = [row["id"] for row in built["leads"].rows]
    with pytest.raises(ReviewError, match="jurisdiction"):
        promote(lead, database, curated, ledger, {}, "Jane Curator")
    assert not (curated / "legal_actions.yml").exists() and not ledger.exists()
    settings = parse_settings('kind=ban status=enacted jurisdiction_level=city "jurisdiction=City of Lyon"')
    assert promote(lead, database, curated, ledger, settings, "Jane Curator") == "legal-fr-lyon-2025"
    with pytest.raises(ReviewError, match="field=value"):
        parse_settings("kind")


@pytest.fixture
def demo(demo_db):
    conn = sqlite_utils.Database(demo_db)
    yield conn
    conn.close()


def test_the_demo_leads(demo):
    leads = {row["id"]: row for row in demo["leads"].rows}
    assert {key: (row["kind"], row["status"], row["event_id"]) for key, row in leads.items()} == {
        "lead-10c1ba9adf1e": ("legal_action", "open", None),
        "lead-3a50913a4c5a": ("deployment", "open", None),
        "lead-73cb380abb21": ("wrongful_arrest", "open", "arrest-gb-london-2024"),
        "lead-87bb934677d2": ("legal_action", "open", None),
        "lead-c906e8b2ba31": ("wrongful_arrest", "open", "arrest-br-sao-paulo-2024"),
    }
    assert (leads["lead-10c1ba9adf1e"]["country"], leads["lead-10c1ba9adf1e"]["place"]) == ("HU", "Budapest")
    reasons = {row["id"]: row["reason"] for row in demo["discovered_documents"].rows if row["reason"]}
    assert reasons == {"doc-32513cf5174f": NOT_FRT, "doc-4331791e94d9": NO_EVENT}
    assert demo.execute("select count(*) from discovered_documents").fetchone()[0] == 7
