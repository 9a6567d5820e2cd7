"""A loopback HTTP server for saved captures: real HTTP, conditional requests, injected failures.

It serves the files under a root folder at their relative paths, so a spider fetches a capture
exactly as it would fetch the live source. Each file has a strong ETag (the sha256 of its bytes)
and a Last-Modified (its mtime); a request whose If-None-Match or If-Modified-Since still matches
is answered "304 Not Modified" with no body. A path can answer with a function of the query and
body (`answer`, e.g. a GraphQL API or the Wayback Machine's availability API). Failures can be
injected per path (nightly/faults.py runs every spider against each of them):
- `fail`: a status code, with headers (a Retry-After), for every request or only the first few;
- `replace`: another file served in its place (an HTML error page where a CSV should be);
- `send`: these bytes with this Content-Type instead (an empty body, text in another charset);
- `cut`: the connection broken: `reset` (TCP RST before any answer), `stall` (no answer until
  `stall_seconds` have passed, then closed), `truncate` (half the body, then closed);
- `flood`: a 200 of `size` bytes, the file's lines repeated, generated as it is sent.
Every request is logged, so a test can count what a night cost.

Usage: python -m nightly.loopback --root data/captures [--port 18751]
       [--fail /atlas/download.csv=500] [--replace /atlas/download.csv=tests/fixtures/x.html]
       [--cut /aiid/incidents.csv=reset] [--flood /atlas/download.csv=52428800]
"""

