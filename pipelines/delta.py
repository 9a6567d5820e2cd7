"""The delta build: a night's edits written into the spare or a copy of the last database, nothing
else rebuilt.

A build leaves a state file beside its database (pipelines/state.py): each record's line digest
and shape digest, and the groups of records it merged. The next incremental build reads the
snapshots once, parsing only the lines whose digest changed. When every other input is the one
noted (the build's code, curated files, ledgers, registry; no redaction), no record came or went,
and every changed record kept its shape, then nothing but the rows of those records can change:

- the event row of each, or the merged row it belongs to, merged again from its records;
- the documents the changed rows cite, each folded again from every record citing it, in the order
  and with the upsert of a full build (pipelines/rows.py), when a record gives them something
  else than before; a later last_seen only widens theirs, in bulk (`seen_again`);
- the tables counted from the rows (sources and claims counted again; evidence_counts moved by
  the rows whose year or country changed, which a kept shape allows none of), and the run log.

A crawl gives every record it sees again a new last_seen, so a night's crawl changes every line
it lists. A line that differs from the noted one only by a later last_seen (`only_seen_again`:
the noted line is the new one with the noted last_seen put back) is such a record: its row's
last_seen is set in bulk, without reading the record, unless it was merged into another row or
withdrawn (those are changed records like any other).

`plan` says which records changed since the build of a database and its state or raises Refused
with the reason; `rewrite` and `seen_again` write their rows into that database: the spare one
build back, in place (pipelines/spare.py), or else a copy of the last one. Anything else (a new
or lost row, a changed shape, a last_seen that went back, another input, a new day when not
every id is registered, more than a quarter of the records changed otherwise than seen again) is
left to a build of the whole database. Either way the result is the database a full build gives
(tests/test_delta_build.py).
"""

import array
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson

from pipelines.events import matched_fields
from pipelines.matching import block_keys
from pipelines.merge import combine
from pipelines.organisations import canonicalise
from pipelines.rows import UPSERT_DOCUMENT, RowWriter, event_row
from pipelines.schema import COLUMNS, reusable
from pipelines.state import Fingerprint, State, cites, shape
from pipelines.stream import CURATED, Records, line_digest
from pipelines.tables import SearchIndex
from pipelines.tombstones import without_withdrawn_documents
from pipelines.vocab import EVENT_KINDS, EVENT_TABLES

# Beyond this share of changed records (records only seen again aside) the database is built
# whole. The delta build writes the changed records' rows one record at a time and keeps about a
# kilobyte for each while it runs. At a million records (summaries edited, each build alone): a
# quarter changed took 43.7-48.8 s and 748 MB at its peak, against 117-130 s for a whole build, and
# gave the same database; half took 84.1 s and 995 MB, near the build's 1 GiB. The scan of a night
# that changed more stops early.
MOST_CHANGED = 0.25
KEPT_RECORDS = 4096  # records read again and kept, for the documents that many records cite
LAST_SEEN = re.compile(rb'"last_seen":(null|"[^"]*")')
TABLE = re.compile(rb'"table":"([a-z_]+)"')


class Refused(Exception):
    """Why a night's changes are not for the delta build."""


class SeenAgain:
    """The records only seen again, written to a file at `path` as they are found (a crawl's night
    has nearly every record), so that memory does not grow with them: table `seen` (id, tbl,
    last_seen, line: the new line's digest)."""

    def __init__(self, path: Path):
        self.path = path
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.executescript("pragma journal_mode = off; pragma synchronous = off; "
                                "create table seen (id text, tbl text, last_seen text, line blob); begin")
        self.count = 0

    def add(self, record_id: str, table: str, last_seen: str, line: bytes) -> None:
        self.conn.execute("insert into seen values (?, ?, ?, ?)", (record_id, table, last_seen, line))
        self.count += 1

    def done(self) -> None:
        self.conn.execute("commit")
        self.conn.close()

    def close(self) -> None:
        self.conn.close()
        self.path.unlink(missing_ok=True)


@dataclass
class Delta:
    changed: dict[str, tuple[bytes, bytes, str | None]]  # id → its line's and cites' digests, last_seen
    recited: set[str]  # the changed records that give their documents something else
    seen: SeenAgain  # the records only seen again
    later: dict[str, str]  # the changed records whose last_seen moved later → it
    offsets: list[array.array]  # each snapshot's line offsets, by place
    fingerprint: str


