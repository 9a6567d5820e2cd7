"""Discovered documents as text: each found report made a record, and the spiders' files read back.

A record is keyed like any document of the evidence base: `doc-<hash of the canonical URL>`
(pipelines/clean/identify.py), so the same article under several addresses (tracking parameters,
`http`/`https`, `www.`) is one record, and a discovered article that a row already cites has that
row's document id. Its fields: url, canonical_url, title, publisher, published (ISO date), language,
summary (the feed's description as plain text, cut at SUMMARY_LENGTH), spider and the queries that
listed it; author only where the article spider read one off the page. Each discovery spider
keeps its records in `<discovered>/<spider>.jsonl`, a snapshot like
the sources' (pipelines/snapshot/store.py): sorted by id, first_seen kept, never marked gone.
"""

import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path

from w3lib.html import remove_tags, replace_entities

from pipelines.clean.identify import canonical_url, document_id
from pipelines.snapshot.store import records_in

SUMMARY_LENGTH = 600
GDELT_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T\d{6}Z$")
ISO_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})")


class NotADocument(ValueError):
    """A found entry that cannot be a document: `field` says what is missing or wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def plain(text: str | None, length: int | None = None) -> str | None:
    """Text without markup, entities decoded, whitespace collapsed; cut at a word under `length`."""
    if not text:
        return None
    words = " ".join(replace_entities(remove_tags(text)).split())
    if length and len(words) > length:
        words = words[:length].rsplit(" ", 1)[0] + " …"
    return words or None


def published_day(text: str | None) -> str | None:
    """The day a source says a document was published, as ISO 8601: from an RFC 822 date
    ("Wed, 25 Jun 2025 09:00:00 +0000", RSS), an ISO 8601 one (Atom) or GDELT's "20250625T090000Z";
    None for anything else."""
    if not text:
        return None
    text = text.strip()
    if match := GDELT_TIME.match(text):
        return "-".join(match.groups())
    if match := ISO_DAY.match(text):
        return match.group(1)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date().isoformat()


def record_of(found: dict) -> dict:
    """The record of one found entry (a DiscoveredDocument's fields); NotADocument if it has no web
    address or no title."""
    url = (found.get("url") or "").strip()
    if not re.match(r"https?://[^\s/]+", url):
        raise NotADocument("url", f"{found.get('query')}: {url or 'no address'!r} is not a web address")
    title = plain(found.get("title"))
    if not title:
        raise NotADocument("title", f"{found.get('query')}: {url} has no title")
    return {"id": document_id(url), "url": url, "canonical_url": canonical_url(url), "title": title,
            "publisher": plain(found.get("publisher")), "published": published_day(found.get("published")),
            "language": (found.get("language") or "").lower() or None,
            "summary": plain(found.get("summary"), SUMMARY_LENGTH),
            "spider": found["spider"], "queries": sorted(set(found.get("queries") or [found["query"]])),
            **({"author": plain(found["author"])} if found.get("author") else {})}


def merged(records: list[dict]) -> dict:
    """One record of a document several queries listed in one run, given in source order: the first
    one's fields, the union of the queries."""
    first = dict(records[0])
    first["queries"] = sorted({query for record in records for query in record["queries"]})
    return first


def read_discovered(directory: Path) -> list[dict]:
    """Every discovered document of every discovery spider, one record an id, in id order: where two
    spiders found one document, the first spider's record (by name) with the queries of both."""
    found: dict[str, dict] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        if path.name.endswith(".rejected.jsonl"):
            continue
        for record, _ in records_in(path):
            if record["id"] in found:
                known = found[record["id"]]
                known["queries"] = sorted(set(known["queries"]) | set(record["queries"]))
                known["first_seen"] = min(known["first_seen"], record["first_seen"])
            else:
                found[record["id"]] = record
    return [found[key] for key in sorted(found)]
