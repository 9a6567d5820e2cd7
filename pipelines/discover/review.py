"""A person's review of a lead: promoted to a curated row, or rejected with the reason why.

    python -m pipelines.discover.review promote LEAD [--set "kind=ban status=enacted ..."]
    python -m pipelines.discover.review reject LEAD --reason "a study, not an event"

(`make promote lead=...`, `make reject lead=... reason=...`). Both read the lead and its documents
from the built database (`leads`, `discovered_documents`) and add a line to data/leads_reviewed.csv
(lead, status, reason, who, when, the lead's documents, the curated row it became); the build reads
that file, marks the lead and keeps its documents out of new leads. A lead is reviewed once.

Promoting a lead about a new event appends one entry to data/curated/<table>.yml: its id made of the
table's prefix, country, place and year, a title and summary that say only what discovery found
(a curator rewrites them), the lead's country, place, agency or operator, vendor and date, its
documents as sources, `verification: partly` and the caveat "promoted from discovery lead ID; check
before publishing". `--set` adds or overrides fields (a legal action needs kind, status,
jurisdiction_level and jurisdiction). The entry must pass the build's checks for curated rows, or
nothing is written. A lead that may report a curated event adds its documents to that row's
sources instead (those it does not cite yet); one that may report a scraped row cannot be promoted
(cite its documents from a curated row, or reject it).
"""

import argparse
import csv
import getpass
import json
import os
import re
import shlex
import sqlite3
from datetime import date
from pathlib import Path

import yaml

from pipelines.clean.identify import document_id, slug
from pipelines.clean.places import country_name
from pipelines.discover.known import KIND_TABLES
from pipelines.read.curated import CuratedError, curated_record, load_curated
from pipelines.vocab import ID_PREFIXES

DATA = Path(__file__).resolve().parents[2] / "data"
LEDGER_FIELDS = ("lead", "status", "reason", "who", "when", "documents", "entry")
TITLES = {"deployments": "Face recognition deployment reported in {where}",
          "wrongful_arrests": "Wrongful arrest after a face recognition match reported in {where}",
          "legal_actions": "Legal action on face recognition reported in {where}"}
# where a lead's agency and vendor go; a legal action's agency is often its regulator, not its target
ORGANISATION_FIELDS = {"deployments": ("operator", "vendor"), "wrongful_arrests": ("agency", "vendor"),
                       "legal_actions": ()}
# what discovery cannot know of a deployment, said as unknown (a curator sets it with --set)
UNKNOWN = {"deployments": {"sector": "unknown", "mode": "unknown", "status": "unknown"}}


class ReviewError(ValueError):
    """A review that cannot be made as asked; the message says why."""


