"""What a build leaves beside its database so that the next night's build can write only what changed.

Beside data/evidence.db a build writes data/evidence.db.state, an SQLite file holding:

- `records`: every record read, by its snapshot's number (-1 for the curated rows) and place among
  that snapshot's records: its id, the digest of its line, the digest of its shape (what the rows
  of other records depend on; see `shape`), the digest of what it gives the documents it cites
  but its last_seen (`cites`), and its last_seen;
- `groups`: the records each merged row was merged from, survivor first (pipelines/merge.py);
- `meta`: the fingerprint of every input (also in the database's `build` table, so a state is only
  ever used with the database it was written with), the digest of the inputs other than the
  snapshots (`inputs_digest`), the build's time, whether every id it published is registered, and
  the size and digest of each run log's changes file as read (pipelines/operations.py).

pipelines/delta.py reads it. The state is written after the database is swapped in, under a
temporary name and renamed; a state that does not match its database is never used.
"""

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import orjson

from pipelines.organisations import ORGANISATIONS_FILE, named_organisations
from pipelines.stream import CURATED

CODE = Path(__file__).resolve().parent
SCHEMA = """
    pragma journal_mode = off; pragma synchronous = off;
    create table meta (key text primary key, value text);
    create table records (number integer, position integer, id text, line blob, shape blob, cites blob,
                          last_seen text, primary key (number, position)) without rowid;
    create table groups (merged_id text, position integer, member_id text,
                         primary key (merged_id, position)) without rowid;
"""


def state_path(db_path: Path) -> Path:
    return Path(db_path).with_name(Path(db_path).name + ".state")


def shape(record: dict, matched: bytes, keys: list[tuple]) -> bytes:
    """Digest of what other rows take from a record: the fields matching compares (`matched`, as
    the build keeps them), its blocking keys, the documents it cites and as what, the organisations
    it names and as what, the duplicates it declares, and its first_seen (its age in a merge). A
    record whose shape is unchanged changes its own row, its merged row and its documents' columns,
    nothing else."""
    cited = [(d["id"], d.get("role")) for d in record["documents"]]
    parts = (keys, cited, list(named_organisations(record)), record.get("merged_ids") or [],
             record.get("first_seen"))
    return hashlib.sha1(matched + orjson.dumps(parts), usedforsecurity=False).digest()


def cites(record: dict) -> bytes:
    """Digest of what a record gives the rows of the documents it cites (pipelines/rows.py): their
    columns as it has them, its source, and its first_seen, by which they widen. Its last_seen, by
    which they widen too, is noted apart: a later one widens them without folding them again
    (pipelines/delta.py)."""
    parts = (record["documents"], record["source"], record.get("first_seen"))
    return hashlib.sha1(orjson.dumps(parts), usedforsecurity=False).digest()


def _add_file(digest, path: Path | None) -> None:
    if path is not None and Path(path).is_file():
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    else:
        digest.update(b"-\0")


def inputs_digest(snapshots: list[Path], curated_dir: Path, files: list[Path | None]) -> str:
    """Digest of every input but the snapshots' lines: the build's own code, the curated files, the
    organisations registry, the ledgers and registry given (`files`, in a fixed order), and the
    snapshots' names."""
    digest = hashlib.sha1(usedforsecurity=False)
    code = sorted(CODE.glob("*.py"))
    for path in [*code, ORGANISATIONS_FILE, *sorted(Path(curated_dir).glob("*")), *files]:
        _add_file(digest, path)
    digest.update(json.dumps([p.name for p in snapshots]).encode())
    return digest.hexdigest()


class Fingerprint:
    """Digest of every input: the other inputs' digest, then each snapshot's line digests in order."""

    def __init__(self, inputs: str, count: int):
        self.inputs = inputs
        self.snapshots = [hashlib.sha1(usedforsecurity=False) for _ in range(count)]

    def add(self, number: int, line: bytes) -> None:
        if number != CURATED:
            self.snapshots[number].update(line)

    def value(self) -> str:
        digest = hashlib.sha1(self.inputs.encode(), usedforsecurity=False)
        for snapshot in self.snapshots:
            digest.update(snapshot.digest())
        return digest.hexdigest()


