"""People's decisions kept as text: aliases, tombstones, redactions and the registry of published ids."""
