"""The database schema: every table's columns and types, keys, indexes, full-text search, views.

Every table has an explicit text primary key (or a compound key of text columns); rowids are
never exposed. Column descriptions for readers live in metadata.yml.
"""

import sqlite3

import sqlite_utils

from pipelines.vocab import EVENT_KINDS

EVENT_COMMON = {
    "id": str, "title": str, "summary": str, "date": str, "date_precision": str, "year": int,
    "country": str, "region": str, "region_code": str, "county": str, "place": str,
    "latitude": float, "longitude": float, "geo_precision": str,
}
# What a reader needs beside the codes: what the date is, the country's and region's English names.
EVENT_READABLE = {"date_basis": str, "country_name": str, "region_en": str}
EVENT_PROVENANCE = {
    "verification": str, "caveat": str, "source": str, "source_id": str, "source_url": str,
    "first_seen": str, "last_seen": str, "listed": int, "added": str,
}
# An event row's columns that a crawl or a build rewrites without any fact changing: when its
# source was first and last seen listing it, whether it still does, and the day its id entered the
# evidence base (data/published_ids.txt, or the build's day for a new id). A row's content hash
# leaves them out.
BOOKKEEPING = ("first_seen", "last_seen", "listed", "added")
# The organisations a source says deployed and developed the system (the AIID's), as JSON lists.
PARTIES = {"deployers": str, "developers": str}
TYPES = {
    "deployments": {**EVENT_COMMON, **EVENT_READABLE, "operator": str, "vendor": str, **PARTIES,
                    "system": str, "sector": str, "mode": str, "status": str, "end_date": str,
                    "end_date_precision": str, **EVENT_PROVENANCE},
    "wrongful_arrests": {**EVENT_COMMON, **EVENT_READABLE, "person": str, "agency": str, "vendor": str,
                         **PARTIES, "system": str, "charges": str, "days_detained": int,
                         "outcome": str, "lawsuit": str, "settlement": str, **EVENT_PROVENANCE},
    "legal_actions": {**EVENT_COMMON, **EVENT_READABLE, "kind": str, "jurisdiction_level": str,
                      "jurisdiction": str, "status": str, "scope": str, "target": str, **PARTIES,
                      "amount": float, "currency": str, "end_date": str, "end_date_precision": str,
                      **EVENT_PROVENANCE},
    "declarations": {**EVENT_COMMON, "kind": str, "organisers": str, "signatories": int,
                     "signatories_qualifier": str, "signatories_date": str, "signatory_kind": str,
                     "demand": str, "addressed_to": str, "scope": str, "end_date": str,
                     "end_date_precision": str, **EVENT_PROVENANCE},
    "documents": {"id": str, "url": str, "canonical_url": str, "title": str, "publisher": str,
                  "published": str, "published_precision": str, "language": str,
                  "archive_url": str, "source": str, "first_seen": str, "last_seen": str,
                  "content_sha256": str, "captured": str, "live_status": str, "live_checked": str},
    "citations": {"event_id": str, "document_id": str, "event_table": str, "role": str,
                  "quote": str},
    "organisations": {"id": str, "name": str, "kind": str, "country": str, "website": str,
                      "aliases": str},
    "event_organisations": {"event_id": str, "organisation_id": str, "event_table": str,
                            "role": str},
    "id_aliases": {"alias": str, "id": str, "survivor_table": str, "reason": str, "since": str},
    "tombstones": {"id": str, "withdrawn_from": str, "reason": str, "date": str},
    "match_candidates": {"left_id": str, "right_id": str, "left_table": str, "right_table": str,
                         "score": float, "fields": str, "note": str},
    "sources": {"id": str, "name": str, "homepage": str, "kind": str, "licence": str,
                "licence_url": str, "coverage": str, "caveats": str, "rows": int, "last_run": str},
    "claims": {"id": str, "letter": str, "letter_id": str, "letter_date": str, "quote": str,
               "evidence_sql": str, "evidence_count": int, "before_count": int, "after_count": int,
               "evidence_ids": str, "measures": str, "threshold": int, "query_verdict": str,
               "verdict_by": str, "supported": str, "note": str, "reason": str},
    "claim_evidence": {"evidence_id": str, "claim_id": str, "timing": str},
    "runs": {"run": str, "spider": str, "started": str, "finished": str, "duration_s": float,
             "status": str, "mode": str, "workers": int, "finish_reason": str, "items": int,
             "new": int, "changed": int, "unchanged": int, "restored": int, "gone": int,
             "dropped": int, "dropped_reasons": str, "problems": str, "requests": int,
             "conditional": int, "http_status": str, "snapshot": str, "error": str, "archives": str},
    "changes": {"run": str, "record_id": str, "event_table": str, "change": str, "diff": str},
    "captures": {"document_id": str, "fetched": str, "http_status": int, "content_sha256": str,
                 "text_sha256": str, "content_type": str, "bytes": int, "warc": str, "record": str},
    "evidence_counts": {"year": str, "kind": str, "country": str, "rows": int},
    # discovery (pipelines/discover): leads for a person to review, and every document found
    "leads": {"id": str, "kind": str, "confidence": float, "country": str, "place": str, "agency": str,
              "vendor": str, "date": str, "title": str, "documents": str, "status": str, "reason": str,
              "event_id": str, "event_table": str, "first_seen": str},
    "discovered_documents": {"id": str, "url": str, "title": str, "publisher": str, "published": str,
                             "language": str, "spider": str, "queries": str, "first_seen": str, "frt": int,
                             "kind": str, "confidence": float, "lead_id": str, "reason": str},
}
COLUMNS = {table: tuple(types) for table, types in TYPES.items()}
PRIMARY_KEYS = {"citations": ("event_id", "document_id"), "runs": "run", "changes": ("run", "record_id"),
                "captures": ("document_id", "content_sha256"),
                "event_organisations": ("event_id", "organisation_id", "role"),
                "id_aliases": "alias", "match_candidates": ("left_id", "right_id"),
                "claim_evidence": ("evidence_id", "claim_id"),
                "evidence_counts": ("year", "kind", "country")}
