"""The build's input: every record of the snapshots and the curated files, in id order, as a stream."""