class State:
    """A state file, read."""

    def __init__(self, path: Path):
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.meta = dict(self.conn.execute("select key, value from meta"))

    def records(self, number: int):
        """(position, id, line digest, shape digest, cites digest, last_seen) of one snapshot's
        records, in order."""
        return self.conn.execute("select position, id, line, shape, cites, last_seen from records "
                                 "where number = ? order by position", (number,))

    def where(self, record_id: str) -> tuple[int, int]:
        return self.conn.execute("select number, position from records where id = ?", (record_id,)).fetchone()

    def groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for merged_id, member_id in self.conn.execute(
                "select merged_id, member_id from groups order by merged_id, position"):
            groups.setdefault(merged_id, []).append(member_id)
        return groups

    def close(self) -> None:
        self.conn.close()


def _temporary(path: Path) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    return temporary


def stage_state(path: Path, index_path: Path, groups: dict[str, list[str]], inputs: str,
                snapshots: int) -> tuple[Path, str]:
    """The state of a full build, written beside path under a temporary name: the records it noted
    in its index file (table `seen`) and the groups it merged. Returns that name and the
    fingerprint of the inputs; `finish_state` completes it."""
    temporary = _temporary(path)
    conn = sqlite3.connect(temporary, isolation_level=None)
    try:
        conn.executescript(SCHEMA)
        conn.execute("attach database ? as build_index", (str(index_path),))
        conn.execute("begin")
        conn.execute("insert into records select number, position, id, line, shape, cites, last_seen "
                     "from build_index.seen order by number, position")
        conn.execute("create unique index records_by_id on records (id)")
        conn.executemany("insert into groups values (?, ?, ?)",
                         ((merged, n, member) for merged, members in groups.items()
                          for n, member in enumerate(members)))
        conn.execute("commit")
        conn.execute("detach database build_index")
        fingerprint = Fingerprint(inputs, snapshots)
        for number, line in conn.execute("select number, line from records order by number, position"):
            fingerprint.add(number, line)
    finally:
        conn.close()
    return temporary, fingerprint.value()


def stage_update(path: Path, changed: dict[str, tuple[bytes, bytes, str | None]], seen_path: Path,
                 in_place: bool = False) -> Path:
    """The state at path with the line and cites digests and the last_seen of these records (id →
    the three) replaced, and the line digest and last_seen of the records only seen again (table
    `seen` of the file at seen_path, pipelines/delta.py), written beside it under a temporary name,
    which is returned, or (`in_place`, for a state taken from the spare) in the file itself;
    `finish_state` completes it."""
    if in_place:
        temporary = path
    else:
        temporary = _temporary(path)
        shutil.copyfile(path, temporary)
    conn = sqlite3.connect(temporary, isolation_level=None)
    try:
        conn.execute("begin")
        conn.executemany("update records set line = ?, cites = ?, last_seen = ? where id = ?",
                         ((line, cited, seen, i) for i, (line, cited, seen) in changed.items()))
        conn.execute("commit")
        conn.execute("attach database ? as seen_again", (str(seen_path),))
        conn.execute("update records set line = s.line, last_seen = s.last_seen from seen_again.seen s "
                     "where s.id = records.id")
    finally:
        conn.close()
    return temporary


def finish_state(temporary: Path, path: Path, meta: dict) -> None:
    """Write `meta` into the staged state and put it in place (after its database)."""
    conn = sqlite3.connect(temporary, isolation_level=None)
    try:
        conn.execute("delete from meta")
        conn.executemany("insert into meta values (?, ?)",
                         [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in sorted(meta.items())])
    finally:
        conn.close()
    temporary.replace(path)
