"""Shared test helpers: real captures in ../shared/real, spider callbacks on files, real crawls, the
site's pages in process."""

import ast
import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from pipelines.build import build

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
CAPTURES = REPO / "data" / "captures"
SHARED_REAL = REPO.parent / "shared" / "real"
RUN_DATE = "2026-11-21"
RELEASE = "2026-11-21T12:00:00Z"  # the build time of the databases the page tests build
# `make serve`'s options as Datasette's arguments: tests/test_makefile.py holds them to the Makefile.
SERVE_ARGUMENTS = {"metadata": "metadata.yml", "plugins_dir": "plugins", "template_dir": "templates",
                   "static_mounts": [("assets", "static"), ("releases", "releases")], "settings": {"suggest_facets": False,
                                                                                "facet_time_limit_ms": 1000}}


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """What `make build` makes from the repository's curated files and item snapshots, built once
    per run into a temporary directory with a fixed release time, for the tests of the pages."""
    path = tmp_path_factory.mktemp("demo") / "evidence.db"
    build(path, items_dir=REPO / "data" / "items", curated_dir=REPO / "data" / "curated",
          built_at=RELEASE)
    return path


@pytest.fixture(scope="module")
def db(demo_db):
    """The demo database, its rows read by column name."""
    conn = sqlite3.connect(demo_db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def shared_file(relative: str) -> Path:
    """A real capture from ../shared/real, or a skip saying why it is missing."""
    path = SHARED_REAL / relative
    if not path.exists():
        pytest.skip(f"real capture {path} is absent: ../shared/ is not beside this checkout")
    return path


def file_response(path: Path, url: str | None = None, **request_kwargs) -> TextResponse:
    """A Scrapy response whose body is the file's bytes, as the downloader would give it."""
    url = url or path.as_uri()
    body = Path(path).read_bytes()
    cls = HtmlResponse if path.suffix == ".html" else TextResponse
    return cls(url=url, body=body, encoding="utf-8", request=Request(url, **request_kwargs))


def make_spider(spider_cls, **kwargs):
    crawler = get_crawler(spider_cls)
    crawler.spider = spider_cls.from_crawler(crawler, **kwargs)
    return crawler.spider


def crawl(spider: str, items_dir: Path, *arguments: str, settings: dict | None = None,
          env: dict | None = None) -> tuple[int, dict, str]:
    """Run `scrapy crawl` for real (engine, pipelines, snapshot); return exit code, stats, log.

    The run log, WARC files and HTTP cache go to runs/, archive/ and httpcache/ in items_dir.
    """
    env = dict(os.environ, FRT_ITEMS_DIR=str(items_dir), FRT_RUN_DATE=RUN_DATE,
               FRT_RUNS_DIR=str(items_dir / "runs"), FRT_ARCHIVE_DIR=str(items_dir / "archive"),
               FRT_HTTPCACHE_DIR=str(items_dir / "httpcache"), **(env or {}))
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", "LOG_LEVEL=INFO"]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    for argument in arguments:
        command += ["-a", argument]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, _stats(done.stderr), done.stderr


def _stats(log: str) -> dict:
    marker = "Dumping Scrapy stats:\n"
    if marker not in log:
        return {}
    text = log.split(marker, 1)[1]
    end = text.index("}\n") + 1
    text = text[:end].replace("datetime.datetime", "").replace("tzinfo=datetime.timezone.utc", "")
    return ast.literal_eval(text)


class InProcess:
    """Datasette serving db_path immutable as `make serve` does (SERVE_ARGUMENTS), answering in this
    process through datasette.client: the site's pages without a server or a browser. One event
    loop, in a thread of its own, serves every request, as one server would (and a test that also
    drives Playwright, whose loop runs in the main thread, can use it too)."""

    def __init__(self, db_path: Path):
        import yaml
        from datasette.app import Datasette

        arguments = dict(SERVE_ARGUMENTS)
        arguments["metadata"] = yaml.safe_load((REPO / arguments["metadata"]).read_text(encoding="utf-8"))
        arguments["plugins_dir"] = str(REPO / arguments["plugins_dir"])
        arguments["template_dir"] = str(REPO / arguments["template_dir"])
        arguments["static_mounts"] = [(mount, str(REPO / path)) for mount, path in arguments["static_mounts"]]
        self.datasette = Datasette(immutables=[str(db_path)], **arguments)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="datasette", daemon=True)
        self.thread.start()

    def get(self, path: str, **options):
        """The response to a GET of path (an httpx.Response)."""
        return asyncio.run_coroutine_threadsafe(self.datasette.client.get(path, **options),
                                                self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def demo_site(demo_db):
    """The demo database's site in process (InProcess), for a module's page tests."""
    site = InProcess(demo_db)
    yield site
    site.close()
