"""How to cite one row: the content hash that pins what it said, and the reference as plain text,
BibTeX and CSL-JSON.

The content hash of a row is the SHA-256, in hex, of its canonical JSON: one object holding every
column of the row with its stored value (text, whole number, decimal or null) except the
bookkeeping a crawl or a build rewrites while no fact changes (first_seen, last_seen, listed, added:
pipelines/write/schema.py's BOOKKEEPING), keys sorted, no whitespace between tokens, non-ASCII
characters written as themselves, encoded as UTF-8. For the values these tables hold this is the
RFC 8785 canonical form. So a hash changes when what the row says changes, not every night.
Anyone can recompute it from the row's JSON (`/<database>/<table>/<id>.json?_shape=array`), which
carries the same values.

A reference names the project as author, the row's title, its table and id, its permanent URL,
the database release (the build time) and the content hash, so that it pins both where the row
lives and what it said when it was cited.
"""

import hashlib
import json
import re
from dataclasses import dataclass

from pipelines.write.schema import BOOKKEEPING

AUTHOR = "FRT Evidence"
RECORD_KINDS = {
    "deployments": "deployment record",
    "wrongful_arrests": "wrongful arrest record",
    "legal_actions": "legal action record",
}
BIBTEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}


def canonical_json(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def content_hash(row: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of the row's facts: every column but the bookkeeping."""
    facts = {column: value for column, value in row.items() if column not in BOOKKEEPING}
    return hashlib.sha256(canonical_json(facts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Reference:
    """What a citation of one row carries."""

    table: str
    row_id: str
    title: str
    url: str
    release: str  # the build time, YYYY-MM-DDTHH:MM:SSZ
    sha256: str

    @property
    def kind(self) -> str:
        return RECORD_KINDS.get(self.table, f"{self.table} record")

    @property
    def key(self) -> str:
        return "frt:" + re.sub(r"[^A-Za-z0-9_.:-]", "-", self.row_id)

    @property
    def release_date(self) -> list[int]:
        year, month, day = self.release[:10].split("-")
        return [int(year), int(month), int(day)]


def plain_text(ref: Reference) -> str:
    return (f'{AUTHOR} ({ref.release[:4]}). "{ref.title}" [{ref.kind} {ref.row_id}]. '
            f"{AUTHOR} database, release {ref.release}. {ref.url} "
            f"(row content SHA-256 {ref.sha256}).")


def bibtex_escape(text: str) -> str:
    return "".join(BIBTEX_SPECIALS.get(char, char) for char in " ".join(text.split()))


def bibtex(ref: Reference) -> str:
    fields = [
        ("author", f"{{{AUTHOR}}}"),
        ("title", f"{{{bibtex_escape(ref.title)}}}"),
        ("howpublished", f"{AUTHOR} database, {ref.kind} {bibtex_escape(ref.row_id)}"),
        ("year", ref.release[:4]),
        ("version", ref.release),
        ("url", ref.url),
        ("note", f"Database release {ref.release}; row content SHA-256 {ref.sha256}"),
    ]
    body = ",\n".join(f"  {name:<12} = {{{value}}}" for name, value in fields)
    return f"@misc{{{ref.key},\n{body}\n}}"


def csl_json(ref: Reference) -> str:
    item = {
        "id": ref.key,
        "type": "dataset",
        "title": ref.title,
        "author": [{"literal": AUTHOR}],
        "publisher": AUTHOR,
        "genre": ref.kind,
        "number": ref.row_id,
        "version": ref.release,
        "issued": {"date-parts": [ref.release_date]},
        "URL": ref.url,
        "note": f"Row content SHA-256 {ref.sha256}",
    }
    return json.dumps([item], ensure_ascii=False, indent=2)
