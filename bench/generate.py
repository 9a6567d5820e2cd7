"""Synthetic inputs at scale, drawn from the real distributions (bench/profile.py).

Everything generated is obviously synthetic ("Example Police Department 000042", example.org
links, summaries that start "Synthetic benchmark row") and is written only under the directory
the caller gives (bench/work/, which git ignores): never to data/items or the demo database.

- `write_atlas_csv`: an Atlas of Surveillance download (the 2020 edition's 25 columns, every field
  quoted, LF line ends) of n face recognition rows, as the atlas spider reads it.
- `change_rows`: the same CSV with a given share of rows edited, for a nightly re-run.
- `write_aiid_capture`: an AIID snapshot's incidents.csv (mongoexport's columns, JSON arrays of
  report numbers and entity slugs) of n face recognition incidents, with the duplicates.csv
  beside it, as the aiid spider reads them offline.
- `add_last_seen`: crawled snapshots made as snapshots were before the run log gave the day a
  listed record was last seen, for the build of an older checkout that reads it from the lines.
"""

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

import orjson

from pipelines.clean.identify import slug
from pipelines.clean.places import country_name

ATLAS_HEADER = ["AOSNUMBER", "City", "County", "State", "Agency", "Type of LEA", "Summary",
                "Type of Juris", "Technology", "Vendor"] + [
    f"Link {n}{part}" for n in (1, 2, 3) for part in ("", " Snapshot", " Source", " Type", " Date")]
AIID_HEADER = ["_id", "incident_id", "date", "reports", "Alleged deployer of AI system",
               "Alleged developer of AI system", "Alleged harmed or nearly harmed parties", "description",
               "title"]
FIRST_INCIDENT = 900000  # above the real AIID's incident numbers
# The words of an incident's title that decide its table in the aiid spider, with the face
# recognition it has to mention.
TITLE_WORDS = {"wrongful_arrests": "wrongful arrest after a facial recognition match",
               "legal_actions": "lawsuit over facial recognition", "deployments": "facial recognition"}
AGENCY_NAMES = {"Police": "Police Department", "Sheriff": "Sheriff's Office", "State Police": "State Police",
                "State police": "State Police", "DMV": "Department of Motor Vehicles"}
FIRST_DAY, DAYS = date(2010, 1, 1), 15 * 365
CHUNK = 4096


def _day(rng: random.Random) -> date:
    return FIRST_DAY + timedelta(days=rng.randrange(DAYS))


def _date_text(shape: str, rng: random.Random) -> str:
    """A date written the way the Atlas writes it: shapes are drawn, free-text dates kept verbatim."""
    when = _day(rng)
    return {"us": f"{when.month}/{when.day}/{when.year}",
            "us_short": f"{when.month}/{when.day}/{when.year % 100:02d}",
            "iso": when.isoformat(), "year": str(when.year), "empty": ""}.get(shape, shape)


def _words(distribution, rng: random.Random, count: int) -> str:
    return " ".join(distribution.draw(rng, count))


def _padded_path(rng: random.Random, words, length: int) -> str:
    path = "-".join(w.lower() for w in words.draw(rng, 12))
    return path[:max(8, length)]


class _Links:
    """Links of Atlas rows: new ones, or (at the measured rate) one already cited by another row."""

    def __init__(self, profile, rng: random.Random):
        self.profile, self.rng, self.pool = profile, rng, []

    def draw(self) -> tuple[str, str]:
        if self.pool and self.rng.random() < self.profile.url_reuse:
            return self.rng.choice(self.pool)
        publisher = self.profile.link_publishers.draw(self.rng)[0] or "Example News"
        stem = f"https://example.org/{slug(publisher) or 'news'}/{len(self.pool)}/"
        length = self.profile.url_lengths.draw(self.rng)[0] - len(stem)
        link = (stem + _padded_path(self.rng, self.profile.summary_words, length), publisher)
        self.pool.append(link)
        return link


