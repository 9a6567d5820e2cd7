"""A loopback HTTP server for saved captures: real HTTP, conditional requests, injected failures.

It serves the files under a root folder at their relative paths, so a spider fetches a capture
exactly as it would fetch the live source. Each file has a strong ETag (the sha256 of its bytes)
and a Last-Modified (its mtime); a request whose If-None-Match or If-Modified-Since still matches
is answered "304 Not Modified" with no body. Failures can be injected per path: a status code
(`fail`), another file served in its place (`replace`, e.g. an HTML error page where a CSV should
be), and a path can answer with a function of the query and body (`answer`, e.g. a GraphQL API
or the Wayback Machine's availability API). Every request is logged, so a test can count what a
night cost.

Usage: python -m nightly.loopback --root data/captures [--port 18751]
       [--fail /atlas/download.csv=500] [--replace /atlas/download.csv=tests/fixtures/x.html]
"""

import argparse
import hashlib
import json
import mimetypes
import threading
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROBOTS = b"User-agent: *\nAllow: /\n"
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


class CaptureServer:
    """Serve `root` on 127.0.0.1 from a background thread: `with CaptureServer(root) as server:`."""

    def __init__(self, root: Path, port: int = 0):
        self.root = Path(root).resolve()
        self.failures: dict[str, int] = {}
        self.replacements: dict[str, Path] = {}
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

    def fail(self, path: str, status: int) -> None:
        self.failures["/" + path.lstrip("/")] = status

    def replace(self, path: str, file: Path) -> None:
        self.replacements["/" + path.lstrip("/")] = Path(file)

    def answer(self, path: str, respond) -> None:
        """`respond(query: dict, body: bytes) -> (status, content_type, body)` answers GET or POST."""
        self.answers["/" + path.lstrip("/")] = respond

    def heal(self) -> None:
        self.failures.clear()
        self.replacements.clear()

    def requests(self, path: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == "/" + path.lstrip("/")]

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

        def _send(self, status: int, content_type: str | None, body: bytes, extra=()) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in extra:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _log(self, status: int, body: bytes = b"") -> None:
            conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
            server.record(Logged(self.command, urlsplit(self.path).path, status, conditional, body,
                                 dict(self.headers.items())))

        def _answer(self, path: str, body: bytes) -> None:
            query = dict(parse_qsl(urlsplit(self.path).query))
            status, content_type, answer = server.answers[path](query, body)
            self._log(status, body)
            self._send(status, content_type, answer)

        def do_GET(self):
            path = urlsplit(self.path).path
            if path in server.failures:
                status = server.failures[path]
                self._log(status)
                return self._send(status, "text/plain", f"injected failure {status}\n".encode())
            if path in server.answers:
                return self._answer(path, b"")
            if path == "/robots.txt" and server.file_for(path) is None:
                file_body, modified = ROBOTS, 0.0
            else:
                file = server.file_for(path)
                if file is None:
                    self._log(404)
                    return self._send(404, "text/plain", b"not found\n")
                file_body, modified = file.read_bytes(), file.stat().st_mtime
            etag = '"' + hashlib.sha256(file_body).hexdigest()[:32] + '"'
            validators = (("ETag", etag), ("Last-Modified", formatdate(modified, usegmt=True)))
            if _not_modified(self.headers, etag, modified):
                self._log(304)
                return self._send(304, None, b"", validators)
            self._log(200)
            suffix = Path(path).suffix
            content_type = TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
            if path in server.replacements:
                content_type = TYPES.get(server.replacements[path].suffix, content_type)
            return self._send(200, content_type, file_body, validators)

        do_HEAD = do_GET

        def do_POST(self):
            path = urlsplit(self.path).path
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if path in server.failures:
                status = server.failures[path]
                self._log(status, body)
                return self._send(status, "text/plain", f"injected failure {status}\n".encode())
            if path not in server.answers:
                self._log(404, body)
                return self._send(404, "text/plain", b"not found\n")
            return self._answer(path, body)

    return Handler


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    return [tuple(value.split("=", 1)) for value in values]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data/captures"))
    parser.add_argument("--port", type=int, default=18751)
    parser.add_argument("--fail", action="append", default=[], metavar="PATH=STATUS")
    parser.add_argument("--replace", action="append", default=[], metavar="PATH=FILE")
    args = parser.parse_args()
    server = CaptureServer(args.root, args.port)
    for path, status in _pairs(args.fail):
        server.fail(path, int(status))
    for path, file in _pairs(args.replace):
        server.replace(path, Path(file))
    print(json.dumps({"serving": str(server.root), "url": server.url("")}), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
