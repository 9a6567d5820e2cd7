"""Releases: every database the site has published, kept as a file with its SHA-256.

A citation names a release (the build time, table `build`, key `built_at`) and a row's content
hash. `release` copies a built database to `<releases>/evidence-<built_at>.db` and records it in
`<releases>/releases.json` (newest first: build time, file name, size, SHA-256) and in
`<releases>/SHA256SUMS` (the format `sha256sum -c` reads), so that the release a citation names
can be downloaded, its bytes checked, and the row's hash computed again from it. Releasing the
same build twice changes nothing; another file with the same build time is refused. The site
lists the releases at /-/releases (plugins/releases.py) and serves their files from /releases/.

    python -m publish.releases --db data/evidence.db --releases releases
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

MANIFEST = "releases.json"
SUMS = "SHA256SUMS"


def built_at(db_path: Path) -> str:
    """The build time a database records; ValueError for a file the build did not make."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        try:
            row = conn.execute("select value from build where key = 'built_at'").fetchone()
        except sqlite3.DatabaseError as error:
            raise ValueError(f"{db_path} is not a built evidence database: {error}") from None
    if not row:
        raise ValueError(f"{db_path} records no build time (table build, key built_at)")
    return row[0]


def file_name(release: str) -> str:
    """The file of a release: evidence-20261208T021500Z.db for 2026-12-08T02:15:00Z."""
    return f"evidence-{release.replace('-', '').replace(':', '')}.db"


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_manifest(releases: Path) -> list[dict]:
    """The releases recorded in a folder, newest first (none if it has no manifest)."""
    path = Path(releases) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def release(db_path: Path, releases: Path) -> dict:
    """Keep the database as a release (once per build time) and return its manifest entry."""
    releases = Path(releases)
    releases.mkdir(parents=True, exist_ok=True)
    when = built_at(db_path)
    entries = read_manifest(releases)
    if known := next((entry for entry in entries if entry["built_at"] == when), None):
        if known["sha256"] != sha256_of(db_path):
            raise ValueError(f"release {when} is already kept with other bytes: one release, one file")
        return known
    target = releases / file_name(when)
    partial = target.with_name(target.name + ".tmp")
    shutil.copyfile(db_path, partial)
    entry = {"built_at": when, "file": target.name, "bytes": partial.stat().st_size,
             "sha256": sha256_of(partial)}
    os.replace(partial, target)
    entries = sorted([entry, *entries], key=lambda e: e["built_at"], reverse=True)
    _write_atomically(releases / MANIFEST, json.dumps(entries, indent=1) + "\n")
    _write_atomically(releases / SUMS, "".join(f"{e['sha256']}  {e['file']}\n" for e in entries))
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("data/evidence.db"))
    parser.add_argument("--releases", type=Path, default=Path("releases"))
    args = parser.parse_args()
    entry = release(args.db, args.releases)
    print(f"{entry['file']}  {entry['sha256']}  ({entry['bytes']:,} bytes, built {entry['built_at']})")


if __name__ == "__main__":
    main()
