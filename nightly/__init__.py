"""Nightly operations: run every spider, build, check, summarise; on one machine or many."""
