"""Item types: one dataclass per kind of evidence, plus the documents that report it.

A spider fills the fields as its source states them (dates and places as raw text); the
pipelines validate, normalise and identify them. Field names are the database's column names.
DocumentCheck and WaybackCopy are what the documents spider finds about a cited page.
DiscoveredDocument is what a discovery spider (feeds, gdelt) finds: a report for people to review.
"""

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(kw_only=True)
class DocumentRef:
    """A report, article, record or page that documents an event."""

    url: str
    title: str | None = None
    publisher: str | None = None
    published: str | None = None
    language: str | None = None
    archive_url: str | None = None
    role: str = "coverage"


@dataclass(kw_only=True)
class Event:
    """Fields every kind of event has."""

    table: ClassVar[str]

    source: str
    source_id: str
    title: str
    summary: str | None = None
    date: str | None = None
    date_basis: str | None = None  # what the date is (vocab.DATE_BASES); normalisation's default: event
    country: str | None = None
    region: str | None = None
    county: str | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    source_url: str | None = None
    verification: str = "as_published"
    caveat: str | None = None
    id: str | None = None
    merged_ids: list[str] = field(default_factory=list)
    documents: list[DocumentRef] = field(default_factory=list)
    # the organisations a source names as having deployed or developed the system (the AIID's
    # alleged deployers and developers); None where the source has no such lists
    deployers: list[str] | None = None
    developers: list[str] | None = None


@dataclass(kw_only=True)
class Deployment(Event):
    """One use of facial recognition by one operator in one place."""

    table: ClassVar[str] = "deployments"

    operator: str | None = None
    vendors: list[str] = field(default_factory=list)
    system: str | None = None
    sector: str = "unknown"
    mode: str = "unknown"
    status: str = "unknown"
    end_date: str | None = None


@dataclass(kw_only=True)
class WrongfulArrest(Event):
    """One person wrongly arrested or detained after a facial recognition match."""

    table: ClassVar[str] = "wrongful_arrests"

    person: str | None = None
    agency: str | None = None
    vendors: list[str] = field(default_factory=list)
    system: str | None = None
    charges: str | None = None
    days_detained: int | None = None
    outcome: str | None = None
    lawsuit: str | None = None
    settlement: str | None = None


@dataclass(kw_only=True)
class LegalAction(Event):
    """One ban, moratorium, law, bill, ruling, regulator decision, fine or company moratorium."""

    table: ClassVar[str] = "legal_actions"

    kind: str
    status: str
    jurisdiction_level: str | None = None
    jurisdiction: str | None = None
    scope: str | None = None
    target: str | None = None
    amount: float | None = None
    currency: str | None = None
    end_date: str | None = None


@dataclass(kw_only=True)
class Declaration(Event):
    """One declaration, open letter, citizens' initiative or petition of civil society (curated only)."""

    table: ClassVar[str] = "declarations"

    kind: str
    organisers: str | None = None
    signatories: int | None = None
    signatories_qualifier: str | None = None
    signatories_date: str | None = None
    signatory_kind: str | None = None
    demand: str | None = None
    addressed_to: str | None = None
    scope: str | None = None
    end_date: str | None = None


ITEM_TYPES = {cls.table: cls for cls in (Deployment, WrongfulArrest, LegalAction, Declaration)}


@dataclass(kw_only=True)
class DocumentCheck:
    """What fetching one cited document found (the documents spider): its answer, and digests."""

    document_id: str
    url: str
    fetched: str
    http_status: int | None = None
    content_sha256: str | None = None
    text_sha256: str | None = None
    content_type: str | None = None
    bytes: int | None = None
    warc: str | None = None
    record: str | None = None
    error: str | None = None
    page_title: str | None = None  # the page's own title (og:title, else <title>), whitespace collapsed


@dataclass(kw_only=True)
class WaybackCopy:
    """Whether the Wayback Machine holds a copy of a cited document, and where."""

    document_id: str
    wayback_url: str | None = None


@dataclass(kw_only=True)
class DiscoveredDocument:
    """A report a discovery spider found (a feed's entry, a GDELT article): never evidence by itself,
    only material for a lead that a person reviews (pipelines/discover)."""

    url: str
    title: str | None = None
    publisher: str | None = None
    published: str | None = None  # as the source gives it: an RFC 822 date, GDELT's 20250629T151500Z
    language: str | None = None  # ISO 639-1
    summary: str | None = None  # the feed's own description, if it gives one
    spider: str
    query: str  # the feed or the search that listed it