def only_seen_again(line: bytes, noted: tuple) -> tuple[str, str] | None:
    """(table, last_seen) where a line is its noted line but for a later last_seen (a record a
    crawl saw again: pipelines/store.py writes the line it had with only that value replaced),
    else None."""
    found = LAST_SEEN.findall(line)
    table = TABLE.search(line)
    if len(found) != 1 or table is None:
        return None
    later, before = orjson.loads(found[0]), noted[5]
    if later is None or (before is not None and later <= before):
        return None
    old = line.replace(b'"last_seen":' + found[0], b'"last_seen":' + orjson.dumps(before), 1)
    return (table.group(1).decode(), later) if line_digest(old) == noted[2] else None


def noted_digests(record: dict, withdrawn: set[str], digest: bytes) -> tuple[bytes, bytes]:
    """The shape and cites digests a full build notes for a record (pipelines/events.py)."""
    if record["id"] in withdrawn:
        return digest, digest
    record = without_withdrawn_documents(record, withdrawn)
    return shape(record, matched_fields(record), list(block_keys(record))), cites(record)


def open_state(path: Path) -> State:
    try:
        return State(path)
    except sqlite3.Error as error:
        raise Refused(f"the state beside the database cannot be read ({error})") from error


def plan(db_path: Path, records: Records, state: State, inputs: str, built: str, withdrawn: set[str],
         redactions: list[dict], seen_path: Path) -> Delta:
    """The records whose lines changed since the build the state was written by (those only seen
    again in a file at `seen_path`); Refused if the night changed more than their own rows, or if
    the state or the database cannot be read."""
    seen = SeenAgain(seen_path)
    try:
        return _plan(db_path, records, state, inputs, built, withdrawn, redactions, seen)
    except sqlite3.Error as error:
        seen.close()
        raise Refused(f"the state or the database cannot be read ({error})") from error
    except BaseException:
        seen.close()
        raise


def _plan(db_path: Path, records: Records, state: State, inputs: str, built: str, withdrawn: set[str],
          redactions: list[dict], seen: SeenAgain) -> Delta:
    meta = state.meta
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        facts = dict(conn.execute("select key, value from build"))
    if (facts.get("inputs"), facts.get("built_at")) != (meta.get("fingerprint"), meta.get("built_at")):
        raise Refused("the state beside the database was written by another build")
    if meta.get("inputs") != inputs:
        raise Refused("an input other than the snapshots changed (the build's code, curated files, "
                      "ledgers or the registry)")
    if redactions:
        raise Refused("redactions apply, which get a whole new file")
    if meta["built_at"][:10] != built[:10] and meta.get("registered") != "1":
        raise Refused("the day changed and not every id is registered (an unregistered id is as old as "
                      "the build)")
    if not reusable(db_path):
        raise Refused("the database has other tables or indexes than this build makes")
    most = int(state.conn.execute("select count(*) from records").fetchone()[0] * MOST_CHANGED)
    fingerprint = Fingerprint(inputs, len(records.paths))
    # A record only seen again (a crawl gives each a new last_seen) is written in bulk, the rows of
    # merged records and withdrawn ones aside (pipelines/merge.py, pipelines/tombstones.py). The
    # other changed lines are parsed once they are known to be few: a night that changed most of
    # them is refused after comparing digests alone (at a million records 0.8 s, against 3.5 s
    # when each changed line was parsed until a tenth of them had changed).
    aside = withdrawn | {member for members in state.groups().values() for member in members}
    differing: list[tuple[int, int, tuple, bytes]] = []  # snapshot, offset, noted row, new digest
    offsets = []
    for number, path in enumerate(records.paths):
        places = array.array("q")
        noted = state.records(number)
        offset = 0
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    digest = line_digest(line)
                    fingerprint.add(number, digest)
                    row = next(noted, None)
                    if row is None:
                        raise Refused(f"{path.name} has more records than before")
                    if digest != row[2]:
                        again = None if row[1] in aside else only_seen_again(line, row)
                        if again:
                            seen.add(row[1], *again, digest)
                        else:
                            differing.append((number, offset, row, digest))
                        if len(differing) > most:
                            raise Refused(f"more than {MOST_CHANGED:.0%} of the records changed")
                    places.append(offset)
                offset += len(line)
        if next(noted, None) is not None:
            raise Refused(f"{path.name} has fewer records than before")
        offsets.append(places)
    seen.done()
    changed: dict[str, tuple[bytes, bytes, str | None]] = {}
    recited, later = set(), {}
    for number, path in enumerate(records.paths):
        with path.open("rb") as handle:
            for _, offset, row, digest in (line for line in differing if line[0] == number):
                handle.seek(offset)
                record = orjson.loads(handle.readline())
                cited = _check_changed(record, row, withdrawn, digest, path)
                last_seen = record.get("last_seen")
                changed[row[1]] = digest, cited, last_seen
                if cited != row[4]:
                    recited.add(row[1])
                if last_seen != row[5]:
                    if last_seen is None or (row[5] is not None and last_seen < row[5]):
                        raise Refused(f"{row[1]}'s last_seen went back (from {row[5]} to {last_seen})")
                    later[row[1]] = last_seen
    return Delta(changed, recited, seen, later, offsets, fingerprint.value())


