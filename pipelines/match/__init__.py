"""One event, one row: which records describe the same event, and how their rows are merged."""
