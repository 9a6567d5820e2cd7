"""Normalisation: dates to ISO with precision, places to ISO codes and coordinates, names tidied.

A date is the event's own unless the record says otherwise in `date_basis` (the Atlas: the
earliest report's date).

A value that cannot be normalised (a date that is no date, a region no list knows) is dropped
from the record and reported as a problem; the evidence itself is kept. An unknown country is
the exception: without it a record cannot be placed at all, so it is refused.
"""

from functools import lru_cache

from pipelines.clean.dates import parse_date_or_reason
from pipelines.clean.organisations import canonicalise
from pipelines.clean.places import UnknownPlace, country_code, locate, region
from pipelines.clean.validate import InvalidRecord

TEXT_FIELDS = frozenset(("title", "summary", "place", "county", "operator", "agency", "system", "person",
                         "charges", "outcome", "lawsuit", "settlement", "jurisdiction", "scope", "target",
                         "caveat"))


def _tidy(value):
    """Text with its whitespace collapsed (None if nothing is left); any other value as it is."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else value


def _date(record: dict, field: str, problems: list[str]) -> None:
    if (raw := record.get(field)) is None:
        record[field] = record[f"{field}_precision"] = None
        return
    parsed, reason = parse_date_or_reason(str(raw))
    if reason:
        problems.append(f"unparseable_date: {field} {reason}")
    record[field], record[f"{field}_precision"] = parsed or (None, None)


def _place(record: dict, problems: list[str]) -> None:
    located = record.get("latitude") is not None and record.get("longitude") is not None
    fields, problem = _placed(record.get("country"), record.get("region"), record.get("county"),
                              record.get("place"), located)
    record.update(fields)
    if problem:
        problems.append(problem)
    if located:
        record["geo_precision"] = record.get("geo_precision") or "source"


@lru_cache(maxsize=65536)  # a source names the same places on many rows
def _placed(country, region_text, county, place, located: bool) -> tuple[dict, str | None]:
    """The place fields a record's country, region, county and place give (its coordinates too,
    unless it has its own), and the problem met, if any."""
    fields, problem = {"region_code": None}, None
    if country:  # the one refusal normalisation makes
        try:
            country = fields["country"] = country_code(str(country))
        except UnknownPlace as error:
            raise InvalidRecord("country", country, str(error)) from None
    if region_text and country:
        try:
            fields["region_code"], region_text = region(country, region_text)
        except UnknownPlace as error:
            problem, region_text = f"unknown_region: {error}", None
        fields["region"] = region_text
    if not located:
        point = locate(country, region_text, county, place)
        fields["latitude"], fields["longitude"], fields["geo_precision"] = (
            (point.latitude, point.longitude, point.precision) if point else (None, None, None))
    return fields, problem


def _documents(record: dict, problems: list[str]) -> None:
    kept = []
    for document in record["documents"]:
        document["url"] = document["url"].strip()
        if not document["url"].startswith(("http://", "https://")):
            problems.append(f"bad_document_url: {document['url']!r} is not an http(s) URL")
            continue
        kept.append(document)
        document["title"] = _tidy(document.get("title"))
        document["publisher"] = _tidy(document.get("publisher"))
        document.setdefault("role", "coverage")
        _date(document, "published", problems)
    record["documents"] = kept


def normalise(record: dict) -> tuple[dict, list[str]]:
    """Return the normalised record and the problems met (each 'reason: detail'); InvalidRecord
    for a country no list knows."""
    problems: list[str] = []
    for field in TEXT_FIELDS.intersection(record):
        if isinstance(value := record[field], str):
            record[field] = " ".join(value.split()) or None
    canonicalise(record)
    _date(record, "date", problems)
    if record["date"] and not record.get("date_basis"):
        record["date_basis"] = "event"
    if "end_date" in record:
        _date(record, "end_date", problems)
    _place(record, problems)
    _documents(record, problems)
    return record, problems
