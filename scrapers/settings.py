"""Scrapy settings: polite, identifiable live crawling; the evidence pipeline on every item.

Environment variables adjust a run without editing code: FRT_ITEMS_DIR (where snapshots go),
FRT_RUNS_DIR (the run log), FRT_ARCHIVE_DIR (WARC files), FRT_CONTACT_URL (the contact named in
the User-Agent), FRT_HTTPCACHE (1: replay cached responses while developing a spider; 0: no
cache), FRT_HTTPCACHE_DIR, FRT_REDIS_URL (be a worker of a distributed run), FRT_RUN_DATE (the
date stamped on records; tests fix it).
"""

import os

BOT_NAME = "frt_evidence"
SPIDER_MODULES = ["scrapers.spiders"]
NEWSPIDER_MODULE = "scrapers.spiders"

CONTACT_URL = os.environ.get("FRT_CONTACT_URL", "https://github.com/frt-evidence/frt-evidence")
USER_AGENT = f"FRT-Evidence/0.1 (facial recognition evidence base; +{CONTACT_URL})"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# Retries (scrapers/retry.py): only what asking again can mend, after a wait; see README "Faults".
RETRY_TIMES = 3
RETRY_HTTP_CODES = [408, 429, 502, 503, 504]  # not 404 or 500: asking again will not change them
FRT_RETRY_BACKOFF_BASE = 5.0  # seconds before the first retry when the source names no wait, doubled at each
FRT_RETRY_BACKOFF_MAX = 60.0
FRT_RETRY_AFTER_MAX = 600.0  # a Retry-After asking for longer is not waited for: the run fails saying so
DOWNLOAD_TIMEOUT = 120
# The largest answer a source may send: the Atlas CSV is about 3 MB, the AIID's incidents.csv under
# 1 MB and its GraphQL pages a few kB. A larger one is not downloaded and the run fails saying so.
DOWNLOAD_MAXSIZE = 32 * 2**20
DOWNLOAD_WARNSIZE = 8 * 2**20
CLOSESPIDER_ERRORCOUNT = 5
TELNETCONSOLE_ENABLED = False
# Every response that carries a validator is kept in a persistent cache and asked for again with a
# conditional request (scrapers/httpcache.py), so an unchanged source costs a "304 Not Modified".
# FRT_HTTPCACHE=1 replays the cache without asking (for developing a spider); 0 turns it off.
HTTPCACHE_ENABLED = os.environ.get("FRT_HTTPCACHE") != "0"
HTTPCACHE_POLICY = ("scrapy.extensions.httpcache.DummyPolicy" if os.environ.get("FRT_HTTPCACHE") == "1"
                    else "scrapers.httpcache.RevalidatingPolicy")
HTTPCACHE_DIR = os.environ.get("FRT_HTTPCACHE_DIR") or (
    "httpcache-dev" if os.environ.get("FRT_HTTPCACHE") == "1" else "httpcache")
LOG_LEVEL = os.environ.get("FRT_LOG_LEVEL", "INFO")

ITEM_PIPELINES = {"scrapers.pipelines.EvidencePipeline": 300}
DOWNLOADER_MIDDLEWARES = {"scrapers.wire.WireRecorder": 950, "scrapers.retry.BackoffRetry": 550,
                          "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
                          "scrapers.httpcache.NoStaleOnFailure": 900,
                          "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None}
SPIDER_MIDDLEWARES = {"scrapers.order.SourceOrder": 950}
ADDONS = {"scrapers.distributed.Distributed": 0}
FRT_ITEMS_DIR = os.environ.get("FRT_ITEMS_DIR", "data/items")
FRT_RUN_DATE = os.environ.get("FRT_RUN_DATE")
FRT_RUNS_DIR = os.environ.get("FRT_RUNS_DIR")  # unset: runs/ beside FRT_ITEMS_DIR
FRT_CURATED_DIR = os.environ.get("FRT_CURATED_DIR", "data/curated")  # read by the documents spider
FRT_DOCUMENTS_FILE = os.environ.get("FRT_DOCUMENTS_FILE")  # unset: documents.jsonl beside FRT_ITEMS_DIR
FRT_ARCHIVE_DIR = os.environ.get("FRT_ARCHIVE_DIR", "archive")  # WARC files of what was fetched
FRT_REDIS_URL = os.environ.get("FRT_REDIS_URL")  # set: this crawl is a worker of a distributed run

# The monitors that judge a run (scrapers/monitors.py): a run that fails one keeps the snapshot.
FRT_SNAPSHOT_MIN_SHARE = 0.5  # a full run keeps at least this share of the last good run's items
FRT_MAX_DROPPED_SHARE = 0.1  # at most this share of items may be refused by validation,
FRT_MIN_ITEMS_FOR_SHARES = 20  # judged once a run has seen this many items
SPIDERMON_ADD_FIELD_COVERAGE = True  # coverage is computed over the run's records (scrapers/runs.py)
SPIDERMON_FIELD_COVERAGE_SKIP_IF_NO_ITEM = True  # each spider sets SPIDERMON_FIELD_COVERAGE_RULES