def _check_changed(record: dict, noted: tuple, withdrawn: set[str], digest: bytes, path: Path) -> bytes:
    """The changed record's cites digest, once it is known to be the same record in the same shape."""
    record_id, noted_shape = noted[1], noted[3]
    if record["id"] != record_id:
        raise Refused(f"{path.name} gained or lost records ({record['id']} is where {record_id} was)")
    new_shape, cited = noted_digests(canonicalise(record), withdrawn, digest)
    if new_shape != noted_shape:
        raise Refused(f"{record_id} changed what other rows depend on (what matching compares, its "
                      "documents, organisations, duplicates or first_seen)")
    return cited


class Fetcher:
    """A record by id, read again where tonight's snapshot holds it (the last few kept in memory)."""

    def __init__(self, state: State, offsets: list[array.array], records: Records, withdrawn: set[str]):
        self.state, self.offsets, self.records, self.withdrawn = state, offsets, records, withdrawn
        self.fetch = lru_cache(maxsize=KEPT_RECORDS)(self._read)

    def __call__(self, record_id: str) -> dict:
        return self.fetch(record_id)

    def _read(self, record_id: str) -> dict:
        number, position = self.state.where(record_id)
        offset = position if number == CURATED else self.offsets[number][position]
        return without_withdrawn_documents(self.records.fetch((number, offset)), self.withdrawn)


class RowPutter:
    """Puts a row in place of the row of the same id, setting only the columns whose values differ
    (SQLite then rewrites only the indexes of those columns) and keeping the full-text index in
    step; a row that is already so is left alone."""

    def __init__(self, conn: sqlite3.Connection, table: str):
        self.columns = list(COLUMNS[table])
        names = ", ".join(f"[{c}]" for c in self.columns)
        self.conn, self.table, self.at = conn, table, self.columns.index("id")
        self.index = SearchIndex(conn, table, self.columns)
        self.select = f"select rowid, {names} from [{table}] where id = ?"

    def put(self, values: tuple) -> tuple | None:
        """The row written over, or None where it was already so."""
        found = self.conn.execute(self.select, (values[self.at],)).fetchone()
        if found is None:
            raise LookupError(f"no row {values[self.at]} to write over")
        rowid, before = found[0], found[1:]
        changed = [i for i, (old, new) in enumerate(zip(before, values, strict=True))
                   if old != new or type(old) is not type(new)]
        if not changed:
            return None
        searched = any(i in self.index.positions for i in changed)
        if searched:
            self.index.delete(rowid, before)
        columns = ", ".join(f"[{self.columns[i]}] = ?" for i in changed)
        self.conn.execute(f"update [{self.table}] set {columns} where rowid = ?",
                          (*(values[i] for i in changed), rowid))
        if searched:
            self.index.insert(rowid, values)
        return before


