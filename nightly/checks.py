"""The checks after a night's build: what needs a human even when every spider ran.

- every id the previous database published still resolves: as a row, an alias (id_aliases) or a
  tombstone (a `tombstones` table, where the build makes one);
- no claim of the seed letters is less supported than before (yes → partly → no);
- Datasette serves the database with metadata.yml: the index, every table, every canned query.
"""

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import yaml
from datasette.app import Datasette

from pipelines.vocab import EVENT_TABLES

REPO = Path(__file__).resolve().parent.parent
SUPPORT = {"yes": 2, "partly": 1, "no": 0}
RESOLVING = (*((table, "id") for table in EVENT_TABLES), ("id_aliases", "alias"), ("tombstones", "id"))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Published:
    """What a database published: its event ids and its claims' verdicts."""

    ids: set
    claims: dict


def _tables(conn) -> set[str]:
    return {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}


def published(db_path: Path) -> Published | None:
    if not Path(db_path).exists():
        return None
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        tables = _tables(conn)
        ids = {row[0] for table in EVENT_TABLES if table in tables
               for row in conn.execute(f"select id from [{table}]")}
        claims = dict(conn.execute("select id, supported from claims")) if "claims" in tables else {}
    return Published(ids, claims)


def resolving_ids(db_path: Path) -> set[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        tables = _tables(conn)
        return {row[0] for table, column in RESOLVING if table in tables
                for row in conn.execute(f"select [{column}] from [{table}]")}


def ids_resolve(db_path: Path, before: Published | None) -> Check:
    if before is None:
        return Check("ids", True, "no previous database to compare with")
    lost = sorted(before.ids - resolving_ids(db_path))
    detail = (f"{len(before.ids)} published ids all resolve" if not lost else
              f"{len(lost)} published ids no longer resolve: {', '.join(lost[:5])}")
    return Check("ids", not lost, detail)


def claims_hold(db_path: Path, before: Published | None) -> Check:
    now = published(db_path).claims
    weaker = sorted(claim for claim, verdict in (before.claims if before else {}).items()
                    if SUPPORT.get(now.get(claim), -1) < SUPPORT.get(verdict, -1))
    supported = sum(1 for verdict in now.values() if verdict == "yes")
    detail = (f"{supported} of {len(now)} claims supported" if not weaker else
              "less supported than before: " + ", ".join(f"{c} ({before.claims[c]} → {now.get(c)})"
                                                         for c in weaker))
    return Check("claims", not weaker, detail)


def datasette_serves(db_path: Path, metadata_path: Path = REPO / "metadata.yml",
                     plugins_dir: Path = REPO / "plugins") -> Check:
    metadata = yaml.safe_load(Path(metadata_path).read_text(encoding="utf-8"))
    name = Path(db_path).stem
    datasette = Datasette(immutables=[str(db_path)], metadata=metadata,
                          plugins_dir=str(plugins_dir) if Path(plugins_dir).is_dir() else None)
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        tables = sorted(row[0] for row in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like '%_fts%'"))
    queries = metadata.get("databases", {}).get(name, {}).get("queries", {})
    paths = ["/", f"/{name}.json", *(f"/{name}/{t}.json?_size=1" for t in tables),
             *(f"/{name}/{q}.json" for q in queries)]

    async def statuses():
        return {path: (await datasette.client.get(path)).status_code for path in paths}

    failing = {path: status for path, status in asyncio.run(statuses()).items() if status != 200}
    detail = (f"{len(paths)} pages answer 200" if not failing else
              "pages that fail: " + ", ".join(f"{p} ({s})" for p, s in failing.items()))
    return Check("datasette", not failing, detail)


def run_checks(db_path: Path, before: Published | None) -> list[Check]:
    return [ids_resolve(db_path, before), claims_hold(db_path, before), datasette_serves(db_path)]
