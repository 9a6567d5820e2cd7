"""The Makefile agrees with the code and keeps its promises: its SPIDERS are the source spiders a
night runs; scrape-captures reads the same capture of each that the offline night serves; the demo
scrapes into build/demo/ and builds from there, leaving `git status` clean; `make demo` installs
the package alone and `make test` the test extras, each once; the tests run with nothing that
hides a failure and write their screenshots into docs/ only under `make screenshots`; and the
tests that serve the site in process do it with `make serve`'s options."""

import os
import re
import subprocess
import sys
from pathlib import Path

import served
from conftest import REPO, SERVE_ARGUMENTS
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.project import get_project_settings

from nightly.plan import CAPTURES, DISCOVERY, SOURCES

MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")
GIT = ["git", "-c", "safe.directory=*", "-c", "user.name=test", "-c", "user.email=test@example.org"]


def recipe(target: str) -> list[str]:
    block = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    return [line.strip() for line in block.group(1).splitlines()]


def prerequisites(target: str) -> list[str]:
    return re.search(rf"^{re.escape(target)}:([^#\n]*)", MAKEFILE, re.M).group(1).split()


def variable(name: str) -> str:
    value = re.search(rf"^{name} := ((?:.*\\\n)*.*)$", MAKEFILE, re.M).group(1)
    return " ".join(value.replace("\\\n", " ").split())


def quiet_env() -> dict:
    """This environment without what a surrounding `make test` or a test set for its own crawls."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("MAKE", "MFLAGS", "FRT_"))}


def test_spiders_are_the_sources_of_a_night():
    spiders = re.search(r"^SPIDERS := (.*)$", MAKEFILE, re.M).group(1).split()
    assert tuple(spiders) == SOURCES
    every = set(get_spider_loader(get_project_settings()).list())
    # the cited pages, and discovery's documents for people to review: not sources of rows
    assert every - set(spiders) == {"documents", *(step.spider for step in DISCOVERY)}


def test_scrape_captures_reads_each_source_capture():
    crawled = dict(re.findall(r"scrapy crawl (\w+) -a start_url=file://\$\(CAPTURES\)/(\S+)",
                              "\n".join(recipe("scrape-captures"))))
    assert crawled == CAPTURES
    assert all((REPO / "data" / "captures" / path).exists() for path in CAPTURES.values())


def test_the_operations_targets_call_the_nightly_commands():
    assert recipe("nightly") == ["$(BIN)/python -m nightly"]
    assert recipe("nightly-captures") == ["$(BIN)/python -m nightly --captures"]
    distributed = "$(BIN)/python -m nightly.workers --workers $(workers) $(SPIDERS)"
    assert recipe("scrape-distributed") == [distributed]


def test_help_lists_every_target():
    phony = re.search(r"^\.PHONY: (.*)$", MAKEFILE, re.M).group(1).split()
    described = re.findall(r"^([a-z-]+):.*## \S", MAKEFILE, re.M)
    assert sorted(described) == sorted(phony)


# --------------------------------------------------------------------- the demo


def test_the_demo_scrapes_into_build_and_registers_no_id():
    assert variable("DEMO") == "build/demo"
    assert variable("DEMO_ENV").split() == [
        "FRT_ITEMS_DIR=$(DEMO)/items", "FRT_RUNS_DIR=$(DEMO)/runs", "FRT_ARCHIVE_DIR=$(DEMO)/archive",
        "FRT_HTTPCACHE_DIR=$(CURDIR)/$(DEMO)/httpcache"]
    assert prerequisites("demo") == ["demo-build"]
    assert recipe("demo") == ["$(MAKE) --no-print-directory serve"]
    assert recipe("demo-build") == [
        "rm -rf $(DEMO)", "$(DEMO_ENV) $(MAKE) --no-print-directory scrape-captures",
        "$(BIN)/python -m pipelines.build --db $(DB) --items $(DEMO)/items"]
    assert recipe("build") == ["$(BIN)/python -m pipelines.build --db $(DB) --register"]
    assert recipe("clean") == ["rm -rf $(VENV) build $(DB)"]


def working_tree_copy(directory: Path) -> Path:
    """The checkout as it is now (tracked and new files, not ignored ones) committed in a new repository."""
    listed = subprocess.run([*GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # not a file deleted but not yet staged
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    subprocess.run([*GIT, "init", "-q"], cwd=directory, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=directory, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "the checkout"], cwd=directory, check=True)
    return directory


def test_the_demo_leaves_git_status_clean(tmp_path):
    """`make demo-build` (the demo without serving) in a copy of this checkout, with this venv."""
    clone = working_tree_copy(tmp_path / "clone")
    installed = tmp_path / "installed"  # the venv running these tests is installed already
    installed.touch()
    command = ["make", "--no-print-directory", "demo-build", f"VENV={Path(sys.executable).parent.parent}",
               f"STAMP={installed}"]
    planned = subprocess.run([*command, "-n"], cwd=clone, env=quiet_env(), capture_output=True,
                             text=True, check=True)
    assert "-m pip " not in planned.stdout, planned.stdout  # nothing may be installed into this venv
    done = subprocess.run(command, cwd=clone, env=quiet_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    status = subprocess.run([*GIT, "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
    assert sorted(p.name for p in (clone / "build" / "demo" / "items").glob("*.jsonl")) == sorted(
        f"{source}.jsonl" for source in SOURCES)
    assert (clone / "data" / "evidence.db").stat().st_size > 0


# --------------------------------------------------------------------- installing


FAKE_PYTHON = """#!/bin/sh
# A stand-in for python3: `-m venv DIR` makes DIR/bin of stand-ins; anything else is logged.
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin"
    for tool in python scrapy datasette ruff; do cp "$0" "$3/bin/$tool"; done
    echo "venv $3" >> "$LOG"
