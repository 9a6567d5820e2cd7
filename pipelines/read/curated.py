"""Curated evidence: the YAML files in data/curated/, one per table, turned into records.

A curated row is written by a person, so it must be complete: an explicit id, a title, a date,
a country (a declaration addressed to the whole world may have none), a summary and at least one
source with URL and publisher. Unlike a scraped item, a
curated row that breaks a rule stops the build with the file, id and field named: a curator
fixes it before it is published.
"""

import datetime
from pathlib import Path

import yaml

from pipelines.clean.identify import identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import InvalidRecord, validate
from pipelines.vocab import EVENT_TABLES
from scrapers.items import ITEM_TYPES

SOURCE = "curated"
REQUIRED = ("id", "title", "date", "summary", "sources")
# A declaration or open letter may address the whole world, so it may have no country.
REQUIRED_BY_TABLE = {"deployments": ("country",), "wrongful_arrests": ("country",),
                     "legal_actions": ("country", "jurisdiction_level", "jurisdiction"),
                     "declarations": ("kind",)}
SOURCE_FIELDS = {"url", "publisher", "published", "title", "role", "archive_url", "language"}


class CuratedError(ValueError):
    """A curated row that cannot be published as written."""


DATE_FIELDS = {"date", "end_date", "published", "signatories_date"}


def _dates_as_text(mapping: dict) -> dict:
    """YAML reads 2019-10-08 as a date and 2019 as a number; dates stay text here."""
    return {k: (v.isoformat() if isinstance(v, datetime.date) else str(v))
            if k in DATE_FIELDS and v is not None else v for k, v in mapping.items()}


def curated_record(table: str, row: dict) -> dict:
    """One curated row as a validated, normalised, identified record."""
    fields = set(ITEM_TYPES[table].__dataclass_fields__)
    allowed = fields | {"sources"} | ({"vendor"} if "vendors" in fields else set())
    unknown = sorted(set(row) - allowed - {"documents", "vendors", "source", "source_id"})
    if unknown:
        raise InvalidRecord(unknown[0], row[unknown[0]], "is not a field of " + table)
    for field in REQUIRED + REQUIRED_BY_TABLE.get(table, ()):
        if row.get(field) in (None, "", []):
            raise InvalidRecord(field, row.get(field), "is required in a curated row")
    signatories = row.get("signatories")
    if signatories is not None and (isinstance(signatories, bool) or not isinstance(signatories, int)
                                    or signatories < 1 or not row.get("signatories_qualifier")):
        raise InvalidRecord("signatories", signatories,
                            "must be a whole number above 0, with its signatories_qualifier")
    for source in row["sources"]:
        if not isinstance(source, dict) or not source.get("url") or not source.get("publisher"):
            raise InvalidRecord("sources", source, "each source needs a url and a publisher")
        if set(source) - SOURCE_FIELDS:
            raise InvalidRecord("sources", source, f"fields must be among {sorted(SOURCE_FIELDS)}")
    record = {f: None for f in ITEM_TYPES[table].__dataclass_fields__}
    record.update(_dates_as_text({k: v for k, v in row.items() if k not in ("sources", "vendor")}))
    record.update(table=table, source=SOURCE, source_id=row["id"], merged_ids=[],
                  verification=row.get("verification", "checked"))
    vendor = row.get("vendor")
    if "vendors" in record:
        record["vendors"] = [vendor] if isinstance(vendor, str) else list(vendor or [])
    record["documents"] = [_dates_as_text(source) for source in row["sources"]]
    record, problems = normalise(validate(record))
    if problems:
        raise InvalidRecord("value", problems[0], "could not be normalised")
    return identify(record)


def load_curated(directory: Path) -> list[dict]:
    """Every curated event record, in file order; raises CuratedError naming file, row and field."""
    records = []
    for table in EVENT_TABLES:
        path = Path(directory) / f"{table}.yml"
        if not path.exists():
            continue
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        seen = set()
        for number, row in enumerate(rows, 1):
            where = f"{path.name} row {number} ({row.get('id', 'no id')})"
            try:
                record = curated_record(table, row)
            except InvalidRecord as error:
                raise CuratedError(f"{where}: {error}") from None
            if record["id"] in seen:
                raise CuratedError(f"{where}: id {record['id']!r} is used twice")
            seen.add(record["id"])
            records.append(record)
    return records