def atlas_rows(n: int, profile, seed: int = 1):
    """n synthetic face recognition rows of the Atlas, as lists in ATLAS_HEADER order."""
    rng = random.Random(seed)
    agencies = max(50, n // 8)
    homes = profile.places.draw(rng, agencies)
    kinds = profile.lea_types.draw(rng, agencies)
    links = _Links(profile, rng)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        lengths = profile.summary_lengths.draw(rng, size)
        counts = profile.links_per_row.draw(rng, size)
        vendors = profile.vendors.draw(rng, size)
        for offset in range(size):
            number = start + offset
            agency = rng.randrange(agencies)
            city, county, state = homes[agency]
            kind = kinds[agency]
            row = [f"AOS{number:07d}", city, county, state,
                   f"Example {AGENCY_NAMES.get(kind, kind + ' Agency')} {agency:06d}", kind,
                   "Synthetic benchmark row: " + _words(profile.summary_words, rng, lengths[offset]),
                   "Municipal", "Face Recognition", vendors[offset]]
            cited = set()
            for position in range(3):
                if position < counts[offset]:
                    url, publisher = links.draw()
                    while url in cited:
                        url, publisher = links.draw()
                    cited.add(url)
                    shape = profile.link_date_shapes.draw(rng)[0]
                    row += [url, "", publisher, profile.link_types.draw(rng)[0], _date_text(shape, rng)]
                else:
                    row += ["", "", "", "", ""]
            yield row


def write_atlas_csv(path: Path, n: int, profile, seed: int = 1) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(ATLAS_HEADER)
        writer.writerows(atlas_rows(n, profile, seed))
    return path


def change_rows(source: Path, target: Path, share: float, seed: int = 2) -> int:
    """Copy an Atlas CSV, editing the summary of `share` of its rows; return how many were edited."""
    rng = random.Random(seed)
    summary = ATLAS_HEADER.index("Summary")
    edited = 0
    with Path(source).open(encoding="utf-8", newline="") as inp, \
            Path(target).open("w", encoding="utf-8", newline="") as out:
        reader = csv.reader(inp)
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(next(reader))
        for row in reader:
            if rng.random() < share:
                row[summary] += f" Edited in a later edition ({edited})."
                edited += 1
            writer.writerow(row)
    return edited


def aiid_rows(n: int, profile, seed: int = 3):
    """n synthetic face recognition incidents of the AIID, as lists in AIID_HEADER order."""
    rng = random.Random(seed)
    organisations, report = max(50, n // 3), 0
    for number in range(n):
        incident = FIRST_INCIDENT + number
        table = profile.incident_tables.draw(rng)[0]
        deployers, developers, harmed = profile.incident_entities.draw(rng)[0]
        organisation = rng.randrange(organisations)
        operator = "police-department" if rng.random() < profile.policing_share else "operator"
        people = [f"example-person-{number:06d}"] if table == "wrongful_arrests" else []
        groups = [f"example-residents-{organisation + k:06d}" for k in range(harmed - len(people))]
        entities = ([f"example-{operator}-{organisation + k:06d}" for k in range(deployers)],
                    [slug(v) or "unknown" for v in profile.vendors.draw(rng, developers)], people + groups)
        reports = profile.reports_per_incident.draw(rng)[0]
        country = profile.incident_countries.draw(rng)[0]
        description = _words(profile.incident_words, rng, profile.description_lengths.draw(rng)[0])
        title = _words(profile.incident_words, rng, profile.title_lengths.draw(rng)[0])
        yield [f"ObjectId({incident:024x})", str(incident), _day(rng).isoformat(),
               _json(list(range(report + 1, report + reports + 1))), *map(_json, entities),
               f"{description} In {country_name(country)}." if country else description,
               f"Synthetic incident {incident}: {TITLE_WORDS[table]}, {title}"]
        report += reports


def _json(value: list) -> str:
    return json.dumps(value, separators=(",", ":"))


def write_aiid_capture(folder: Path, n: int, profile, seed: int = 3) -> Path:
    """incidents.csv of n incidents, and duplicates.csv naming duplicates of some of them (at the
    measured rate, numbered after them, as most duplicates are absent from the real file); returns
    the path of incidents.csv."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with (folder / "incidents.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(AIID_HEADER)
        writer.writerows(aiid_rows(n, profile, seed))
    with (folder / "duplicates.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["duplicate_incident_number", "true_incident_number"])
        for number in range(round(n * profile.duplicate_share)):
            writer.writerow([FIRST_INCIDENT + n + number, FIRST_INCIDENT + rng.randrange(n)])
    return folder / "incidents.csv"


def add_last_seen(items_dir: Path, run_date: str) -> None:
    """Give every listed record of the snapshots in items_dir without a `last_seen` the day its
    source last listed it, `run_date`, on its line, in place."""
    for path in Path(items_dir).glob("*.jsonl"):
        rewritten = path.with_name(path.name + ".tmp")
        with path.open("rb") as inp, rewritten.open("wb") as out:
            for line in inp:
                record = orjson.loads(line)
                if record.get("listed") and not record.get("last_seen"):
                    record["last_seen"] = run_date
                out.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
        rewritten.replace(path)
