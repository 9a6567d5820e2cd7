"""Benchmarks of the pipeline and the site at scale (`make bench`): see bench/run.py."""
