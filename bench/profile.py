"""Distributions of the real sources, measured from the files the project may read.

The generator (bench/generate.py) draws synthetic rows from these, so that text lengths, word
frequencies, places, vendors, link counts, date formats, reports per incident, the entities an
incident names, the countries named and duplicate incidents follow the real data. Real
third-party captures in ../shared/real are read in place when present; otherwise the project's
own reconstructed captures are used.
"""

import collections
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.classify import classify
from pipelines.clean.places import find_country
from scrapers.spiders.aiid import POLICING

REPO = Path(__file__).resolve().parent.parent
SHARED_REAL = REPO.parent / "shared" / "real"
ATLAS_FILES = (SHARED_REAL / "atlas_of_surveillance" / "atlas_download_20201007_full.csv",
               REPO / "data" / "captures" / "atlas" / "download.csv")
AIID_FILES = (SHARED_REAL / "aiid" / "aiid_snapshot_incidents_full.csv",
              REPO / "data" / "captures" / "aiid" / "incidents.csv")
AIID_DUPLICATES = (SHARED_REAL / "aiid" / "aiid_snapshot_duplicates.csv",
                   REPO / "data" / "captures" / "aiid" / "duplicates.csv")
ENTITY_COLUMNS = ("Alleged deployer of AI system", "Alleged developer of AI system",
                  "Alleged harmed or nearly harmed parties")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
