"""The load test's counting (bench/load.py): a wrk process reports every failed request.

Each check runs wrk for one second against a small loopback server of the test's own (200 on
/ok, 500 on /broken) or against a port nobody listens on, which stops the run; the 60 s run
itself is `make loadtest`.
"""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.load import finish_wrk, start_wrk
from bench.site import free_port

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make wrk)")


class Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.asked.append(self.path)
        ok = self.path.split("?")[0] == "/ok"
        body = b"ok\n" if ok else b"broken\n"
        self.send_response(200 if ok else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def load(port, urls, tmp_path, uncached=False):
    return finish_wrk(start_wrk(port, urls, 2, 1, tmp_path, "kind", uncached), tmp_path, "kind")


def test_pages_that_answer_200_count_no_error(site, tmp_path):
    figures = load(site.server_address[1], ["/ok"], tmp_path)
    assert figures["requests"] > 10
    assert figures["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]


def test_a_server_error_is_counted_for_every_request_that_got_one(site, tmp_path):
    figures = load(site.server_address[1], ["/ok", "/broken"], tmp_path)
    assert figures["requests"] > 10
    assert abs(figures["errors"]["status"] - figures["requests"] / 2) <= 2


def test_a_server_that_refuses_connections_fails_the_run(tmp_path):
    with pytest.raises(RuntimeError, match="Connection refused"):
        load(free_port(), ["/ok"], tmp_path)


def test_uncached_requests_each_ask_a_url_of_their_own(site, tmp_path):
    figures = load(site.server_address[1], ["/ok", "/ok?country=GB"], tmp_path, uncached=True)
    assert figures["errors"]["status"] == 0
    assert len(site.asked) >= figures["requests"] > 10
    assert len(set(site.asked)) == len(site.asked)
    assert {path.split("_fresh=")[0] for path in site.asked} == {"/ok?", "/ok?country=GB&"}
