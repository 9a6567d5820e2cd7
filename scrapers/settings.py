"""Scrapy settings: polite, identifiable live crawling; the evidence pipeline on every item.

Environment variables adjust a run without editing code: FRT_ITEMS_DIR (where snapshots go),
FRT_CONTACT_URL (the contact named in the User-Agent), FRT_HTTPCACHE=1 (cache responses while
developing a spider), FRT_RUN_DATE (the date stamped on records; tests fix it).
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
RETRY_TIMES = 3
DOWNLOAD_TIMEOUT = 120
CLOSESPIDER_ERRORCOUNT = 5
TELNETCONSOLE_ENABLED = False
HTTPCACHE_ENABLED = os.environ.get("FRT_HTTPCACHE") == "1"
HTTPCACHE_DIR = "httpcache"
LOG_LEVEL = os.environ.get("FRT_LOG_LEVEL", "INFO")

ITEM_PIPELINES = {"scrapers.pipelines.EvidencePipeline": 300}
FRT_ITEMS_DIR = os.environ.get("FRT_ITEMS_DIR", "data/items")
FRT_RUN_DATE = os.environ.get("FRT_RUN_DATE")
FRT_SNAPSHOT_MIN_SHARE = 0.5
