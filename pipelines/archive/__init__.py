"""What was fetched, kept: WARC and WACZ files, and the captures of the pages the evidence cites."""