else
    echo "$(basename "$0") $*" >> "$LOG"
fi
"""


def test_demo_installs_the_package_and_test_the_extras_each_once(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((REPO / name).read_bytes())
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "log"

    def make(target: str, venv: str) -> list[str]:
        log.write_text("")
        subprocess.run(["make", "--no-print-directory", "-s", target, f"PYTHON={fake}", f"VENV={venv}"],
                       cwd=tmp_path, env=dict(quiet_env(), LOG=str(log)), check=True, capture_output=True)
        return [line for line in log.read_text().splitlines() if line.startswith(("venv ", "python -m pip "))]

    package = ["python -m pip install --quiet --upgrade pip", "python -m pip install --quiet -e ."]
    extras = ["python -m pip install --quiet --upgrade pip", "python -m pip install --quiet -e .[test]"]
    # lint stands for test (same stamp) without running the suite or apt-get here
    assert make("demo-build", "first") == ["venv first", *package]
    assert make("lint", "first") == extras
    assert make("demo-build", "first") == make("lint", "first") == []
    assert make("lint", "second") == ["venv second", *extras]
    assert make("demo-build", "second") == []
    assert all(prerequisites(target)[0] == "$(TEST_STAMP)" for target in ("test", "lint", "install"))
    assert all(prerequisites(target)[0] == "$(STAMP)" for target in ("demo-build", "serve", "build"))


# --------------------------------------------------------------------- tests and screenshots


def test_the_tests_hide_no_failure():
    assert recipe("test") == ["$(BIN)/python -m pytest -n auto"]  # exit 5 (no tests) fails make as any other
    assert prerequisites("test") == ["$(TEST_STAMP)", "browser", "redis"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci if line and not line.startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make test"]
    assert os.access(REPO / ".ci" / "run", os.X_OK)
    addopts = re.search(r'^addopts = "(.*)"$', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    assert addopts.split() == ["-ra", "--strict-markers"]


def test_screenshots_go_into_docs_only_under_make_screenshots():
    assert recipe("screenshots") == [
        "FRT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py"]
    assert prerequisites("screenshots") == ["$(TEST_STAMP)", "browser"]
    assert not any("FRT_SCREENSHOTS" in line for line in recipe("test"))


# --------------------------------------------------------------------- serving


def test_the_tests_in_process_serve_as_make_serve_does():
    """tests/test_pages.py holds the Makefile's and the Dockerfile's options to served.SERVE_OPTIONS."""
    arguments = SERVE_ARGUMENTS
    in_process = ["-m", arguments["metadata"], "--plugins-dir", arguments["plugins_dir"],
                  "--template-dir", arguments["template_dir"],
                  *[o for mount, path in arguments["static_mounts"] for o in ("--static", f"{mount}:{path}")],
                  *[o for name, value in arguments["settings"].items()
                    for o in ("--setting", name, {True: "on", False: "off"}.get(value, str(value)))]]
    assert in_process == served.SERVE_OPTIONS
    options = " ".join(served.SERVE_OPTIONS)
    assert recipe("serve") == [f"$(BIN)/datasette serve -i $(DB) {options} --host 127.0.0.1 --port $(PORT)"]