class Rewriter:
    """Writes the rows of the changed records, and of the documents they cite, into a database."""

    def __init__(self, conn: sqlite3.Connection, state: State, fetch: Fetcher):
        self.conn, self.fetch = conn, fetch
        self.groups = state.groups()
        self.member_of = {member: merged for merged, members in self.groups.items() for member in members}
        self.putters = {}
        self.moves: Counter = Counter()  # evidence_counts' (year, kind, country) → rows gained or lost
        self.scratch = sqlite3.connect(":memory:")
        columns = COLUMNS["documents"]
        self.scratch.execute(f"create table documents ([id] text primary key, "
                             f"{', '.join(f'[{c}]' for c in columns[1:])})")

    def _put(self, table: str, values: tuple) -> tuple | None:
        putter = self.putters.get(table) or self.putters.setdefault(table, RowPutter(self.conn, table))
        return putter.put(values)

    def _move(self, table: str, before: tuple, after: tuple) -> None:
        date, country = COLUMNS[table].index("date"), COLUMNS[table].index("country")
        for row, rows in ((before, -1), (after, 1)):
            self.moves[(row[date] and row[date][:4], EVENT_KINDS[table], row[country])] += rows

    def merged(self, merged_id: str) -> tuple[dict, list[dict]]:
        members = [self.fetch(i) for i in self.groups[merged_id]]
        return combine(members, members[0]), members

    def rewrite(self, changed, recited: set[str]) -> dict[str, int]:
        """Write the rows the changed records give, and the rows of the documents cited by those
        that give them something else (`recited`); return how many rows changed, by table."""
        counts: dict[str, int] = {}
        documents, done = set(), set()
        for record_id in sorted(changed):
            row_id = self.member_of.get(record_id, record_id)
            if row_id in done:
                continue
            done.add(row_id)
            record = self.merged(row_id)[0] if row_id in self.groups else self.fetch(record_id)
            row = event_row(record)
            before = self._put(record["table"], row)
            if before is not None:
                counts[record["table"]] = counts.get(record["table"], 0) + 1
                self._move(record["table"], before, row)
            if recited.intersection(self.groups.get(row_id, [row_id])):
                documents.update(d["id"] for d in record["documents"])
        for document_id in sorted(documents):
            if self._put("documents", self.folded(document_id)) is not None:
                counts["documents"] = counts.get("documents", 0) + 1
        return counts

    def seen_again(self, seen: SeenAgain, later: dict[str, str]) -> dict[str, int]:
        """Write the later last_seen of the records only seen again into their rows, and widen the
        last_seen of the documents cited by every row whose last_seen moved later (theirs, and
        `later`: the changed records', merged ones included), as folding them again would; return
        how many rows changed, by table. It attaches seen's file: call it before any other write."""
        counts: dict[str, int] = {}
        self.conn.execute("attach database ? as seen_again", (str(seen.path),))
        for table in EVENT_TABLES:
            counts[table] = self.conn.execute(
                f"update [{table}] set last_seen = s.last_seen from seen_again.seen s where s.tbl = ? and "
                f"s.id = [{table}].id and [{table}].last_seen is not s.last_seen", (table,)).rowcount
        self.conn.execute("create temp table later (row_id text, last_seen text)")
        self.conn.execute("insert into temp.later select id, last_seen from seen_again.seen")
        self.conn.executemany("insert into temp.later values (?, ?)",
                              ((self.member_of.get(i, i), last_seen) for i, last_seen in later.items()))
        self.conn.execute("create index temp.later_by_date on later (last_seen, row_id)")
        widened = 0
        dates = self.conn.execute("select distinct last_seen from temp.later order by 1").fetchall()
        for (last_seen,) in dates:  # in order: each document ends at the latest of its rows'
            widened += self.conn.execute(
                "update documents set last_seen = ?1 where (last_seen is null or last_seen < ?1) and id "
                "in (select document_id from citations where event_id in "
                "(select row_id from temp.later where last_seen = ?1))", (last_seen,)).rowcount
        self.conn.execute("drop table temp.later")
        if widened:
            counts["documents"] = widened
        return {table: count for table, count in counts.items() if count}

    def folded(self, document_id: str) -> tuple:
        """A document's row as a full build writes it: each record citing it, in id order, then each
        merged record citing it, upserted in turn."""
        citing, merged = [], []
        for (event_id,) in self.conn.execute("select event_id from citations where document_id = ?",
                                             (document_id,)):
            if event_id in self.groups:
                record, members = self.merged(event_id)
                citing += members
                merged.append(record)
            else:
                citing.append(self.fetch(event_id))
        self.scratch.execute("delete from documents")
        for record in [*sorted(citing, key=lambda r: r["id"]), *merged]:
            rows = [RowWriter.document_row(d, record) for d in record["documents"] if d["id"] == document_id]
            self.scratch.executemany(UPSERT_DOCUMENT, rows)
        return self.scratch.execute("select * from documents").fetchone()
