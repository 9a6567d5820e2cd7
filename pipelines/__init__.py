"""Plain-Python pipelines of FRT Evidence: validate, normalise, identify, store and build.

Nothing here imports Scrapy: the same functions serve the spiders, the curated files and the
database build.
"""