DATE_SHAPES = (("us", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
               ("us_short", re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$")),
               ("iso", re.compile(r"^\d{4}-\d{2}-\d{2}$")), ("year", re.compile(r"^\d{4}$")),
               ("empty", re.compile(r"^$")))


@dataclass
class Distribution:
    """Values with their observed weights, for random.choices(values, cum_weights=...)."""

    values: list
    cum_weights: list

    @classmethod
    def of(cls, observed) -> "Distribution":
        counts = collections.Counter(observed)
        values = sorted(counts, key=lambda v: (-counts[v], str(v)))
        total, cumulative = 0, []
        for value in values:
            total += counts[value]
            cumulative.append(total)
        return cls(values, cumulative)

    def draw(self, rng, k: int = 1) -> list:
        return rng.choices(self.values, cum_weights=self.cum_weights, k=k)


@dataclass
class Profile:
    """What the generator draws from; every field is measured from real rows."""

    places: Distribution          # (city, county, state) of Atlas rows
    lea_types: Distribution       # Atlas "Type of LEA"
    vendors: Distribution         # Atlas "Vendor" of face recognition rows
    links_per_row: Distribution   # how many of Link 1-3 a face recognition row of the Atlas fills
    link_publishers: Distribution
    link_types: Distribution
    link_date_shapes: Distribution  # us, iso, year, empty, or a free-text date kept verbatim
    url_lengths: Distribution
    url_reuse: float              # share of those links that repeat an earlier link
    summary_words: Distribution   # words of Atlas summaries, by frequency
    summary_lengths: Distribution  # words per Atlas summary
    incident_words: Distribution  # words of AIID titles and descriptions
    title_lengths: Distribution   # words per AIID title
    description_lengths: Distribution
    reports_per_incident: Distribution
    incident_entities: Distribution  # (deployers, developers, harmed parties) an AIID incident names
    incident_tables: Distribution  # which table an AIID face recognition incident maps to
    incident_countries: Distribution  # the country the aiid spider finds in a face recognition
                                      # incident's text, "" where it finds none
    policing_share: float         # share of face recognition incidents with a police deployer
    duplicate_share: float        # duplicate incidents (duplicates.csv) per incident
    sources: dict                 # the files each part was measured from

    def summary(self) -> dict:
        return {"atlas_rows_measured": self.places.cum_weights[-1],
                "aiid_incidents_measured": self.reports_per_incident.cum_weights[-1],
                "aiid_face_recognition_incidents_measured": self.incident_countries.cum_weights[-1],
                "median_summary_words": _median(self.summary_lengths),
                "median_reports_per_incident": _median(self.reports_per_incident),
                "url_reuse": round(self.url_reuse, 3),
                "policing_share": round(self.policing_share, 3),
                "duplicate_share": round(self.duplicate_share, 3),
                "countries": dict(zip(self.incident_countries.values[:8],
                                      _weights(self.incident_countries)[:8], strict=True)),
                "measured_from": self.sources}


def _median(distribution: Distribution):
    half = distribution.cum_weights[-1] / 2
    pairs = sorted(zip(distribution.values, _weights(distribution), strict=True))
    seen = 0
    for value, weight in pairs:
        seen += weight
        if seen >= half:
            return value
    return None


def _weights(distribution: Distribution) -> list[int]:
    return [b - a for a, b in zip([0, *distribution.cum_weights], distribution.cum_weights, strict=False)]


def _first(paths) -> Path:
    for path in paths:
        if path.exists():
            return path
    raise FileNotFoundError(f"none of {[str(p) for p in paths]} exists")


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _date_shape(text: str) -> str:
    text = text.strip()
    for shape, pattern in DATE_SHAPES:
        if pattern.match(text):
            return shape
    return text


def load_profile() -> Profile:
    atlas_path, aiid_path, duplicates_path = _first(ATLAS_FILES), _first(AIID_FILES), _first(AIID_DUPLICATES)
    atlas, aiid = _rows(atlas_path), _rows(aiid_path)
    face = [r for r in atlas if r["Technology"] == "Face Recognition"] or atlas
    links = [(r[f"Link {n}"].strip(), r) for r in atlas for n in (1, 2, 3) if r[f"Link {n}"].strip()]
    seen, repeats = set(), 0
    face_links = [r[f"Link {n}"].strip() for r in face for n in (1, 2, 3) if r[f"Link {n}"].strip()]
    for url in face_links:
        repeats += url in seen
        seen.add(url)
    cells = [(r[f"Link {n} Source"], r[f"Link {n} Type"], r[f"Link {n} Date"])
             for r in atlas for n in (1, 2, 3) if r[f"Link {n}"].strip()]
    summaries = [WORD.findall(r["Summary"]) for r in atlas]
    incidents = [(WORD.findall(r.get("title") or ""), WORD.findall(r.get("description") or ""))
                 for r in aiid]
    entities = [tuple(_slugs(r, column) for column in ENTITY_COLUMNS) for r in aiid]
    named = list(zip(aiid, entities, strict=True))
    about_faces = [(r, s) for r, s in named  # the incidents the aiid spider takes: its classifier's
                   if classify({"title": r["title"], "text": r["description"]}, names=False)["frt"]] or named
    return Profile(
        places=Distribution.of((r["City"].strip(), r["County"].strip(), r["State"].strip()) for r in atlas),
        lea_types=Distribution.of(r["Type of LEA"].strip() or "Police" for r in atlas),
        vendors=Distribution.of(r["Vendor"].strip() for r in face),
        links_per_row=Distribution.of(sum(bool(r[f"Link {n}"].strip()) for n in (1, 2, 3)) for r in face),
        link_publishers=Distribution.of(c[0].strip() for c in cells),
        link_types=Distribution.of(c[1].strip() for c in cells),
        link_date_shapes=Distribution.of(_date_shape(c[2]) for c in cells),
        url_lengths=Distribution.of(len(url) for url, _ in links),
        url_reuse=repeats / max(1, len(face_links)),
        summary_words=Distribution.of(w for words in summaries for w in words),
        summary_lengths=Distribution.of(len(words) for words in summaries),
        incident_words=Distribution.of(w for title, text in incidents for w in title + text),
        title_lengths=Distribution.of(max(3, len(title)) for title, _ in incidents),
        description_lengths=Distribution.of(len(text) for _, text in incidents),
        reports_per_incident=Distribution.of(_report_count(r) for r in aiid),
        incident_entities=Distribution.of(tuple(map(len, slugs)) for slugs in entities),
        incident_tables=Distribution.of(_aiid_tables()),
        incident_countries=Distribution.of(_country(r) for r, _ in about_faces),
        policing_share=sum(any(map(POLICING.search, deployers)) for _, (deployers, *_) in about_faces)
        / len(about_faces),
        duplicate_share=len(_rows(duplicates_path)) / max(1, len(aiid)),
        sources={"atlas": _shown(atlas_path), "aiid": _shown(aiid_path),
                 "aiid_duplicates": _shown(duplicates_path)},
    )


def _country(row: dict) -> str:
    """The country the aiid spider finds in an incident's title, else its description."""
    return (find_country(row["title"]) or find_country(row["description"]) or ("",))[0]


def _slugs(row: dict, column: str) -> list[str]:
    try:
        return json.loads(row.get(column) or "[]")
    except json.JSONDecodeError:
        return []


def _report_count(row: dict) -> int:
    try:
        return max(1, len(json.loads(row.get("reports") or "[]")))
    except json.JSONDecodeError:
        return 1


def _aiid_tables() -> list[str]:
    """Tables of the AIID incidents the aiid spider kept (data/items/aiid.jsonl), or all three."""
    path = REPO / "data" / "items" / "aiid.jsonl"
    tables = [json.loads(line)["table"] for line in path.read_text(encoding="utf-8").splitlines()
              if line.strip()] if path.exists() else []
    return tables or ["deployments", "wrongful_arrests", "legal_actions"]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO.parent))
    except ValueError:
        return str(path)
