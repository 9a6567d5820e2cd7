# FRT Evidence: every task is one make target. `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DB := data/evidence.db
PORT ?= 8001
SCALE ?= 100000
CAPTURES := $(CURDIR)/data/captures
SPIDERS := atlas aiid
workers ?= 2

.DEFAULT_GOAL := help
.PHONY: help install demo test browser lint build scrape crawl scrape-captures serve clean nightly nightly-captures scrape-distributed documents redis wrk bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## Create .venv and install the pinned dependencies

demo: $(STAMP) scrape-captures build ## Build the database offline from the bundled captures and curated data, and serve it
	$(MAKE) serve

test: $(STAMP) browser redis ## Run the whole test suite
	$(BIN)/python -m pytest

browser: ## Install Debian's chromium for the browser tests, if missing (needs root and apt-get)
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update && apt-get install -y chromium fonts-liberation) \
		|| echo "chromium could not be installed: the browser tests skip (they fail where CI=true)"; \
	else echo "chromium is missing and needs root and apt-get to install: the browser tests skip (they fail where CI=true)"; fi

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check scrapers pipelines tests plugins publish nightly bench

build: $(STAMP) ## Rebuild data/evidence.db from item snapshots and curated files (atomic swap); register new ids
	$(BIN)/python -m pipelines.build --db $(DB) --register

scrape: $(STAMP) ## Run every spider live and update data/items/<spider>.jsonl
	@for s in $(SPIDERS); do $(BIN)/scrapy crawl $$s || exit 1; done

crawl: $(STAMP) ## Run one spider live: make crawl spider=atlas
	$(BIN)/scrapy crawl $(spider)

scrape-captures: $(STAMP) ## Run every spider offline over data/captures/
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

serve: $(STAMP) ## Serve data/evidence.db with Datasette on http://127.0.0.1:$(PORT)
	$(BIN)/datasette serve -i $(DB) -m metadata.yml --plugins-dir plugins --template-dir templates --static assets:static --setting suggest_facets off --host 127.0.0.1 --port $(PORT)

clean: ## Remove the virtual environment and build output
	rm -rf $(VENV) build $(DB) $(DB).state $(DB).spare $(DB).spare.state