def read_reviewed(path: Path | None) -> dict[str, dict]:
    """The reviewed leads by id, each with its documents as a list."""
    if not path or not Path(path).exists():
        return {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return {row["lead"]: {**row, "documents": row["documents"].split()} for row in csv.DictReader(handle)}


def _record(ledger: Path, lead: dict, status: str, reason: str, who: str, entry: str | None = None) -> None:
    if lead["id"] in read_reviewed(ledger):
        raise ReviewError(f"{lead['id']} was already reviewed: see {ledger}")
    new = not ledger.exists()
    with ledger.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, LEDGER_FIELDS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow({"lead": lead["id"], "status": status, "reason": reason, "who": who,
                         "when": date.today().isoformat(), "entry": entry or "",
                         "documents": " ".join(document["id"] for document in lead["documents"])})


def read_lead(db_path: Path, lead_id: str) -> dict:
    """A lead of the built database, with its documents' rows."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        lead = conn.execute("select * from leads where id = ?", (lead_id,)).fetchone()
        if lead is None:
            raise ReviewError(f"no lead {lead_id} in {db_path}: build it first (make build)")
        ids = [document["id"] for document in json.loads(lead["documents"])]
        found = {row["id"]: dict(row) for row in conn.execute(
            f"select * from discovered_documents where id in ({', '.join('?' * len(ids))})", ids)}
    finally:
        conn.close()
    return {**dict(lead), "documents": [found[i] for i in ids if i in found]}


def sources_of(lead: dict) -> list[dict]:
    return [{key: value for key, value in (("url", document["url"]), ("publisher", document["publisher"]),
                                           ("published", document["published"]), ("title", document["title"]),
                                           ("language", document["language"]), ("role", "coverage")) if value}
            for document in lead["documents"]]


def new_entry(lead: dict, table: str, taken: set[str], settings: dict) -> dict:
    """The curated entry of a lead about a new event, checked as the build checks curated rows."""
    if not lead["country"] and "country" not in settings:
        raise ReviewError(f"{lead['id']} names no country: add one with --set country=XX")
    country = settings.get("country") or lead["country"]
    place = settings.get("place") or lead["place"]
    published = [document["published"] for document in lead["documents"] if document["published"]]
    day = settings.get("date") or lead["date"] or min(published, default=None)
    stem = f"{ID_PREFIXES[table]}-{country.lower()}-{slug(place or 'lead')}-{str(day)[:4]}"
    entry_id = stem if stem not in taken else f"{stem}-{lead['id'].removeprefix('lead-')[:6]}"
    publishers = sorted({document["publisher"] for document in lead["documents"] if document["publisher"]})
    entry = {"id": entry_id,
             "title": TITLES[table].format(where=", ".join(filter(None, (place, country_name(country))))),
             "date": str(day), "country": country, "place": place,
             **dict(zip(ORGANISATION_FIELDS[table], (lead["agency"], lead["vendor"]), strict=False)),
             "summary": f"Reported by {', '.join(publishers) or 'the sources below'} "
                        f"({len(lead['documents'])} document(s) found by discovery); a curator writes this "
                        "summary from the sources.",
             "verification": "partly",
             "caveat": f"promoted from discovery lead {lead['id']}; check before publishing",
             "sources": sources_of(lead), **UNKNOWN.get(table, {}), **settings}
    entry = {key: value for key, value in entry.items() if value is not None}
    try:
        curated_record(table, entry)
    except ValueError as error:
        raise ReviewError(f"{lead['id']} cannot become a row of {table}: {error}") from None
    return entry


def _append_entry(path: Path, entry: dict) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    added = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=110)
    path.write_text(text + ("" if not text or text.endswith("\n") else "\n") + added, encoding="utf-8")


def _add_sources(path: Path, event_id: str, sources: list[dict]) -> None:
    """Add sources at the end of a curated row's `sources:` list, leaving the rest of the file as it is."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = re.compile(rf"- id: ['\"]?{re.escape(event_id)}['\"]?\s*")
    start = next((i for i, line in enumerate(lines) if row.fullmatch(line)), None)
    if start is None:
        raise ReviewError(f"{event_id} is not a row of {path}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("- ")), len(lines))
    at = next((i for i in range(start, end) if lines[i].rstrip() == "  sources:"), None)
    if at is None:
        raise ReviewError(f"{event_id} in {path} has no sources list to add to")
    at += 1
    while at < end and lines[at].startswith("    "):
        at += 1
    added = yaml.safe_dump(sources, allow_unicode=True, sort_keys=False, width=110)
    lines[at:at] = ["    " + line if line.strip() else line for line in added.splitlines(keepends=True)]
    path.write_text("".join(lines), encoding="utf-8")


def _written(curated_dir: Path, path: Path, change) -> None:
    """Make a change to a curated file, and undo it unless every curated file still loads."""
    before = path.read_text(encoding="utf-8") if path.exists() else None
    change()
    try:
        load_curated(curated_dir)
    except (CuratedError, yaml.YAMLError) as error:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
        raise ReviewError(f"not written, {path.name} would not load: {error}") from None


def promote(lead_id: str, db_path: Path, curated_dir: Path, ledger: Path, settings: dict, who: str) -> str:
    """Make the lead a curated row (or its documents sources of one); the row's id."""
    lead = read_lead(db_path, lead_id)
    if lead["status"] != "open":
        raise ReviewError(f"{lead_id} is {lead['status']}, not open")
    if lead["event_id"]:
        path = Path(curated_dir) / f"{lead['event_table']}.yml"
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []
        row = next((row for row in rows or () if row["id"] == lead["event_id"]), None)
        if row is None:
            raise ReviewError(f"{lead_id} may report {lead['event_id']}, a scraped row: cite its documents "
                              "from a curated row, or reject the lead")
        cited = {document_id(source["url"]) for source in row.get("sources") or ()}
        sources = [source for source in sources_of(lead) if document_id(source["url"]) not in cited]
        if not sources:
            raise ReviewError(f"{lead['event_id']} cites every document of {lead_id} already: reject the "
                              "lead, saying so")
        _written(curated_dir, path, lambda: _add_sources(path, lead["event_id"], sources))
        entry_id, reason = lead["event_id"], f"documents added to the sources of {lead['event_id']}"
    else:
        table = KIND_TABLES[lead["kind"]]
        path = Path(curated_dir) / f"{table}.yml"
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []
        taken = {row["id"] for row in rows or ()}
        entry = new_entry(lead, table, taken, settings)
        _written(curated_dir, path, lambda: _append_entry(path, entry))
        entry_id, reason = entry["id"], f"promoted to {table} {entry['id']}"
    _record(ledger, lead, "promoted", reason, who, entry_id)
    return entry_id


def reject(lead_id: str, reason: str, db_path: Path, ledger: Path, who: str) -> None:
    if not reason.strip():
        raise ReviewError("say why the lead is rejected: --reason")
    lead = read_lead(db_path, lead_id)
    if lead["status"] != "open":
        raise ReviewError(f"{lead_id} is {lead['status']}, not open")
    _record(ledger, lead, "rejected", reason.strip(), who)


def parse_settings(text: str) -> dict:
    """`kind=ban "jurisdiction=City of Example"` → {"kind": "ban", "jurisdiction": "City of Example"}."""
    pairs = [part.partition("=") for part in shlex.split(text or "")]
    if bad := [key for key, sign, _ in pairs if not sign]:
        raise ReviewError(f"--set takes field=value pairs, not {bad}")
    return {key: value for key, _, value in pairs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.discover.review",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("promote", "reject"))
    parser.add_argument("lead")
    parser.add_argument("--db", type=Path, default=DATA / "evidence.db")
    parser.add_argument("--curated", type=Path, default=DATA / "curated")
    parser.add_argument("--ledger", type=Path, default=DATA / "leads_reviewed.csv")
    parser.add_argument("--set", default="", help='fields of the curated row: "kind=ban status=enacted"')
    parser.add_argument("--reason", default="")
    parser.add_argument("--who", default=os.environ.get("FRT_REVIEWER") or getpass.getuser())
    args = parser.parse_args(argv)
    try:
        if args.action == "promote":
            entry = promote(args.lead, args.db, args.curated, args.ledger, parse_settings(args.set), args.who)
            print(f"{args.lead} promoted: {entry} in {args.curated}; check it, then make build")
        else:
            reject(args.lead, args.reason, args.db, args.ledger, args.who)
            print(f"{args.lead} rejected; make build marks it")
    except ReviewError as error:
        parser.exit(1, f"{error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
