"""A crawl's text: the sorted JSON-lines snapshot of each source, and the run log of every run."""
