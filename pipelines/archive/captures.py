"""Captures of the cited documents: what each page said when fetched, and whether it still says it.

The spiders fetch source listings (a CSV, a snapshot, GraphQL pages); the pages those listings
cite are fetched by the `documents` spider, politely and a few hundred a night. Its findings are
kept as text in data/documents.jsonl, one line per document: its captures (when, HTTP status,
sha256 of the body as read, sha256 of its visible text, type, size, and the WARC file and record
that hold it), the page's own title at its first capture (the build gives it to a document its
citations leave untitled), its Wayback Machine copy if one exists, and its live status:

- live: it answers with what was captured (a 304, or the same text);
- changed: it answers with other text (the new version is captured too; the first capture stays
  the one the evidence cites);
- gone: it answers 404 or 410;
- error: another failure (a 5xx, a timeout, a refused connection); judged again next time.

`due` chooses what to fetch next: never captured first, then the longest unchecked.
"""

import hashlib
import json
import re
from datetime import date
from pathlib import Path

from pipelines.snapshot.store import dumps

LIVE_STATUSES = ("live", "changed", "gone", "error")
GONE = (404, 410)
WEB = re.compile(r"^https?://", re.I)


def read_state(path: Path) -> dict[str, dict]:
    if not Path(path).exists():
        return {}
    with Path(path).open(encoding="utf-8") as handle:
        return {entry["id"]: entry for entry in map(json.loads, handle) if entry}


def write_state(path: Path, state: dict[str, dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(dumps(state[k]) + "\n" for k in sorted(state)), encoding="utf-8")
    temporary.replace(path)


def text_sha256(text: str) -> str:
    """Digest of the visible text, whitespace collapsed: markup and layout changes do not count."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def cited(records) -> dict[str, dict]:
    """Each cited web document once: {id: {"url", "archive_url"}}, the first URL seen for an id."""
    documents = {}
    for record in records:
        for document in record.get("documents") or ():
            if WEB.match(document.get("url") or ""):
                documents.setdefault(document["id"], {"url": document["url"],
                                                      "archive_url": document.get("archive_url")})
    return documents


def due(documents: dict[str, dict], state: dict[str, dict], today: str, limit: int,
        recheck_days: int) -> list[dict]:
    """The documents to fetch tonight: never captured first, then the longest unchecked."""

    def age(entry) -> int:
        checked = entry.get("live_checked")
        return 10**6 if not checked else (date.fromisoformat(today) - date.fromisoformat(checked)).days

    candidates = []
    for doc_id, document in sorted(documents.items()):
        entry = state.get(doc_id, {})
        if entry.get("captures") and age(entry) < recheck_days:
            continue
        wayback = not document["archive_url"] and not entry.get("wayback_checked")
        candidates.append((bool(entry.get("captures")), -age(entry), doc_id,
                           {"id": doc_id, "url": document["url"], "wayback": wayback}))
    return [c[-1] for c in sorted(candidates)[:limit]]


def apply_check(entry: dict, check: dict, today: str) -> str:
    """Fold one fetch into a document's entry; return what it found (captured or a live status)."""
    entry["live_checked"] = today
    status = check.get("http_status")
    captures = entry.setdefault("captures", [])
    if check.get("error") or status is None or (status >= 400 and status not in GONE):
        entry["live_status"], entry["live_detail"] = "error", check.get("error") or f"HTTP {status}"
        return "error"
    if status in GONE:
        entry["live_status"], entry["live_detail"] = "gone", f"HTTP {status}"
        return "gone"
    capture = {k: check.get(k) for k in ("fetched", "http_status", "content_sha256", "text_sha256",
                                         "content_type", "bytes", "warc", "record")}
    entry["live_detail"] = None
    if not captures:
        captures.append(capture)
        entry["live_status"] = "live"
        if check.get("page_title"):  # the title of the version cited: the first capture's
            entry["page_title"] = check["page_title"]
        return "captured"
    if check["text_sha256"] in {c["text_sha256"] for c in captures[:1]}:
        entry["live_status"] = "live"
        return "live"
    if check["content_sha256"] not in {c["content_sha256"] for c in captures}:
        captures.append(capture)
    entry["live_status"] = "changed"
    return "changed"


def apply_wayback(entry: dict, wayback_url: str | None, today: str) -> None:
    entry["wayback_checked"] = today
    if wayback_url:
        entry["wayback_url"] = wayback_url
