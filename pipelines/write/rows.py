"""The rows one event record gives, written into the database being built.

An event record gives its row in its table, a citation of each document it cites, a link to each
organisation it names, and the organisations and documents themselves. Many records cite one
document and name one organisation: each is one row. The first record naming an organisation
gives its name and kind; each column of a document takes the first value any record citing it
gives (records in the order they are written), with the earliest first_seen and latest last_seen
of those records (an upsert, UPSERT_DOCUMENT). Rows are bound as tuples in column order and
written with executemany a batch at a time, in the caller's transaction.
"""

import datetime
import json
import sqlite3

from pipelines.clean.organisations import named_organisations, organisation_id, organisation_kind, registry
from pipelines.clean.placenames import region_en
from pipelines.clean.places import country_name
from pipelines.vocab import EVENT_TABLES
from pipelines.write.schema import COLUMNS

BATCH = 5_000
PLAIN = frozenset({str, int, float, type(None)})
DOCUMENT_COLUMNS = COLUMNS["documents"]
SOURCE_AT, FIRST_SEEN_AT, LAST_SEEN_AT = (DOCUMENT_COLUMNS.index(c) for c in ("source", "first_seen",
                                                                               "last_seen"))
# A document's first value of each column stays; first_seen and last_seen widen.
_FIRST = [c for c in DOCUMENT_COLUMNS if c not in ("id", "source", "first_seen", "last_seen")]
_SET = ([f"[{c}] = coalesce([{c}], excluded.[{c}])" for c in _FIRST]
        + [f"{c} = coalesce({pick}({c}, excluded.{c}), {c}, excluded.{c})"
           for c, pick in (("first_seen", "min"), ("last_seen", "max"))])
UPSERT_DOCUMENT = (f"insert into documents ({', '.join(f'[{c}]' for c in DOCUMENT_COLUMNS)}) "
                   f"values ({', '.join('?' for _ in DOCUMENT_COLUMNS)}) on conflict(id) do update "
                   f"set {', '.join(_SET)}")


def stored(value):
    """A value as sqlite-utils stores it: lists and dicts as JSON text, dates as ISO text."""
    if value.__class__ in PLAIN:
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def _insert(table: str, verb: str = "insert") -> str:
    columns = COLUMNS[table]
    return (f"{verb} into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"values ({', '.join('?' for _ in columns)})")


SQL = {**{table: _insert(table) for table in EVENT_TABLES},
       "citations": _insert("citations", "insert or ignore"),
       "event_organisations": _insert("event_organisations", "insert or ignore"),
       "organisations": _insert("organisations"), "documents": UPSERT_DOCUMENT}


def _country_name(code: str | None) -> str | None:
    try:
        return country_name(code) if code else None
    except (AttributeError, LookupError):  # a code no list knows (normalisation refuses those)
        return None


def event_row(record: dict, added: str | None = None) -> tuple:
    """The record's row in its event table, in column order: vendors joined, listed as 0 or 1, the
    year of its date, its country's and region's names in English, and `added`, the day its id
    entered the evidence base."""
    made = {"vendor": "; ".join(record.get("vendors") or []) or None, "added": added,
            "listed": int(record.get("listed", True)),
            "year": int(record["date"][:4]) if record.get("date") else None,
            "country_name": _country_name(record.get("country")),
            "region_en": region_en(record.get("region_code"))}
    return tuple(stored(made[c] if c in made else record.get(c)) for c in COLUMNS[record["table"]])


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(a, b) if a and b else a or b or None


def _latest(a: str | None, b: str | None) -> str | None:
    return max(a, b) if a and b else a or b or None


def document_row(document: dict, record: dict) -> tuple:
    """The row a document cited by a record gives, before it is upserted with the others: its
    source is the record's unless it names one, and its days widen to the record's."""
    values = [document.get(c) for c in DOCUMENT_COLUMNS]
    values[SOURCE_AT] = document.get("source") or record["source"]
    values[FIRST_SEEN_AT] = _earliest(document.get("first_seen"), record.get("first_seen"))
    values[LAST_SEEN_AT] = _latest(document.get("last_seen"), record.get("last_seen"))
    return tuple(values)


class RowWriter:
    """Writes records' rows into an open database whose tables exist (pipelines/write/schema.py), starting
    with the organisations of the curated registry (data/curated/organisations.yml).

    `published` maps each registered id to the day it was first published (data/published_ids.txt):
    an event row's `added`; an id not registered yet was added on `today`, the build's day."""

    def __init__(self, conn: sqlite3.Connection, published: dict[str, str] | None = None,
                 today: str | None = None):
        self.conn = conn
        self.published = published or {}
        self.today = today
        self.pending: dict[str, list[tuple]] = {table: [] for table in SQL}
        self.queued = 0
        self.organisations: set[str] = set()
        for organisation in registry():
            org_id = organisation_id(organisation["name"])
            self.organisations.add(org_id)
            self.pending["organisations"].append((
                org_id, organisation["name"], organisation.get("kind"), organisation.get("country"),
                organisation.get("website"), stored(sorted(organisation.get("aliases", [])))))

    def add(self, record: dict) -> None:
        """Queue the record's rows; a batch is written every BATCH records."""
        record_id, table = record["id"], record["table"]
        self.pending[table].append(event_row(record, self.published.get(record_id, self.today)))
        cited = sorted({d["id"]: d for d in reversed(record["documents"])}.items())
        self.pending["citations"] += [(record_id, doc_id, table, d.get("role"), None) for doc_id, d in cited]
        self.pending["documents"] += [document_row(d, record) for d in record["documents"]]
        links = []
        for name, role in named_organisations(record):
            org_id = organisation_id(name)
            links.append((record_id, org_id, table, role))
            if org_id not in self.organisations:
                self.organisations.add(org_id)
                self.pending["organisations"].append(
                    (org_id, name, organisation_kind(name, role), None, None, "[]"))
        self.pending["event_organisations"] += sorted(links)
        self.queued += 1
        if self.queued >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write every queued row, parents (documents, organisations) before the rows naming them."""
        for table in ("documents", "organisations", *EVENT_TABLES, "citations", "event_organisations"):
            if self.pending[table]:
                self.conn.executemany(SQL[table], self.pending[table])
                self.pending[table] = []
        self.queued = 0
