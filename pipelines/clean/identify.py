"""Stable identifiers: a published id resolves forever (see README, "Identifiers").

Events take `<prefix>-<source>-<the source's own id>`; curated rows carry the id their curator
wrote. Documents take `doc-<hash of the canonical URL>`; organisations take the id of their
canonical name (pipelines/clean/organisations.py).
No id is built from row order, a clock or a random number, and none contains a person's name.
"""

import hashlib
import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipelines.vocab import ID_PREFIXES

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A URL with nothing for urlsplit to split off or tidy: http(s), a lower-case ASCII host, no user,
# query or fragment, no spaces or control characters.
PLAIN_URL = re.compile(r"https?://([a-z0-9.:-]+)(/[^?#\x00-\x20]*)?")
TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|ref|smid)$")
# How many names (of organisations, places) each cache of their parsed forms keeps: a build of a
# million records meets ~170,000 distinct organisation texts, and a cache of 65,536 parsed a third
# of the names it was asked for again (10 s of a 1M build); 262,144 entries cost ~30 MB.
NAMES_CACHED = 1 << 18


@lru_cache(maxsize=NAMES_CACHED)  # the same names are slugged for every row that names them
def slug(text: str) -> str:
    """Lowercase ASCII words joined by hyphens: "Sheriff's Office, Lyon" → "sheriffs-office-lyon"."""
    if text.isascii() and text.isalnum():  # most native ids ("AOS0137"): one word already
        return text.lower()
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "").replace("’", "")
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def short_hash(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def canonical_url(url: str) -> str:
    """The URL two reports of one page share: lower-case host, no fragment, no tracking, no trailing slash."""
    if (plain := PLAIN_URL.fullmatch(url.strip())) and (host := plain[1].removeprefix("www.")):
        return f"https://{host}{(plain[2] or '').rstrip('/') or '/'}"  # urlsplit's parts, read off
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not TRACKING_PARAMS.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme,
                       host, path, query, ""))


def document_id(url: str) -> str:
    return _document(url)[1]


@lru_cache(maxsize=NAMES_CACHED)  # a page is cited by many rows; parsing a URL costs microseconds
def _document(url: str) -> tuple[str, str]:
    """A document's canonical URL and id."""
    canonical = canonical_url(url)
    return canonical, f"doc-{short_hash(canonical)}"


def event_id(table: str, source: str, native_id: str) -> str:
    # a native id of one word, which only its own row names, is not worth an entry in slug's cache
    native = native_id.lower() if native_id.isascii() and native_id.isalnum() else slug(native_id)
    return f"{ID_PREFIXES[table]}-{slug(source)}-{native}"


def check_curated_id(table: str, value: str) -> None:
    """Raise ValueError unless a curator's id is well formed and carries its table's prefix."""
    prefix = ID_PREFIXES[table] + "-"
    if not ID_PATTERN.match(value) or not value.startswith(prefix):
        raise ValueError(f"id {value!r} must be lowercase words joined by '-' starting {prefix!r}")


def identify(record: dict) -> dict:
    """Give the record and each of its documents their stable ids (a curator's id is kept)."""
    if not record.get("id"):
        record["id"] = event_id(record["table"], record["source"], record["source_id"])
    for document in record["documents"]:
        document["canonical_url"], document["id"] = _document(document["url"])
    return record
