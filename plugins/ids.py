"""Row URLs that never break: a retired id redirects to its row; a withdrawn row says why it is gone.

When Datasette is about to answer 404 for a row URL, /<database>/<table>/<id>[.json|.csv], this
plugin looks the id up first:

- in `id_aliases`: HTTP 301 to the row the id now stands for, /<database>/<survivor_table>/<id>,
  which may be in another table; the format suffix and the query string are kept;
- in `tombstones`: HTTP 410 with the withdrawn row's id, its table, the reason and the date (an HTML
  page, or JSON for .json).

Any other id stays a 404. pipelines/build.py makes both tables (README, "Identifiers").
"""

import re

from datasette import Response, hookimpl
from datasette.utils import path_with_format, tilde_decode, tilde_encode
from datasette.utils.asgi import NotFound

ROW_URL = re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/]+)/(?P<id>[^/]+?)(?:\.(?P<format>json|csv))?$")
WITHDRAWN_PAGE = """{% extends "base.html" %}
{% block title %}Withdrawn: {{ id }}{% endblock %}
{% block content %}
<h1>Withdrawn from the evidence</h1>
<p>The row <code>{{ id }}</code> of <a href="{{ table_url }}">{{ withdrawn_from }}</a> was withdrawn
on {{ date }}.</p>
<p><strong>Reason:</strong> {{ reason }}</p>
<p>Its URL stays, so that links to it say why it is gone.
See all <a href="{{ tombstones_url }}">withdrawn rows</a>.</p>
{% endblock %}
"""


def _database(datasette, route: str):
    try:
        return datasette.get_database(route=tilde_decode(route))
    except KeyError:
        return None


async def _first(db, sql: str, params: list):
    rows = (await db.execute(sql, params)).rows
    return dict(rows[0]) if rows else None


async def resolve(datasette, request):
    """The response for a row URL that found no row: a redirect, a tombstone, or None."""
    match = ROW_URL.match(request.path.removeprefix(datasette.setting("base_url").rstrip("/")))
    db = _database(datasette, match["database"]) if match else None
    if db is None:
        return None
    row_id = tilde_decode(match["id"])
    tables = set(await db.table_names())
    if "id_aliases" in tables:
        alias = await _first(db, "select id, survivor_table from id_aliases where alias = ?", [row_id])
        if alias:
            path = datasette.urls.row(db.name, alias["survivor_table"], tilde_encode(alias["id"]))
            if match["format"]:
                path = path_with_format(path=path, format=match["format"])
            query = request.query_string
            return Response.redirect(f"{path}?{query}" if query else str(path), status=301)
    if "tombstones" in tables:
        tombstone = await _first(db, "select id, withdrawn_from, reason, date from tombstones where id = ?",
                                 [row_id])
        if tombstone:
            if match["format"] == "json":
                return Response.json({"ok": False, "status": 410, "withdrawn": True, **tombstone},
                                     status=410)
            page = datasette.jinja_env.from_string(WITHDRAWN_PAGE)
            html = await datasette.render_template(page, dict(
                tombstone, table_url=datasette.urls.table(db.name, tombstone["withdrawn_from"]),
                tombstones_url=datasette.urls.table(db.name, "tombstones")), request=request)
            return Response.html(html, status=410)
    return None


@hookimpl
def handle_exception(datasette, request, exception):
    if not isinstance(exception, NotFound):
        return None

    async def inner():
        return await resolve(datasette, request)

    return inner
