"""Tombstones: rows withdrawn from the evidence that still answer at their URL.

A row is withdrawn when its source was retracted or the row was an error. data/tombstones.yml
lists each withdrawn id with the reason and the day (`- {id: ..., reason: ..., date: YYYY-MM-DD}`).
The build leaves the row out of every table (an event with its citations and organisation links; a
document with its citations) and keeps its id, the table it was in, the reason and the day in
`tombstones`, so that its URL says why it is gone (HTTP 410, plugins/ids.py) and not just 404.
The ids a source had declared duplicates of a withdrawn event resolve to its tombstone, and the
documents and organisations no other row names get tombstones of their own.
"""

from pathlib import Path

from pipelines.clean.organisations import named_organisations, organisation_id
from pipelines.ledgers.files import read_ledger
from pipelines.vocab import ID_PREFIXES

FIELDS = {"id", "reason", "date"}
TABLE_OF_PREFIX = {prefix: table for table, prefix in ID_PREFIXES.items()}


class TombstoneError(ValueError):
    """A tombstones.yml entry that cannot be applied."""


def read_tombstones(path: Path | None) -> list[dict]:
    return read_ledger(path, FIELDS, TombstoneError)


def without_withdrawn_documents(record: dict, withdrawn: set[str]) -> dict:
    """The record without the withdrawn documents it cited; one left with none is an error."""
    documents = [d for d in record["documents"] if d["id"] not in withdrawn]
    if record["documents"] and not documents:
        raise TombstoneError(f"withdrawing {', '.join(d['id'] for d in record['documents'])} leaves "
                             f"{record['id']} without a document: withdraw it too, or cite another document")
    record["documents"] = documents
    return record


def tombstone_rows(tombstones: list[dict], tables: dict[str, str], registered: dict[str, str]) -> list[dict]:
    """The `tombstones` rows, sorted by id. `tables` maps the id of each withdrawn record, and of
    each withdrawn document a record cites, to its table; `registered` maps published ids to the
    table they were published in (data/published_ids.txt), which names the table of a row that no
    source gives any more."""
    rows = []
    for entry in tombstones:
        table = (tables.get(entry["id"]) or registered.get(entry["id"])
                 or TABLE_OF_PREFIX.get(entry["id"].split("-", 1)[0]))
        if table is None:
            raise TombstoneError(f"tombstone {entry['id']}: no row, registered id or id prefix says "
                                 "which table it was in")
        rows.append({"id": entry["id"], "withdrawn_from": table, "reason": entry["reason"].strip(),
                     "date": entry["date"]})
    return sorted(rows, key=lambda r: r["id"])


def orphans(gone: list[dict], tombstones: list[dict], present: set[str]) -> list[dict]:
    """Tombstones for the documents and organisations only withdrawn events named: they go with
    them, and their URLs say so too."""
    reasons = {t["id"]: t for t in tombstones}
    rows = {}
    for record in gone:
        tombstone = reasons[record["id"]]
        named = [(d["id"], "documents") for d in record["documents"]]
        named += [(organisation_id(name), "organisations") for name, _ in named_organisations(record)]
        for row_id, table in named:
            if row_id not in present and row_id not in reasons:
                rows.setdefault(row_id, {"id": row_id, "withdrawn_from": table, "date": tombstone["date"],
                                         "reason": f"only {record['id']} named it, and it was withdrawn: "
                                                   f"{tombstone['reason'].strip()}"})
    return [rows[k] for k in sorted(rows)]
