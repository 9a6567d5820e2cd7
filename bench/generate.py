"""Synthetic inputs at scale, drawn from the real distributions (bench/profile.py).

Everything generated is obviously synthetic ("Example Police Department 000042", example.org
links, summaries that start "Synthetic benchmark row") and is written only under the directory
the caller gives (bench/work/, which git ignores): never to data/items or the demo database.

- `write_atlas_csv`: an Atlas of Surveillance download (the 2020 edition's 25 columns, every field
  quoted, LF line ends) of n face recognition rows, as the atlas spider reads it.
- `write_news_snapshot`: AIID-shaped incidents with their news reports (titles, publishers,
  languages, dates), put through the real pipelines into a snapshot, as a news source would.
- `write_atlas_snapshot`: the atlas spider's own mapping of such a CSV, put through the same
  pipelines without the Scrapy engine (the spider benchmark runs the engine).
- `change_rows`: the same CSV with a given share of rows edited, for a nightly re-run.
"""

import csv
import random
from datetime import date, timedelta
from pathlib import Path

from pipelines.identify import identify, slug
from pipelines.normalise import normalise
from pipelines.store import Snapshot
from pipelines.validate import validate
from scrapers.items import ITEM_TYPES, DocumentRef
from scrapers.pipelines import item_to_record
from scrapers.spiders.atlas import AtlasSpider

ATLAS_HEADER = ["AOSNUMBER", "City", "County", "State", "Agency", "Type of LEA", "Summary",
                "Type of Juris", "Technology", "Vendor"] + [
    f"Link {n}{part}" for n in (1, 2, 3) for part in ("", " Snapshot", " Source", " Type", " Date")]
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


def news_items(n: int, profile, seed: int = 3):
    """n AIID-shaped incidents, each with the AIID citation and its news reports."""
    rng = random.Random(seed)
    organisations = max(50, n // 3)
    for number in range(n):
        table = profile.incident_tables.draw(rng)[0]
        incident = f"{900000 + number}"
        length = profile.title_lengths.draw(rng)[0]
        title = "Synthetic incident: " + _words(profile.incident_words, rng, length)
        reports = profile.reports_per_incident.draw(rng)[0]
        documents = [DocumentRef(url=f"https://example.org/aiid/cite/{incident}/", title=title,
                                 publisher="Example Incident Database", role="dataset")]
        for report in range(reports):
            words = profile.incident_words.draw(rng, profile.title_lengths.draw(rng)[0])
            language = profile.languages.draw(rng)[0]
            documents.append(DocumentRef(
                url=f"https://example.org/news/{language}/{incident}-{report}-{'-'.join(words[:6]).lower()}",
                title=" ".join(words), publisher=profile.publishers.draw(rng)[0],
                published=_day(rng).isoformat(), language=language))
        common = dict(source="aiid", source_id=incident, title=title, date=_day(rng).isoformat(),
                      summary=_words(profile.incident_words, rng, profile.description_lengths.draw(rng)[0]),
                      country=profile.countries.draw(rng)[0], documents=documents,
                      source_url=f"https://example.org/aiid/cite/{incident}/")
        organisation = rng.randrange(organisations)
        extra = {"wrongful_arrests": dict(person=f"Example Person {number}",
                                          agency=f"Example Police Department {organisation:06d}"),
                 "legal_actions": dict(kind="lawsuit", status="filed",
                                       target=f"Example Vendor {organisation:06d}"),
                 "deployments": dict(operator=f"Example Operator {organisation:06d}")}[table]
        yield ITEM_TYPES[table](**common, **extra)


def _snapshot(path: Path, items, run_date: str) -> Path:
    """Put items through validate, normalise, identify and the snapshot store, as a run does."""
    snapshot = Snapshot(path, run_date)
    for item in items:
        record, _ = normalise(validate(item_to_record(item)))
        snapshot.add(identify(record))
    result = snapshot.commit(run_ok=True)
    if not result.replaced:
        raise RuntimeError(f"the snapshot {path} was refused: {result.reason}")
    return path


def write_news_snapshot(items_dir: Path, n: int, profile, run_date: str, seed: int = 3) -> Path:
    return _snapshot(Path(items_dir) / "aiid.jsonl", news_items(n, profile, seed), run_date)


def write_atlas_snapshot(items_dir: Path, csv_path: Path, run_date: str) -> Path:
    spider = AtlasSpider()
    with Path(csv_path).open(encoding="utf-8", newline="") as handle:
        items = (spider.deployment(row) for row in csv.DictReader(handle))
        return _snapshot(Path(items_dir) / "atlas.jsonl", items, run_date)
