"""Ids in table cells become links to their rows: event, document and organisation ids in query
results, the evidence view and the link tables, and JSON lists of ids (claims.evidence_ids), each
linked to the row its id prefix names (pipelines/vocab.py, ID_PREFIXES).
"""

import json
import re

from datasette import hookimpl
from markupsafe import Markup

from pipelines.vocab import ID_PREFIXES

DATABASE = "evidence"
TABLE_OF_PREFIX = {prefix: table for table, prefix in ID_PREFIXES.items()}
ID = re.compile(r"^(" + "|".join(TABLE_OF_PREFIX) + r")-[a-z0-9-]+$")
ID_LIST_COLUMNS = {"evidence_ids", "ids"}
ID_COLUMNS = {"event_id", "evidence_id"}


def row_path(datasette, row_id: str) -> str | None:
    """The page of an event, document or organisation, from the prefix of its id."""
    match = ID.match(row_id or "")
    return datasette.urls.row(DATABASE, TABLE_OF_PREFIX[match.group(1)], row_id) if match else None


def linked(datasette, row_id) -> Markup | None:
    path = row_path(datasette, row_id) if isinstance(row_id, str) else None
    return Markup('<a href="{}">{}</a>').format(path, row_id) if path else None


@hookimpl
def render_cell(value, column, table, database, datasette):
    if database != DATABASE or not isinstance(value, str):
        return None
    if column in ID_LIST_COLUMNS and value.startswith("["):
        try:
            links = [linked(datasette, row_id) for row_id in json.loads(value)]
        except (ValueError, TypeError):
            return None
        return Markup(", ").join(links) if all(links) else None
    if column in ID_COLUMNS or (column == "id" and table in (None, "evidence")):
        return linked(datasette, value)
    return None
