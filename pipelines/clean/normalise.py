"""Normalisation: dates to ISO with precision, places to ISO codes and coordinates, names tidied.

A value that cannot be normalised (a date that is no date, a region no list knows) is dropped
from the record and reported as a problem; the evidence itself is kept. An unknown country is
the exception: without it a record cannot be placed at all, so it is refused.
"""

from pipelines.clean.dates import parse_date_or_reason
from pipelines.clean.organisations import canonicalise
from pipelines.clean.places import UnknownPlace, country_code, locate, region
from pipelines.clean.validate import InvalidRecord

TEXT_FIELDS = ("title", "summary", "place", "county", "operator", "agency", "system", "person",
               "charges", "outcome", "lawsuit", "settlement", "jurisdiction", "scope", "target",
               "caveat")


def _tidy(value):
    """Text with its whitespace collapsed (None if nothing is left); any other value as it is."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else value


def _date(record: dict, field: str, problems: list[str]) -> None:
    raw = record.get(field)
    parsed, reason = (None, None) if raw is None else parse_date_or_reason(str(raw))
    if reason:
        problems.append(f"unparseable_date: {field} {reason}")
    record[field] = parsed[0] if parsed else None
    record[f"{field}_precision"] = parsed[1] if parsed else None


def _place(record: dict, problems: list[str]) -> None:
    if record.get("country"):  # the one refusal normalisation makes
        try:
            record["country"] = country_code(str(record["country"]))
        except UnknownPlace as error:
            raise InvalidRecord("country", record["country"], str(error)) from None
    record["region_code"] = None
    if record.get("region") and record.get("country"):
        try:
            record["region_code"], record["region"] = region(record["country"], record["region"])
        except UnknownPlace as error:
            problems.append(f"unknown_region: {error}")
            record["region"] = None
    if record.get("latitude") is not None and record.get("longitude") is not None:
        record["geo_precision"] = record.get("geo_precision") or "source"
        return
    point = locate(record.get("country"), record.get("region"), record.get("county"),
                   record.get("place"))
    record["latitude"] = point.latitude if point else None
    record["longitude"] = point.longitude if point else None
    record["geo_precision"] = point.precision if point else None


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
    for field in TEXT_FIELDS:
        if isinstance(value := record.get(field), str):
            record[field] = _tidy(value)
    canonicalise(record)
    _date(record, "date", problems)
    if "end_date" in record:
        _date(record, "end_date", problems)
    _place(record, problems)
    _documents(record, problems)
    return record, problems
