"""The database schema: every table's columns and types, keys, indexes, full-text search, views.

Every table has an explicit text primary key (or a compound key of text columns); rowids are
never exposed. Column descriptions for readers live in metadata.yml.
"""

import sqlite3
from pathlib import Path

import sqlite_utils

from pipelines.tables import primary_key
from pipelines.vocab import EVENT_KINDS

EVENT_COMMON = {
    "id": str, "title": str, "summary": str, "date": str, "date_precision": str, "year": int,
    "country": str, "region": str, "region_code": str, "county": str, "place": str,
    "latitude": float, "longitude": float, "geo_precision": str,
}
EVENT_PROVENANCE = {
    "verification": str, "caveat": str, "source": str, "source_id": str, "source_url": str,
    "first_seen": str, "last_seen": str, "listed": int,
}
TYPES = {
    "deployments": {**EVENT_COMMON, "operator": str, "vendor": str, "system": str, "sector": str,
                    "mode": str, "status": str, "end_date": str, "end_date_precision": str,
                    **EVENT_PROVENANCE},
    "wrongful_arrests": {**EVENT_COMMON, "person": str, "agency": str, "vendor": str,
                         "system": str, "charges": str, "days_detained": int, "outcome": str,
                         "lawsuit": str, "settlement": str, **EVENT_PROVENANCE},
    "legal_actions": {**EVENT_COMMON, "kind": str, "jurisdiction_level": str, "jurisdiction": str,
                      "status": str, "scope": str, "target": str, "amount": float,
                      "currency": str, "end_date": str, "end_date_precision": str,
                      **EVENT_PROVENANCE},
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
    "claims": {"id": str, "letter": str, "quote": str, "evidence_sql": str, "evidence_count": int,
               "evidence_ids": str, "measures": str, "threshold": int, "supported": str,
               "reason": str},
    "claim_evidence": {"evidence_id": str, "claim_id": str},
    "runs": {"run": str, "spider": str, "started": str, "finished": str, "duration_s": float,
             "status": str, "mode": str, "workers": int, "finish_reason": str, "items": int,
             "new": int, "changed": int, "unchanged": int, "restored": int, "gone": int,
             "dropped": int, "dropped_reasons": str, "problems": str, "requests": int,
             "conditional": int, "http_status": str, "snapshot": str, "error": str, "archives": str},
    "changes": {"run": str, "record_id": str, "event_table": str, "change": str, "diff": str},
    "captures": {"document_id": str, "fetched": str, "http_status": int, "content_sha256": str,
                 "text_sha256": str, "content_type": str, "bytes": int, "warc": str, "record": str},
    "evidence_counts": {"year": str, "kind": str, "country": str, "rows": int},
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
    "deployments": ("country", "region", "date", "year", "sector", "mode", "status", "operator", "source",
                    "verification"),
    "wrongful_arrests": ("country", "region", "date", "year", "agency", "source", "verification"),
    "legal_actions": ("country", "region", "date", "year", "kind", "jurisdiction_level", "status",
                      "source", "verification"),
    "documents": ("publisher", "published"),
    "citations": ("event_table", "role"),
    "event_organisations": ("organisation_id", "role"),
    "runs": ("spider", "status", "mode"),
    "changes": ("event_table", "change"),
    "captures": ("http_status", "content_type"),
    "id_aliases": ("survivor_table",),
    "match_candidates": ("left_table", "note"),
}
# The events citing a document, read from the index alone (matching groups three million citations
# by document: 0.6 s from this index, 7 s from one on document_id that looks each row up).
CITING = ("document_id", "event_id")
# Columns the site looks rows up by that are no facet, each index's: a document's events, a row's
# aliases; and each source's rows and latest last_seen, counted for the sources table from the index
# alone (0.8 s from the tables at a million rows, a night's delta build recounts them).
SEEN = ("source", "last_seen")
LOOKUPS = {"citations": (CITING,), "id_aliases": (("id",),), **{table: (SEEN,) for table in EVENT_KINDS}}
FTS_COLUMNS = {
    "deployments": ("title", "summary", "operator", "vendor", "place", "region"),
    "wrongful_arrests": ("title", "summary", "person", "agency", "vendor", "place", "region"),
    "legal_actions": ("title", "summary", "jurisdiction", "scope", "target", "place", "region"),
    "documents": ("title", "publisher", "url"),
}


FTS_HASH_BYTES = 64 << 20


def create_tables(db: sqlite_utils.Database) -> None:
    for table, types in TYPES.items():
        db[table].create(types, pk=PRIMARY_KEYS.get(table, "id"),
                         foreign_keys=FOREIGN_KEYS.get(table), not_null={"id"} & set(types))


