"""One spider per source; each only turns the source's responses into items."""