FOREIGN_KEYS = {"citations": [("document_id", "documents", "id")],
                "changes": [("run", "runs", "run")],
                "captures": [("document_id", "documents", "id")],
                "event_organisations": [("organisation_id", "organisations", "id")],
                "claim_evidence": [("claim_id", "claims", "id")]}
FACETS = {
    "deployments": ("country", "country_name", "region", "region_en", "date", "year", "sector", "mode",
                    "status", "operator", "source", "verification"),
    "wrongful_arrests": ("country", "country_name", "region", "region_en", "date", "year", "agency",
                         "source", "verification"),
    "legal_actions": ("country", "country_name", "region", "region_en", "date", "year", "kind",
                      "jurisdiction_level", "status", "source", "verification"),
    "declarations": ("country", "date", "year", "kind", "signatory_kind", "source", "verification"),
    "documents": ("publisher", "published"),
    "citations": ("event_table", "role"),
    "event_organisations": ("organisation_id", "role"),
    "runs": ("spider", "status", "mode"),
    "changes": ("event_table", "change"),
    "captures": ("http_status", "content_type"),
    "id_aliases": ("survivor_table",),
    "match_candidates": ("left_table", "note"),
    "claim_evidence": ("claim_id", "timing"),
    "leads": ("status", "kind", "country"),
    "discovered_documents": ("spider", "language", "kind", "reason", "lead_id"),
}
# Columns the site looks rows up by that are no facet: a document's events, a row's aliases.
LOOKUPS = {"citations": (("document_id", "event_id"),), "id_aliases": (("id",),)}
FTS_COLUMNS = {
    "deployments": ("title", "summary", "operator", "vendor", "place", "region"),
    "wrongful_arrests": ("title", "summary", "person", "agency", "vendor", "place", "region"),
    "legal_actions": ("title", "summary", "jurisdiction", "scope", "target", "place", "region"),
    "declarations": ("title", "summary", "organisers", "demand", "addressed_to", "scope", "place"),
    "documents": ("title", "publisher", "url"),
}



def create_tables(db: sqlite_utils.Database) -> None:
    for table, types in TYPES.items():
        db[table].create(types, pk=PRIMARY_KEYS.get(table, "id"),
                         foreign_keys=FOREIGN_KEYS.get(table), not_null={"id"} & set(types))


def create_indexes(db: sqlite_utils.Database) -> None:
    """The indexes of facet and lookup columns."""
    for table, columns in FACETS.items():
        for column in columns:
            db[table].create_index([column])
    for table, indexes in LOOKUPS.items():
        for columns in indexes:
            db[table].create_index(list(columns))


def create_search_indexes(db: sqlite_utils.Database) -> None:
    """Full-text indexes (FTS5, Porter stemming) over the filled tables, without triggers: the
    database does not change once built."""
    for table, columns in FTS_COLUMNS.items():
        db[table].enable_fts(list(columns), tokenize="porter")


def dangling_keys(conn: sqlite3.Connection) -> list[tuple]:
    """(table, rowid, parent table) of each foreign key that points nowhere (PRAGMA foreign_key_check)."""
    return [tuple(row[:3]) for row in conn.execute("pragma foreign_key_check")]


def count_evidence(db: sqlite_utils.Database) -> None:
    """Fill evidence_counts (rows by year, kind and country): the database does not change once
    built, so the counts a chart of a million rows needs are made once, here."""
    db.execute("insert into evidence_counts select substr(date, 1, 4), kind, country, count(*) "
               "from evidence group by 1, 2, 3 order by 1, 2, 3")


def create_views(db: sqlite_utils.Database) -> None:
    select = " union all ".join(
        f"select id, '{kind}' as kind, '{table}' as event_table, title, date, date_precision, year, "
        f"country, region, "
        f"place, latitude, longitude, summary, source, verification from {table}"
        for table, kind in EVENT_KINDS.items())
    db.create_view("evidence", select)
