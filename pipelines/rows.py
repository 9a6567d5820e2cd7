"""The rows one event record gives, written straight into the database being built.

An event record gives its row in its table, a citation of each document it cites, a link to each
organisation it names, and the organisations and documents themselves. Many records cite one
document and name one organisation: each is one row, the first record naming an organisation
gives its name and kind, and each column of a document takes the first value any record citing
it gives (records in id order; a merged record after the records merged into it), with the earliest
first_seen and latest last_seen of those records. Rows are written in batches, in the caller's transaction; `remove` takes back the rows
of records that were merged into another (the merged record is added in their place).
"""

from pipelines.organisations import named_organisations, organisation_id, organisation_kind, registry
from pipelines.schema import COLUMNS
from pipelines.tables import stored
from pipelines.vocab import EVENT_TABLES

BATCH = 5_000
DOCUMENT_COLUMNS = COLUMNS["documents"]
SEEN = ("first_seen", "last_seen")
# A document's first value of each column stays; first_seen and last_seen widen.
_KEEP = ", ".join(f"[{c}] = coalesce([{c}], excluded.[{c}])" for c in DOCUMENT_COLUMNS
                  if c not in ("id", "source", *SEEN))
UPSERT_DOCUMENT = (
    f"insert into documents ({', '.join(f'[{c}]' for c in DOCUMENT_COLUMNS)}) "
    f"values ({', '.join('?' for _ in DOCUMENT_COLUMNS)}) on conflict(id) do update set {_KEEP}, "
    "first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen), "
    "last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)")


def event_row(record: dict) -> tuple:
    """The record's row in its event table, in column order."""
    row = {column: record.get(column) for column in COLUMNS[record["table"]]}
    if "vendor" in row:
        row["vendor"] = "; ".join(record.get("vendors") or []) or None
    row["listed"] = int(record.get("listed", True))
    row["year"] = int(record["date"][:4]) if record.get("date") else None
    return tuple(stored(row[c]) for c in COLUMNS[record["table"]])


def _insert(table: str, verb: str = "insert") -> str:
    columns = COLUMNS[table]
    return (f"{verb} into [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
            f"values ({', '.join('?' for _ in columns)})")


def _seen(document: dict, record: dict, column: str, pick):
    values = [v for v in (document.get(column), record.get(column)) if v]
    return pick(values) if values else None


class RowWriter:
    """Writes records' rows into an open database whose tables exist (pipelines/schema.py)."""

    def __init__(self, conn):
        self.conn = conn
        self.pending: dict[str, list[tuple]] = {}
        self.sql = {table: _insert(table) for table in EVENT_TABLES}
        self.sql.update(citations=_insert("citations", "insert or ignore"),
                        event_organisations=_insert("event_organisations", "insert or ignore"),
                        organisations=_insert("organisations", "insert or ignore"),
                        documents=UPSERT_DOCUMENT)
        self.organisations: set[str] = set()
        self._queue("organisations", [
            (organisation_id(o["name"]), o["name"], o.get("kind"), o.get("country"), o.get("website"),
             stored(sorted(o.get("aliases", []))))
            for o in sorted(registry(), key=lambda o: organisation_id(o["name"]))])
        self.queued = 0

    def _queue(self, table: str, rows: list[tuple]) -> None:
        self.pending.setdefault(table, []).extend(rows)

    def add(self, record: dict) -> None:
        """Queue the record's rows."""
        record_id, table = record["id"], record["table"]
        self._queue(table, [event_row(record)])
        cited = sorted({d["id"]: d for d in reversed(record["documents"])}.items())
        self._queue("citations", [(record_id, doc_id, table, d.get("role"), None) for doc_id, d in cited])
        self._queue("documents", [self._document(d, record) for d in record["documents"]])
        links = []
        for name, role in named_organisations(record):
            org_id = organisation_id(name)
            links.append((record_id, org_id, table, role))
            if org_id not in self.organisations:
                self.organisations.add(org_id)
                kind = organisation_kind(name, role)
                self._queue("organisations", [(org_id, name, kind, None, None, "[]")])
        self._queue("event_organisations", sorted(links))
        self.queued += 1
        if self.queued >= BATCH:
            self.flush()

    @staticmethod
    def _document(document: dict, record: dict) -> tuple:
        values = {c: document.get(c) for c in DOCUMENT_COLUMNS}
        values["source"] = document.get("source") or record["source"]
        values["first_seen"] = _seen(document, record, "first_seen", min)
        values["last_seen"] = _seen(document, record, "last_seen", max)
        return tuple(stored(values[c]) for c in DOCUMENT_COLUMNS)

    def remove(self, records: list[dict]) -> None:
        """Take back the rows of these records (not their documents and organisations)."""
        self.flush()
        for record in records:
            key = (record["id"],)
            self.conn.execute(f"delete from [{record['table']}] where id = ?", key)
            self.conn.execute("delete from citations where event_id = ?", key)
            self.conn.execute("delete from event_organisations where event_id = ?", key)

    def flush(self) -> None:
        for table in ("organisations", "documents", *EVENT_TABLES, "citations", "event_organisations"):
            rows = self.pending.pop(table, None)
            if rows:
                self.conn.executemany(self.sql[table], rows)
        self.queued = 0
