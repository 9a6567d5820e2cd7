"""Ledgers: the hand-written lists the build obeys, read and checked the same way.

The YAML ledgers (data/tombstones.yml, data/redactions.yml) are lists of entries with exactly the
fields their module names, among them a `reason` and a `date` (YYYY-MM-DD; YAML's own dates become
that text). The CSV ledgers (data/decisions.csv, data/aliases.csv) have a fixed header. An entry
that breaks a rule stops the build, named by file and position.
"""

import csv
import datetime
import re
from pathlib import Path

import yaml

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read_ledger(path: Path | None, fields: set[str], error: type[ValueError]) -> list[dict]:
    """The entries of a ledger, or [] when there is none; raises `error` naming a bad entry."""
    if path is None or not Path(path).exists():
        return []
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    seen = set()
    for number, entry in enumerate(entries, 1):
        where = f"{Path(path).name} entry {number}"
        if not isinstance(entry, dict) or set(entry) != fields:
            raise error(f"{where}: needs exactly the fields {', '.join(sorted(fields))}")
        if isinstance(entry["date"], datetime.date):
            entry["date"] = entry["date"].isoformat()
        if not ISO_DAY.match(str(entry["date"])) or not str(entry["reason"]).strip():
            raise error(f"{where} ({entry['id']}): needs a reason and a date YYYY-MM-DD")
        if entry["id"] in seen:
            raise error(f"{where}: {entry['id']} is listed twice")
        seen.add(entry["id"])
    return entries


def read_csv_ledger(path: Path | None, fields: tuple[str, ...],
                    error: type[ValueError]) -> list[tuple[int, dict]]:
    """(line number, row with values stripped) of a CSV ledger whose header must be `fields`."""
    if path is None or not Path(path).exists():
        return []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != fields:
            raise error(f"{Path(path).name}: the header must be {','.join(fields)}")
        return [(number, {k: (row[k] or "").strip() for k in fields}) for number, row in enumerate(reader, 2)]