import argparse
import hashlib
import itertools
import json
import mimetypes
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROBOTS = b"User-agent: *\nAllow: /\n"
CUTS = ("reset", "stall", "truncate")
CRAWL_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}  # no one to be polite to
TYPES = {".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".txt": "text/plain; charset=utf-8"}


@dataclass
class Logged:
    """One request the server answered."""

    method: str
    path: str
    status: int
    conditional: bool
    body: bytes = b""
    headers: dict = field(default_factory=dict)


@dataclass
class Failure:
    """An injected status: its extra headers, and how many requests it answers (None: all)."""

    status: int
    headers: tuple = ()
    times: int | None = None


class CaptureServer:
    """Serve `root` on 127.0.0.1 from a background thread: `with CaptureServer(root) as server:`."""

    def __init__(self, root: Path, port: int = 0, stall_seconds: float = 5.0):
        self.root = Path(root).resolve()
        self.stall_seconds = stall_seconds
        self.failures: dict[str, Failure] = {}
        self.replacements: dict[str, Path] = {}
        self.sent: dict[str, tuple[bytes, str]] = {}
        self.cuts: dict[str, str] = {}
        self.floods: dict[str, int] = {}
        self.answers = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def fail(self, path: str, status: int, headers: dict | None = None, times: int | None = None) -> None:
        """Answer `status` (with `headers`) to the next `times` requests of path, or to all."""
        self.failures[_key(path)] = Failure(status, tuple((headers or {}).items()), times)

    def replace(self, path: str, file: Path) -> None:
        self.replacements[_key(path)] = Path(file)

    def send(self, path: str, body: bytes, content_type: str) -> None:
        self.sent[_key(path)] = (body, content_type)

    def cut(self, path: str, how: str) -> None:
        if how not in CUTS:
            raise ValueError(f"a connection is cut by one of {CUTS}, not {how!r}")
        self.cuts[_key(path)] = how

    def flood(self, path: str, size: int) -> None:
        self.floods[_key(path)] = size

    def answer(self, path: str, respond) -> None:
        """`respond(query: dict, body: bytes) -> (status, content_type, body)` answers GET or POST."""
        self.answers["/" + path.lstrip("/")] = respond

    def heal(self) -> None:
        for faults in (self.failures, self.replacements, self.sent, self.cuts, self.floods):
            faults.clear()

    def requests(self, path: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == _key(path)]

    def failure_for(self, path: str) -> Failure | None:
        """The failure that answers this request of path, counting it against its `times`."""
        with self._lock:
            failure = self.failures.get(path)
            if failure and failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.failures[path]
            return failure

    def start(self) -> "CaptureServer":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "CaptureServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def file_for(self, path: str) -> Path | None:
        if path in self.replacements:
            return self.replacements[path]
        candidate = (self.root / path.lstrip("/")).resolve()
        if candidate.is_relative_to(self.root) and candidate.is_file():
            return candidate
        return None

    def content(self, path: str) -> tuple[bytes, float, str] | None:
        """What path serves (bytes sent in its place, a replacement file, its own file, or the
        default robots.txt), its modification time and its Content-Type; None if nothing."""
        if path in self.sent:
            body, content_type = self.sent[path]
            return body, 0.0, content_type
        file = self.file_for(path)
        if file is None:
            return (ROBOTS, 0.0, TYPES[".txt"]) if path == "/robots.txt" else None
        content_type = (TYPES.get(file.suffix) or TYPES.get(Path(path).suffix)
                        or mimetypes.guess_type(path)[0] or "application/octet-stream")
        return file.read_bytes(), file.stat().st_mtime, content_type


def _key(path: str) -> str:
    return "/" + path.lstrip("/")


def _repeated(lines: list[bytes], size: int):
    """`size` bytes of the lines repeated (the first, a header, once), in chunks of about 1 MiB."""
    head, rows = lines[0], itertools.cycle(lines[1:] or lines)
    chunk, left = head, size
    while left > 0:
        while len(chunk) < 2**20:
            chunk += next(rows)
        yield chunk[:left]
        left -= len(chunk[:left])
        chunk = b""


def _not_modified(headers, etag: str, modified: float) -> bool:
    if "If-None-Match" in headers:
        return etag in [tag.strip() for tag in headers["If-None-Match"].split(",")] or \
            headers["If-None-Match"].strip() == "*"
    if "If-Modified-Since" in headers:
        try:
            return int(modified) <= parsedate_to_datetime(headers["If-Modified-Since"]).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _handler(server: CaptureServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # the server keeps its own log
            pass

        def _send(self, status: int, content_type: str | None, body: bytes, extra=(),
                  truncate: bool = False) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in extra:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body[:len(body) // 2] if truncate else body)
            if truncate:  # closed short of the Content-Length it announced
                self.close_connection = True

        def _log(self, status: int, body: bytes = b"") -> None:
            conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
            server.record(Logged(self.command, urlsplit(self.path).path, status, conditional, body,
                                 dict(self.headers.items())))

        def _drop(self, how: str, body: bytes) -> None:
            """No answer: the connection reset at once, or held silent, then closed."""
            self._log(0, body)
            self.close_connection = True
            if how == "stall":
                time.sleep(server.stall_seconds)
            else:  # a zero linger makes close() send a TCP RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()

        def _flood(self, content_type: str, body: bytes) -> None:
            size = server.floods[urlsplit(self.path).path]
            self._log(200)
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                for chunk in _repeated(body.splitlines(keepends=True), size):
                    self.wfile.write(chunk)
            except OSError:  # the client gave up on it, as it should
                pass

        def _respond(self, body: bytes) -> None:
            path = urlsplit(self.path).path
            failure = server.failure_for(path)
            if failure:
                self._log(failure.status, body)
                return self._send(failure.status, "text/plain",
                                  f"injected failure {failure.status}\n".encode(), failure.headers)
            cut = server.cuts.get(path)
            if cut in ("reset", "stall"):
                return self._drop(cut, body)
            validators = ()
            if path in server.answers and path not in server.sent:
                query = dict(parse_qsl(urlsplit(self.path).query))
                status, content_type, answer = server.answers[path](query, body)
            else:
                found = server.content(path) if self.command != "POST" or path in server.sent else None
                if found is None:
                    self._log(404, body)
                    return self._send(404, "text/plain", b"not found\n")
                status, (answer, modified, content_type) = 200, found
                if not (cut or path in server.sent or path in server.floods):  # a fault is sent whole
                    etag = '"' + hashlib.sha256(answer).hexdigest()[:32] + '"'
                    validators = (("ETag", etag), ("Last-Modified", formatdate(modified, usegmt=True)))
                    if _not_modified(self.headers, etag, modified):
                        self._log(304)
                        return self._send(304, None, b"", validators)
            if path in server.floods:
                return self._flood(content_type, answer)
            self._log(status, body)
            return self._send(status, content_type, answer, validators, truncate=cut == "truncate")

        def do_GET(self):
            self._respond(b"")

        do_HEAD = do_GET

        def do_POST(self):
            self._respond(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    return Handler


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    return [tuple(value.split("=", 1)) for value in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data/captures"))
    parser.add_argument("--port", type=int, default=18751)
    parser.add_argument("--fail", action="append", default=[], metavar="PATH=STATUS")
    parser.add_argument("--replace", action="append", default=[], metavar="PATH=FILE")
    parser.add_argument("--cut", action="append", default=[], metavar="PATH=" + "|".join(CUTS))
    parser.add_argument("--flood", action="append", default=[], metavar="PATH=BYTES")
    args = parser.parse_args()
    server = CaptureServer(args.root, args.port)
    for path, status in _pairs(args.fail):
        server.fail(path, int(status))
    for path, file in _pairs(args.replace):
        server.replace(path, Path(file))
    for path, how in _pairs(args.cut):
        server.cut(path, how)
    for path, size in _pairs(args.flood):
        server.flood(path, int(size))
    print(json.dumps({"serving": str(server.root), "url": server.url("")}), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
