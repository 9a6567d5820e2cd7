"""Redactions: a person's name taken out of everything the database publishes, the id unchanged.

data/redactions.yml lists each redaction as `{id, fields, reason, date}`: the row, the columns to
clear, why (a takedown request, a court order) and the day. It never holds the name itself: the
build reads the values to remove from the row and from every row merged into it, so that the
scraped spellings go too ("Randal Quran Reid", "Randall Reid"). Then:

- the fields read "[redacted]" in the row;
- each value is replaced by "[redacted]" in every text of every table (titles, summaries, documents'
  titles and URLs, reasons), in any case, with or without accents, and with any separator or none
  between its words ("Randal Reid", "randal-reid", "RANDAL_REID", "randalreid");
- in the rows where a value appeared, in the redacted row and in the documents it cites, the single
  words of three letters or more of a redacted `person` ("Reid") are replaced too, so that a surname
  alone finds nothing.

The build redacts the rows it wrote before it indexes them and their full text, then checks the finished
file's bytes for every value, and for every word of a redacted name that no published text holds
(a token left in a search index, a stale page), so no copy survives anywhere in the SQLite file.
Ids stay as they are: no id holds a person's name (README, "Identifiers"), and the build fails if
one does.
"""

import logging
import re
import sqlite3
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from pipelines.ledgers.files import read_ledger
from pipelines.vocab import EVENT_TABLES
from pipelines.write.schema import COLUMNS

MARK = "[redacted]"
FIELDS = {"id", "fields", "reason", "date"}
NAME_FIELDS = ("person",)
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
ID_COLUMNS = {"id", "alias", "event_id", "document_id", "organisation_id", "left_id", "right_id",
              "source_id"}
SEPARATORS = r"(?:[\W_]|%20)*"
logger = logging.getLogger(__name__)
_watchers: list[list] = []


@contextmanager
def redactors_made():
    """The Redactors constructed while inside, kept in memory: the night packages its web archive
    with the build's redactions without the names ever being written to a file."""
    made: list[Redactor] = []
    _watchers.append(made)
    try:
        yield made
    finally:
        _watchers.remove(made)


class RedactionError(ValueError):
    """A redaction that cannot be applied, or a redacted value still found in the database."""


def read_redactions(path: Path | None) -> list[dict]:
    entries = read_ledger(path, FIELDS, RedactionError)
    for entry in entries:
        if not entry["fields"] or not isinstance(entry["fields"], list):
            raise RedactionError(f"{Path(path).name}: {entry['id']}: fields must list the columns to clear")
    return entries


def fold(text: str) -> str:
    """Lower case without accents, one character for each character, so that spans carry over."""
    return "".join(_fold_char(c) for c in text)


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return (base[:1] or char).lower()[:1] or char


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def _pattern(words: list[str]) -> re.Pattern:
    return re.compile(r"(?<![^\W_])" + SEPARATORS.join(map(re.escape, words)) + r"(?![^\W_])")


def _byte_pattern(words: tuple[str, ...]) -> re.Pattern[bytes]:
    """The words in lower-case UTF-8 bytes, with up to three separators or none between them."""
    encoded = [re.escape(w.encode("utf-8")) for w in words]
    return re.compile(rb"(?<![a-z0-9])" + rb"[^a-z0-9]{0,3}".join(encoded) + rb"(?![a-z0-9])")


def _replace(text: str, patterns: list[re.Pattern]) -> tuple[str, bool]:
    """The text with every match of the patterns (found in its folded form) replaced."""
    spans = sorted({m.span() for p in patterns for m in p.finditer(fold(text))})
    if not spans:
        return text, False
    out, end = [], 0
    for start, stop in spans:
        if start >= end:
            out += [text[end:start], MARK]
            end = stop
        elif stop > end:
            end = stop
    return "".join(out) + text[end:], True


