"""The database's tables: the schema, each event's rows, the run log and captures, the letters' claims."""