def create_indexes(db: sqlite_utils.Database, tables: tuple[str, ...] | None = None) -> None:
    """The indexes of facet and lookup columns (of `tables` only, when given)."""
    for table, columns in FACETS.items():
        if tables is None or table in tables:
            for column in columns:
                db[table].create_index([column], if_not_exists=True)
    for table, indexes in LOOKUPS.items():
        if tables is None or table in tables:
            for columns in indexes:
                db[table].create_index(list(columns), if_not_exists=True)


def create_search_indexes(db: sqlite_utils.Database) -> None:
    """Full-text indexes over the filled tables, without triggers: the build keeps them in step.
    Each is made as sqlite-utils' enable_fts makes it, but told to keep up to FTS_HASH_BYTES of
    terms in memory before writing a segment (FTS5's default, 1 MiB, wrote ten times as many and
    took half again as long to merge them: 10.1 s against 5.8 s for a million deployments)."""
    for table, columns in FTS_COLUMNS.items():
        names = ", ".join(f'"{c}"' for c in columns)
        db.execute(f'CREATE VIRTUAL TABLE "{table}_fts" USING FTS5 (\n    {names},\n'
                   f'    tokenize=\'porter\',\n    content="{table}"\n)')
        db.execute(f"insert into [{table}_fts]([{table}_fts], rank) values ('hashsize', ?)", [FTS_HASH_BYTES])
        db[table].populate_fts(columns)


def dangling_keys(conn: sqlite3.Connection) -> list[tuple]:
    """(table, columns, values) of foreign keys that point nowhere, up to ten of each key: what PRAGMA
    foreign_key_check finds, but each distinct value looked up once, read from the column's index
    (under 1 s against 7 s for the 3 million citations and 2 million links of a million records)."""
    broken = []
    tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table' "
                                               "and name not like 'sqlite_%'")]
    for table in tables:
        keys: dict[int, list[tuple]] = {}
        for key in conn.execute(f"pragma foreign_key_list([{table}])"):
            keys.setdefault(key[0], []).append(key[2:5])  # the parent table, the column, the parent's column
        for pairs in keys.values():
            parent = pairs[0][0]
            columns = [column for _, column, _ in pairs]
            parents = [p for _, _, p in pairs] if pairs[0][2] else primary_key(conn, parent)
            chosen = ", ".join(f"[{c}]" for c in columns)
            known = " and ".join(f"v{n} is not null" for n in range(len(columns)))
            same = " and ".join(f"[{p}] = v{n}" for n, p in enumerate(parents))
            named = ", ".join(f"[{c}] as v{n}" for n, c in enumerate(columns))
            found = conn.execute(f"select * from (select distinct {named} from [{table}]) where {known} "
                                 f"and not exists (select 1 from [{parent}] where {same}) limit 10")
            broken += [(table, chosen, values) for values in found]
    return broken


def count_evidence(db: sqlite_utils.Database) -> None:
    """Fill evidence_counts (rows by year, kind and country): the database does not change once
    built, so the counts a chart of a million rows needs are made once, here."""
    db.execute("insert into evidence_counts select substr(date, 1, 4), kind, country, count(*) "
               "from evidence group by 1, 2, 3 order by 1, 2, 3")


def move_counts(db: sqlite_utils.Database, moves: dict[tuple, int]) -> None:
    """Move evidence_counts by rows gained (or lost, when negative) for each (year, kind, country),
    as count_evidence would count them again."""
    for key, rows in moves.items():
        if rows and not db.execute("update evidence_counts set rows = rows + ? where year is ? and kind is ? "
                                   "and country is ?", [rows, *key]).rowcount:
            db.execute("insert into evidence_counts values (?, ?, ?, ?)", [*key, rows])
    db.execute("delete from evidence_counts where rows = 0")


def create_views(db: sqlite_utils.Database) -> None:
    select = " union all ".join(
        f"select id, '{kind}' as kind, '{table}' as event_table, title, date, date_precision, year, "
        f"country, region, "
        f"place, latitude, longitude, summary, source, verification from {table}"
        for table, kind in EVENT_KINDS.items())
    db.create_view("evidence", select)


SCHEMA_SQL = "select type, name, tbl_name, sql from sqlite_master where type in ('table', 'index')"


def expected_schema() -> set[tuple]:
    """The tables and indexes a full build makes, from an empty database in memory."""
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    create_indexes(db)
    create_views(db)
    create_search_indexes(db)
    db["build"].insert({"key": "built_at", "value": ""}, pk="key")
    return set(db.conn.execute(SCHEMA_SQL))


def reusable(db_path: Path) -> bool:
    """Whether the database at db_path has exactly the tables and indexes this build makes."""
    if not Path(db_path).exists():
        return False
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            return set(conn.execute(SCHEMA_SQL)) == expected_schema()
    except sqlite3.DatabaseError:
        return False
