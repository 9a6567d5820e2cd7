"""Plain-Python pipelines of FRT Evidence, one folder per stage.

A crawl cleans each record (clean/) and commits its source's snapshot and run log (snapshot/); the
build (build.py) reads every record (read/), matches the records of one event (match/), writes the
tables (write/), honours people's decisions (ledgers/), and the cited pages are archived
(archive/). Nothing here imports Scrapy: the same functions serve the spiders, the curated files
and the database build.
"""
