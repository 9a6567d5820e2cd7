"""What search engines may index: /robots.txt, /sitemap.xml (the home page, the claims page, the
event tables, every event row and every country page), and an `X-Robots-Tag: noindex` header on
every other response.

Home, claims, country, table and row pages may be indexed; queries, searches, facets, filters, data
formats, feeds and Datasette's own /-/ pages are not.
"""

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from markupsafe import escape

from pipelines.vocab import EVENT_TABLES

DATABASE = "evidence"


async def indexable(path: str, query_string: bytes, listed_tables) -> bool:
    if query_string:
        return False
    if path in ("/", "/claims", "/robots.txt", "/sitemap.xml") or path.startswith("/country/"):
        return True
    parts = path.strip("/").split("/")
    if parts[0] != DATABASE or "." in parts[-1] or len(parts) > 3:
        return False
    return len(parts) == 1 or tilde_decode(parts[1]) in await listed_tables()


async def robots_txt(datasette, request):
    queries = await datasette.get_canned_queries(DATABASE, None)
    lines = ["User-agent: *", "Disallow: /*?", "Disallow: /*.json", "Disallow: /*.csv",
             "Disallow: /*.atom", "Disallow: /-/",
             *(f"Disallow: {datasette.urls.query(DATABASE, name)}" for name in sorted(queries)),
             "Allow: /", "", f"Sitemap: {datasette.absolute_url(request, '/sitemap.xml')}", ""]
    return Response.text("\n".join(lines))


async def sitemap_xml(datasette, request):
    db = datasette.get_database(DATABASE)
    paths = ["/", "/claims", *(datasette.urls.table(DATABASE, t) for t in EVENT_TABLES)]
    for table in EVENT_TABLES:
        paths += [datasette.urls.row(DATABASE, table, r[0])
                  for r in await db.execute(f"select id from [{table}] order by id")]
    paths += [datasette.urls.path(f"/country/{r[0]}") for r in await db.execute(
        "select distinct country from evidence_counts where country is not null order by country")]
    urls = "".join(f"<url><loc>{escape(datasette.absolute_url(request, p))}</loc></url>"
                   for p in paths)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n')
    return Response(body, content_type="application/xml; charset=utf-8")


@hookimpl
def register_routes():
    return [(r"^/robots\.txt$", robots_txt), (r"^/sitemap\.xml$", sitemap_xml)]


@hookimpl
def asgi_wrapper(datasette):
    read = {}  # the tables, once read, of an immutable database

    async def listed_tables() -> set[str]:
        """The evidence database's tables that are not hidden."""
        if "tables" in read:
            return read["tables"]
        db = datasette.get_database(DATABASE)
        tables = set(await db.table_names()) - set(await db.hidden_table_names())
        if not db.is_mutable:
            read["tables"] = tables
        return tables

    def wrap(app):
        async def with_robots_header(scope, receive, send):
            if scope["type"] != "http" or await indexable(
                    scope["path"], scope.get("query_string", b""), listed_tables):
                await app(scope, receive, send)
                return

            async def send_noindex(message):
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", []), (b"x-robots-tag", b"noindex")]
                    message = {**message, "headers": headers}
                await send(message)
            await app(scope, receive, send_noindex)
        return with_robots_header
    return wrap