class Redactor:
    """The redactions of one build: what to clear, where, and the check of the finished file."""

    def __init__(self, redactions: list[dict], records: dict[str, dict], members: dict[str, list[dict]],
                 aliases: dict[str, str], strict: bool):
        """`records` are the merged rows by id, `members` the original rows merged into each,
        `aliases` maps retired ids to the rows they became. When `strict` (the build knows every
        published id), a redaction of an id that is no row and no alias stops the build."""
        self.cleared: dict[str, set[str]] = {}
        self.cited: set[str] = set()
        values, names = set(), set()
        for redaction in redactions:
            row_id = aliases.get(redaction["id"], redaction["id"])
            record = records.get(row_id)
            if record is None:
                if strict:
                    raise RedactionError(f"redaction of {redaction['id']}: no row or alias has this id")
                logger.warning("redaction of %s skipped: no row has this id in this build", redaction["id"])
                continue
            unknown = [f for f in redaction["fields"] if f not in COLUMNS[record["table"]] or f == "id"]
            if unknown:
                raise RedactionError(f"redaction of {redaction['id']}: {unknown[0]} is not a field "
                                     f"that can be cleared in {record['table']}")
            self.cleared.setdefault(row_id, set()).update(redaction["fields"])
            self.cited.update(d["id"] for d in record["documents"])
            for row in [record, *members.get(row_id, ())]:
                for field in redaction["fields"]:
                    if isinstance(row.get(field), str) and row[field].strip():
                        values.add(row[field].strip())
                        if field in NAME_FIELDS:
                            names.add(row[field].strip())
        self.values = sorted(values)
        self.patterns = [_pattern(_words(v)) for v in self.values if _words(v)]
        self.parts = sorted({w for n in names for w in _words(n) if len(w) >= 3 and w not in NAME_SUFFIXES})
        self.part_patterns = [_pattern([w]) for w in self.parts]
        spellings = {tuple(words) for value in self.values
                     for words in (_words(value), re.findall(r"[^\W_]+", value.lower())) if words}
        self.byte_patterns = [_byte_pattern(words) for words in sorted(spellings)]
        for made in _watchers:
            made.append(self)

    def holds_value(self, data: bytes) -> bool:
        """Whether these bytes hold a redacted value, in any case, with up to three separators or
        none between its words (a page, a CSV line, a URL)."""
        lowered = data.lower()
        return any(pattern.search(lowered) for pattern in self.byte_patterns)

    def apply_to_database(self, conn: sqlite3.Connection, tables) -> None:
        """Redact every row of these tables of an open database, rewriting the rows that change."""
        if not self.values:
            return
        for table in tables:
            cursor = conn.execute(f"select rowid, * from [{table}]")
            names = [d[0] for d in cursor.description][1:]
            changed = []
            while batch := cursor.fetchmany(1000):
                rows = [dict(zip(names, row[1:], strict=True)) for row in batch]
                before = [dict(row) for row in rows]
                self.scrub_rows(table, rows)
                changed += [(*row.values(), old[0]) for old, row, was in zip(batch, rows, before, strict=True)
                            if row != was]
            assignments = ", ".join(f"[{n}] = ?" for n in names)
            conn.executemany(f"update [{table}] set {assignments} where rowid = ?", changed)

    def scrub_rows(self, table: str, rows: list[dict]) -> None:
        if not self.values:
            return
        for row in rows:
            for field in self.cleared.get(row.get("id"), ()) if table in EVENT_TABLES else ():
                row[field] = MARK if isinstance(row.get(field), str) else None
            in_scope = row.get("id") in self.cleared or (table == "documents" and row.get("id") in self.cited)
            texts = [c for c, v in row.items() if isinstance(v, str) and c not in ID_COLUMNS]
            for column in texts:
                row[column], found = _replace(row[column], self.patterns)
                in_scope = in_scope or found
            if in_scope:
                for column in texts:
                    row[column] = _replace(row[column], self.part_patterns)[0]
            for column in ID_COLUMNS & set(row):
                if isinstance(row[column], str) and _replace(row[column], self.patterns)[1]:
                    raise RedactionError(f"{table}.{column} {row[column]!r} holds a redacted value: an id "
                                         "must not hold a name; withdraw the row (data/tombstones.yml)")

    def check_file(self, path: Path) -> None:
        """Fail if a redacted value is still in the bytes of the database file; or a single word of a
        redacted name that no text of the database holds (a page or index entry left behind)."""
        if not self.values:
            return
        parts = {w: rb"(?<![a-z0-9])" + re.escape(w.encode("utf-8")) + rb"(?![a-z0-9])" for w in self.parts}
        found = set()
        for data in _lowered_chunks(Path(path)):
            if any(pattern.search(data) for pattern in self.byte_patterns):
                raise RedactionError(f"a redacted value is still in {Path(path).name}")
            found.update(w for w, pattern in parts.items() if w not in found and re.search(pattern, data))
        left = [w for w in self.parts if w in found]
        if left:
            published = _published_words(path)
            for word in left:
                if word not in published:
                    raise RedactionError(f"a word of a redacted name is still in {Path(path).name}, "
                                         "outside any published text")


def _lowered_chunks(path: Path, size: int = 64 << 20, overlap: int = 4096):
    """The file's bytes, lowercased, in chunks that overlap (so a match across a boundary is in
    one of them): a database of gigabytes is searched without being held in memory."""
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(size):
            yield (tail + chunk).lower()
            tail = chunk[-overlap:]


def _published_words(path: Path) -> set[str]:
    """The folded words of every text the database publishes (tables and views; not the pages or
    index structures behind them)."""
    words = set()
    with sqlite3.connect(path) as conn:
        names = [n for (n,) in conn.execute("select name from sqlite_master where type = 'table' "
                                            "and name not like '%_fts%' and name not like 'sqlite_%'")]
        for name in names:
            for row in conn.execute(f"select * from [{name}]"):
                for value in row:
                    if isinstance(value, str):
                        words.update(_words(value))
    return words
