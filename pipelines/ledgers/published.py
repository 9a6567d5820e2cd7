"""Published ids: every id the evidence base has published, which must resolve forever.

data/published_ids.txt holds one line per id ever published, sorted by id:
`<id> <table> <YYYY-MM-DD>`, the table it was first published in and the day. Published are the
ids of every row that has a page (event tables, documents, organisations, claims, sources), the
aliases (their URLs redirect) and the tombstones (their URLs say why the row is gone). A build
checks that every registered id is still a row, an alias or a tombstone, and fails naming those
that are not; `python -m pipelines.build --register` then registers the ids it publishes for the
first time.
The registered day is also an id's age when a merge keeps the oldest id (pipelines/match/merge.py). The
file is committed, so it holds in a shallow CI clone where git history does not.
"""

import sqlite3
from pathlib import Path

from pipelines.vocab import EVENT_TABLES

PUBLISHED_TABLES = (*EVENT_TABLES, "documents", "organisations", "claims", "sources")
HEADER = ("# Every id FRT Evidence has published, with the table it was first published in and the day.\n"
          "# Written by `python -m pipelines.build`; an id listed here must stay a row, an alias or a\n"
          "# tombstone (README, \"Identifiers\"). Do not remove lines.\n")


class UnresolvedIds(ValueError):
    """Published ids that a build would leave pointing nowhere."""


def read_registry(path: Path | None) -> dict[str, tuple[str, str]]:
    """id → (table, first published day)."""
    if path is None or not Path(path).exists():
        return {}
    registry = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            raise ValueError(f"{Path(path).name} line {number}: expected '<id> <table> <day>', got {line!r}")
        registry[parts[0]] = (parts[1], parts[2])
    return registry


def published_now(conn: sqlite3.Connection) -> dict[str, str]:
    """Every id a database publishes → the table its URL points to."""
    ids = {}
    for table in PUBLISHED_TABLES:
        ids.update((row[0], table) for row in conn.execute(f"select id from [{table}]"))
    ids.update(conn.execute("select alias, survivor_table from id_aliases"))
    ids.update(conn.execute("select id, withdrawn_from from tombstones"))
    return ids


def check(registry: dict[str, tuple[str, str]], now: dict[str, str]) -> None:
    """Fail, naming them, if registered ids would neither be rows, nor aliases, nor tombstones."""
    lost = sorted(set(registry) - set(now))
    if lost:
        listed = "; ".join(f"{i} ({registry[i][0]}, published {registry[i][1]})" for i in lost[:20])
        more = f" and {len(lost) - 20} more" if len(lost) > 20 else ""
        raise UnresolvedIds(
            f"{len(lost)} published id(s) would no longer resolve: {listed}{more}. A published id "
            "must stay a row, or become an alias (a 'same' decision in data/decisions.csv, or a line "
            "in data/aliases.csv) or a tombstone (data/tombstones.yml).")


def registered_with(registry: dict[str, tuple[str, str]], now: dict[str, str], day: str) -> dict:
    """The registry with every id published now for the first time added, as of `day`."""
    return {**{i: (table, day) for i, table in now.items()}, **registry}


def write_registry(path: Path, registry: dict[str, tuple[str, str]]) -> None:
    lines = [f"{i} {table} {day}\n" for i, (table, day) in sorted(registry.items())]
    temporary = Path(path).with_name(Path(path).name + ".tmp")
    temporary.write_text(HEADER + "".join(lines), encoding="utf-8")
    temporary.replace(path)
