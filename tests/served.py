"""What the browser tests share: a database built from text, served by Datasette as `make serve`
serves it (same metadata, plugins, templates and static files) on a free loopback port, and
Debian's Chromium driven by Playwright, which only ever reaches that server.

Where Chromium or Playwright is missing the browser tests skip and say why; in CI (CI=true)
they fail instead, so a broken install cannot pass for a green run.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO

from pipelines.clean.identify import identify
from pipelines.clean.normalise import normalise
from pipelines.clean.validate import validate
from pipelines.snapshot.store import Snapshot
from scrapers.pipelines import item_to_record

CHROMIUM = Path("/usr/bin/chromium")
# As root on a closed network: no sandbox, no GPU, and none of Chromium's own calls home.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
SERVE_OPTIONS = ["-m", "metadata.yml", "--plugins-dir", "plugins", "--template-dir", "templates",
                 "--static", "assets:static", "--static", "releases:releases",
                 "--setting", "suggest_facets", "off",
                 "--setting", "facet_time_limit_ms", "1000"]
PREFERRED_PORT = 8950


def write_items(items_dir: Path, source: str, items: list, run_date: str) -> None:
    """Items through validate → normalise → identify into `<source>.jsonl`, as a crawl writes it."""
    snapshot = Snapshot(Path(items_dir) / f"{source}.jsonl", run_date=run_date)
    for item in items:
        record, _problems = normalise(validate(item_to_record(item)))
        snapshot.add(identify(record))
    if not snapshot.commit(run_ok=True).replaced:
        raise RuntimeError(f"the {source} snapshot was not written")


def free_port(preferred: int = PREFERRED_PORT) -> int:
    """The preferred port when it is free (so that the permanent URLs in the screenshots stay the
    same from run to run), else any free port."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


@contextmanager
def datasette_server(db_path: Path):
    """Serve db_path on 127.0.0.1 with the Makefile's options; yield the base URL.

    The preferred port is tried first; if another server takes it first (another test run on the
    same machine), our process exits on the bind and the next free port is used instead."""
    for port in (free_port(), free_port(0)):
        process = _start(db_path, port)
        if process is not None:
            break
    else:
        raise RuntimeError("datasette could not be started on a free port")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _start(db_path: Path, port: int):
    """A datasette process answering on port, or None if it stopped (the port was taken)."""
    command = [sys.executable, "-m", "datasette", "serve", "-i", str(db_path), *SERVE_OPTIONS,
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=2):
                time.sleep(0.5)  # a server of someone else's answers too: ours must still be up
                if process.poll() is None:
                    return process
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                raise RuntimeError("datasette did not answer within 30 seconds") from None
            time.sleep(0.2)
    return None


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} is missing: `make test` installs Debian's chromium when run as root "
                "with apt-get")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: run `make install`"
    return None


@contextmanager
def chromium():
    """Chromium through Playwright; skips (fails where CI=true) when it cannot run here."""
    reason = missing_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def offline_page(browser, base: str, outside: list[str], **context_options):
    """A page that may reach only the server at base; every other request is refused and noted
    in outside (map tiles, or a CDN that should not be there)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    own_host = urlsplit(base).netloc

    def only_own_server(route):
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()
    context.route("**/*", only_own_server)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()

