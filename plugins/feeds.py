"""Atom feeds of new evidence: a table page links the feed of the rows its filters select, where the
new_evidence canned query of metadata.yml can express those filters, and a feed whose filters match
nothing is a valid feed without entries instead of an error.

The feeds themselves are datasette-atom's rendering of new_evidence (`.atom` after its address).
"""

from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

from pipelines.vocab import EVENT_KINDS, EVENT_TABLES

DATABASE = "evidence"
FEED = "new_evidence"
# Table filters that the feed can express, by feed parameter.
FEED_FILTERS = {"country": "country", "country__exact": "country", "region": "region",
                "region__exact": "region", "source": "source", "source__exact": "source",
                "kind": "kind", "kind__exact": "kind"}
# Arguments that change how a table page looks, not which rows it holds.
PRESENTATION_ARGS = {"_sort", "_sort_desc", "_size", "_facet", "_facet_array", "_facet_date",
                     "_col", "_nocol", "_columns", "_labels", "_nofacet", "_nosuggest", "_next"}


def feed_for_table(datasette, table: str, query_string: str) -> str | None:
    """The address of the feed holding the same rows as this table page, when its filters allow."""
    if table not in (*EVENT_TABLES, "evidence"):
        return None
    params = {"kind": EVENT_KINDS[table]} if table in EVENT_KINDS else {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key in PRESENTATION_ARGS or key.startswith("_facet"):
            continue
        name = FEED_FILTERS.get(key)
        if name is None or (name == "kind" and table != "evidence") or name in params:
            return None
        params[name] = value
    path = datasette.urls.query(DATABASE, FEED, format="atom")
    return f"{path}?{urlencode(params)}" if params else path


async def empty_feed(datasette, request) -> Response:
    """A valid Atom feed without entries (templates/empty_feed.xml). datasette-atom 0.9 fails (max()
    of no rows) when a feed's filter matches nothing yet; a subscriber should get an empty feed,
    not an error."""
    name = request.path.rsplit("/", 1)[-1].removesuffix(".atom")
    query = await datasette.get_canned_query(DATABASE, name, None)
    body = await datasette.render_template("empty_feed.xml", {
        "feed_url": datasette.absolute_url(request, request.full_path),
        "title": (query or {}).get("title") or name}, request=request)
    return Response(body, content_type="application/xml; charset=utf-8")


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template != "table.html" or database != DATABASE or request is None:
        return {}
    return {"feed_url": feed_for_table(datasette, table, request.query_string)}


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    if request.path.endswith(".atom") and "empty sequence" in str(exception):
        return lambda: empty_feed(datasette, request)
    return None
