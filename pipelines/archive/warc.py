"""Web archive records of what was fetched: WARC files written with warcio, packaged as WACZ.

A `WarcFile` holds one run's exchanges: a warcinfo record, then for each answer a request record
and a response record (status, headers and body as they came over the wire), or, for a
"304 Not Modified", a revisit record that points to the copy already held. `package_wacz` bundles
WARC files with a CDXJ index and a page list into one WACZ (a ZIP that ReplayWeb.page opens).
`content_sha256` is the digest the evidence base stores for a document: of the body as read, after
any Content-Encoding is undone.

Packaging can withhold records: given a test of bytes (the build's redactions), every record whose
headers or payload hold a redacted value is left out of the WACZ, with the records written
concurrently to it (its request); the WARC files in the WACZ are copies of the kept records, byte
for byte, and the datapackage says how many were withheld and their record ids.
"""

import base64
import gzip
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from surt import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SOFTWARE = "FRT Evidence (warcio)"
NOT_MODIFIED = 304
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.0/revisit/server-not-modified"
DROPPED_HEADERS = {"transfer-encoding"}  # the body is stored de-chunked


def content_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def payload_digest(body: bytes) -> str:
    """WARC's own payload digest form: sha1 in base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def _headers(pairs) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k.lower() not in DROPPED_HEADERS]


class WarcFile:
    """One gzipped WARC file, opened on the first record and closed by `close`."""

    def __init__(self, path: Path, info: dict[str, str]):
        self.path = Path(path)
        self.info = info
        self._handle = None
        self._writer: WARCWriter | None = None
        self.records = 0

    def _open(self) -> WARCWriter:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("wb")
            self._writer = WARCWriter(self._handle, gzip=True)
            self._writer.write_record(self._writer.create_warcinfo_record(
                self.path.name, {"software": SOFTWARE, "format": "WARC File Format 1.0", **self.info}))
        return self._writer

    def write_exchange(self, *, url: str, method: str, request_headers, request_body: bytes,
                       status: int, reason: str, response_headers, body: bytes,
                       stored_body: bytes | None = None) -> str:
        """Write the request and its answer; return the WARC-Record-ID of the answer.

        For a 304, `stored_body` is the copy already held, which the revisit record points to.
        """
        writer = self._open()
        http = StatusAndHeaders(f"{status} {reason}".strip(), _headers(response_headers),
                                protocol="HTTP/1.1")
        if status == NOT_MODIFIED and stored_body is not None:
            answer = writer.create_warc_record(url, "revisit", http_headers=http, warc_headers_dict={
                "WARC-Profile": SERVER_NOT_MODIFIED, "WARC-Refers-To-Target-URI": url,
                "WARC-Payload-Digest": payload_digest(stored_body)})
        else:
            answer = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                               length=len(body), http_headers=http)
        record_id = answer.rec_headers.get_header("WARC-Record-ID")
        path = url.split("://", 1)[-1].partition("/")[2]
        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(request_body), length=len(request_body),
            http_headers=StatusAndHeaders(f"{method} /{path} HTTP/1.1", _headers(request_headers),
                                          is_http_request=True),
            warc_headers_dict={"WARC-Concurrent-To": record_id})
        writer.write_record(answer)
        writer.write_record(request)
        self.records += 1
        return record_id

    def close(self) -> Path | None:
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = self._writer = None
        return self.path


def _timestamp(warc_date: str) -> str:
    return "".join(c for c in warc_date if c.isdigit())[:14]


def cdxj_lines(warc_path: Path, name: str) -> list[str]:
    """One CDXJ line per response or revisit record (pywb's format: SURT, 14-digit time, JSON)."""
    lines = []
    with Path(warc_path).open("rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            if record.rec_type not in ("response", "revisit"):
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            http = record.http_headers
            mime = (http.get_header("Content-Type") or "").split(";")[0] if http else ""
            fields = {"url": url, "mime": mime, "status": http.get_statuscode() if http else "",
                      "digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                      "filename": name}
            record.content_stream().read()
            fields["offset"] = iterator.get_record_offset()
            fields["length"] = iterator.get_record_length()
            when = _timestamp(record.rec_headers.get_header("WARC-Date"))
            lines.append(f"{surt(url)} {when} {json.dumps(fields, sort_keys=True)}")
    return lines


def _records(warc_path: Path):
    """Each record of a gzipped WARC file: its id, the id it was written concurrently to, and its
    bytes as stored (one gzip member) and as read (headers, then the payload decoded)."""
    data = Path(warc_path).read_bytes()
    iterator = ArchiveIterator(io.BytesIO(data))
    for record in iterator:
        http = record.http_headers.to_str() if record.http_headers else ""
        read = (record.rec_headers.to_str() + http).encode("utf-8") + record.content_stream().read()
        offset, length = iterator.get_record_offset(), iterator.get_record_length()
        stored = data[offset:offset + length]
        yield (record.rec_headers.get_header("WARC-Record-ID"),
               record.rec_headers.get_header("WARC-Concurrent-To"), stored, read + gzip.decompress(stored))


def withhold_records(warc_paths: list[Path], out_dir: Path,
                     holds: Callable[[bytes], bool]) -> tuple[list[Path], list[str]]:
    """Copies in out_dir of the WARC files without the records whose bytes `holds` a withheld
    value, nor the records written concurrently to them; return the copies and the ids withheld."""
    held = {linked for path in warc_paths for record_id, concurrent, _, read in _records(path) if holds(read)
            for linked in (record_id, concurrent) if linked}
    copies, withheld = [], []
    for path in warc_paths:
        copy = Path(out_dir) / Path(path).name
        with copy.open("wb") as out:
            for record_id, concurrent, stored, _ in _records(path):
                if record_id in held or concurrent in held:
                    withheld.append(record_id)
                else:
                    out.write(stored)
        copies.append(copy)
    return copies, sorted(withheld)


def package_wacz(warc_paths: list[Path], out_path: Path, title: str, description: str = "",
                 withhold: Callable[[bytes], bool] | None = None) -> Path:
    """Bundle WARC files into a WACZ 1.1.1 file: archive/, indexes/index.cdx.gz, pages/, datapackage;
    without the records `withhold` holds a value of, when given (see `withhold_records`)."""
    if withhold is None:
        return _package(list(map(Path, warc_paths)), Path(out_path), title, description, None)
    with tempfile.TemporaryDirectory() as kept_dir:
        kept, withheld = withhold_records(list(map(Path, warc_paths)), Path(kept_dir), withhold)
        return _package(kept, Path(out_path), title, description, withheld)


def _package(warc_paths: list[Path], out_path: Path, title: str, description: str,
             withheld: list[str] | None) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    index, pages = [], {}
    for path in sorted(map(Path, warc_paths)):
        lines = cdxj_lines(path, path.name)
        index.extend(lines)
        for line in lines:
            _, when, fields = line.split(" ", 2)
            fields = json.loads(fields)
            stamp = datetime.strptime(when, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            pages.setdefault(fields["url"], {"url": fields["url"], "title": fields["url"],
                                             "ts": stamp.strftime("%Y-%m-%dT%H:%M:%SZ")})
    page_lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All pages"}, *pages.values()]
    files = {f"archive/{p.name}": Path(p).read_bytes() for p in sorted(map(Path, warc_paths))}
    files["indexes/index.cdx.gz"] = gzip.compress(("\n".join(sorted(index)) + "\n").encode(), mtime=0)
    files["pages/pages.jsonl"] = "".join(json.dumps(p) + "\n" for p in page_lines).encode()
    package = {"profile": "data-package", "wacz_version": "1.1.1", "title": title,
               "description": description, "software": SOFTWARE,
               "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "resources": [{"name": Path(name).name, "path": name,
                              "hash": f"sha256:{content_sha256(data)}", "bytes": len(data)}
                             for name, data in files.items()]}
    if withheld is not None:
        package["withheld"] = {"reason": "holds a value redacted from the evidence base",
                               "records": len(withheld), "record_ids": withheld}
    files["datapackage.json"] = json.dumps(package, indent=2).encode()
    digest = {"path": "datapackage.json", "hash": f"sha256:{content_sha256(files['datapackage.json'])}"}
    files["datapackage-digest.json"] = json.dumps(digest).encode()
    with zipfile.ZipFile(out_path, "w") as archive:
        for name, data in files.items():
            stored = name.startswith(("archive/", "indexes/"))
            archive.writestr(name, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return out_path
