# FRT Evidence: every task is one make target. `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Two install stamps named after pyproject.toml's checksum: the package alone (the demo and the
# operations) and the package with its test extras (tests, lint, screenshots). Installing the test
# extras installs the package as well, so it sets both.
CKSUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-app-$(CKSUM)
TEST_STAMP := $(VENV)/.installed-test-$(CKSUM)
DB := data/evidence.db
PORT ?= 8001
SCALE ?= 100000
CAPTURES := $(CURDIR)/data/captures
SPIDERS := atlas aiid
workers ?= 2
# The demo scrapes into this ignored folder, never into data/: its snapshots, run log, WARC files
# and HTTP cache.
DEMO := build/demo
DEMO_ENV := FRT_ITEMS_DIR=$(DEMO)/items FRT_RUNS_DIR=$(DEMO)/runs FRT_ARCHIVE_DIR=$(DEMO)/archive \
	FRT_HTTPCACHE_DIR=$(CURDIR)/$(DEMO)/httpcache

.DEFAULT_GOAL := help
.PHONY: help install demo demo-build test screenshots browser lint build release scrape crawl scrape-captures serve clean nightly nightly-captures scrape-distributed documents redis wrk bench loadtest notebooks promote reject

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.installed-app-*
	touch $@

$(TEST_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP) $@

install: $(TEST_STAMP) ## Create .venv and install the pinned dependencies with the test extras

demo: demo-build ## Scrape the bundled captures into build/demo/, build data/evidence.db from them and the curated data, serve it
	$(MAKE) --no-print-directory serve

demo-build: $(STAMP) ## The demo without serving it (registers no id: git status stays clean)
	rm -rf $(DEMO)
	$(DEMO_ENV) $(MAKE) --no-print-directory scrape-captures
	$(BIN)/python -m pipelines.build --db $(DB) --items $(DEMO)/items

test: $(TEST_STAMP) browser redis ## Run the whole test suite on every CPU (pytest-xdist; it writes nothing into the checkout)
	$(BIN)/python -m pytest -n auto

screenshots: $(TEST_STAMP) browser ## Retake docs/screenshots/*.png: the browser tests, in headless Chromium, on the repository's data
	FRT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/test_browser.py

browser: ## Install Debian's chromium for the browser tests, if missing (needs root and apt-get)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update && apt-get install -y chromium fonts-liberation) \
		|| echo "chromium could not be installed: the browser tests skip (they fail where CI=true)"; \
	else echo "chromium is missing and needs root and apt-get to install: the browser tests skip (they fail where CI=true)"; fi

lint: $(TEST_STAMP) ## Check style with ruff
	$(BIN)/ruff check scrapers pipelines tests plugins publish nightly bench notebooks

build: $(STAMP) ## Rebuild data/evidence.db from item snapshots and curated files (atomic swap); register new ids
	$(BIN)/python -m pipelines.build --db $(DB) --register

release: $(STAMP) ## Keep data/evidence.db as a release in releases/, with its SHA-256 (the nightly does it after each build)
	$(BIN)/python -m publish.releases --db $(DB) --releases releases

scrape: $(STAMP) ## Run every spider live and update data/items/<spider>.jsonl
	@for s in $(SPIDERS); do $(BIN)/scrapy crawl $$s || exit 1; done

crawl: $(STAMP) ## Run one spider live: make crawl spider=atlas
	$(BIN)/scrapy crawl $(spider)

scrape-captures: $(STAMP) ## Run every spider offline over data/captures/, updating data/items/<spider>.jsonl
	$(BIN)/scrapy crawl atlas -a start_url=file://$(CAPTURES)/atlas/download.csv
	$(BIN)/scrapy crawl aiid -a start_url=file://$(CAPTURES)/aiid/incidents.csv

nightly: $(STAMP) ## The night: every spider live, the cited documents, build, checks, a summary (exit 1: needs a human)
	$(BIN)/python -m nightly

nightly-captures: $(STAMP) ## The same night offline: every spider over data/captures/ through a loopback HTTP server
	$(BIN)/python -m nightly --captures

scrape-distributed: $(STAMP) redis ## Every spider live, N worker processes sharing a local Redis: make scrape-distributed workers=2
	$(BIN)/python -m nightly.workers --workers $(workers) $(SPIDERS)

documents: $(STAMP) ## Capture or check the cited pages that are due (WARC, sha256, Wayback copy, live status)
	$(BIN)/scrapy crawl documents

promote: $(STAMP) ## Make a discovery lead a curated row (its documents as sources, verification partly): make promote lead=lead-... [set="kind=ban status=enacted"]
	$(BIN)/python -m pipelines.discover.review promote $(lead) --db $(DB) --set '$(set)'

reject: $(STAMP) ## Reject a discovery lead, saying why: make reject lead=lead-... reason="a study, not an event"
	$(BIN)/python -m pipelines.discover.review reject $(lead) --db $(DB) --reason "$(reason)"

wrk: ## Install Debian's wrk for the benchmark's requests/s at 16 connections, if missing (needs root and apt-get)
	@if command -v wrk >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update && apt-get install -y wrk) \
		|| echo "wrk could not be installed: the benchmark reports no requests/s"; \
	else echo "wrk is missing and needs root and apt-get to install: the benchmark reports no requests/s"; fi

redis: ## Install Debian's redis-server for distributed runs and their tests, if missing (needs root and apt-get)
	@if command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update && apt-get install -y redis-server) \
		|| echo "redis-server could not be installed: the distributed tests skip (they fail where CI=true)"; \
	else echo "redis-server is missing and needs root and apt-get to install: the distributed tests skip (they fail where CI=true)"; fi

bench: $(STAMP) wrk ## Benchmark the pipeline and the site on generated data: make bench SCALE=1000000 (bench/results.json)
	$(BIN)/python -m bench.run --scale $(SCALE)

loadtest: $(STAMP) wrk ## The repository's data served to 64 readers for 60 s while it is rebuilt and swapped twice; again with no page from the cache (bench/work/load*.json)
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.load --uncached

notebooks: $(TEST_STAMP) ## Run the analyses in notebooks/ on $(DB) and render them to HTML in static/analyses/ (served at /assets/analyses/)
	FRT_DB=$(DB) $(BIN)/jupyter nbconvert --to html --execute --template-file notebooks/offline.html.j2 --output-dir static/analyses notebooks/*.ipynb

serve: $(STAMP) ## Serve data/evidence.db with Datasette on http://127.0.0.1:$(PORT)
	$(BIN)/datasette serve -i $(DB) -m metadata.yml --plugins-dir plugins --template-dir templates --static assets:static --static releases:releases --setting suggest_facets off --setting facet_time_limit_ms 1000 --host 127.0.0.1 --port $(PORT)

clean: ## Remove the virtual environment and build output (build/, data/evidence.db)
	rm -rf $(VENV) build $(DB)
