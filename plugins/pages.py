"""FRT Evidence's own Datasette pages: the home page, the claims page, the event row pages with
their documents, organisations and Cite block, the chart over time, links between rows in query
results, Atom feed links for filtered tables, and what search engines may index.

Datasette loads this file with `--plugins-dir plugins`; the templates it fills are in templates/,
the stylesheet in static/ (served at /assets/ with `--static assets:static`). Lists, feeds and
charts come from the canned queries of metadata.yml, fetched through Datasette's own client, so a
page shows exactly what its query shows.
"""

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from datasette import hookimpl
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from pipelines.places import country_name
from pipelines.vocab import EVENT_KINDS, EVENT_TABLES, ID_PREFIXES
from publish.chart import stacked_years
from publish.cite import Reference, bibtex, content_hash, csl_json, plain_text

DATABASE = "evidence"
STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "site.css"
KIND_LABELS = {"deployment": "Deployment", "wrongful_arrest": "Wrongful arrest",
               "legal_action": "Legal action"}
TABLE_OF_PREFIX = {prefix: table for table, prefix in ID_PREFIXES.items()}
ID_LINK = re.compile(r"^(" + "|".join(TABLE_OF_PREFIX) + r")-[a-z0-9-]+$")
ID_LIST_COLUMNS = {"evidence_ids", "ids"}
VERDICTS = {"yes": "Supported", "partly": "Partly supported", "no": "Unsupported"}
# A claim lists this many of its rows; the rest are one query away (a claim can be backed by
# hundreds of thousands of rows, and the page must stay light).
CLAIM_ROWS_LISTED = 100
# Table filters that the new_evidence feed can express, by feed parameter.
FEED_FILTERS = {"country": "country", "country__exact": "country", "region": "region",
                "region__exact": "region", "source": "source", "source__exact": "source",
                "kind": "kind", "kind__exact": "kind"}
# Arguments that change how a table page looks, not which rows it holds.
PRESENTATION_ARGS = {"_sort", "_sort_desc", "_size", "_facet", "_facet_array", "_facet_date",
                     "_col", "_nocol", "_labels", "_nofacet", "_nosuggest", "_next"}


@dataclass(frozen=True)
class Letter:
    slug: str
    title: str
    made: str


LETTERS = {
    "000_8dfaa72fd5edc1fc.txt": Letter(
        "tirana-2019", "Declaration: A Moratorium on Facial Recognition Technology for Mass "
        "Surveillance", "Civil society declaration, Tirana, October 2019"),
    "004_9c036eea26bdae9f.txt": Letter(
        "reclaim-your-face-2022", "Reclaim Your Face: open letter of 53 organisations to "
        "Members of the European Parliament", "Brussels, 10 May 2022"),
}


def letter(name: str) -> Letter:
    return LETTERS.get(name) or Letter(re.sub(r"[^a-z0-9]+", "-", name.lower()), name, "")


def humanise(value) -> str:
    return str(value).replace("_", " ")


def place_line(row: dict) -> str:
    """Place, county, region and country, as far as known: "Detroit, Michigan, United States"."""
    parts = [row.get("place"), row.get("county"), row.get("region")]
    if row.get("country"):
        try:
            parts.append(country_name(row["country"]))
        except (AttributeError, KeyError):
            parts.append(row["country"])
    seen = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return ", ".join(seen)


def short_url(url: str, length: int = 80) -> str:
    """A URL as a reader scans it: host without www, then the path, cut to length."""
    parts = urlsplit(url)
    text = parts.netloc.lower().removeprefix("www.") + parts.path.rstrip("/")
    return text if len(text) <= length else text[:length - 1] + "…"


def row_path(datasette, row_id: str) -> str | None:
    """The page of an event, document or organisation, from the prefix of its id."""
    match = ID_LINK.match(row_id or "")
    if not match:
        return None
    return datasette.urls.row(DATABASE, TABLE_OF_PREFIX[match.group(1)], row_id)


async def release(datasette) -> str | None:
    """The build time of the database served (table build, key built_at)."""
    db = datasette.get_database(DATABASE)
    if "build" not in await db.table_names():
        return None
    rows = await db.execute("select value from build where key = 'built_at'")
    return rows.first()[0] if rows.first() else None


async def canned_rows(datasette, query: str, **params) -> list[dict]:
    """Rows of a canned query of metadata.yml, through Datasette's own client."""
    path = datasette.urls.path(f"/{DATABASE}/{query}.json")
    response = await datasette.client.get(f"{path}?{urlencode({**params, '_shape': 'objects'})}")
    body = response.json()
    if response.status_code != 200 or not body.get("ok", True):
        raise RuntimeError(f"canned query {query} failed: {body.get('error')}")
    return body["rows"]


def stylesheet_url(datasette) -> str:
    version = hashlib.sha256(STYLESHEET.read_bytes()).hexdigest()[:10]
    return datasette.urls.path(f"/assets/site.css?v={version}")


# --------------------------------------------------------------------- home page


async def home_context(datasette) -> dict:
    db = datasette.get_database(DATABASE)
    counts = {}
    for table in EVENT_TABLES:
        row = (await db.execute(
            f"select count(*), count(distinct country) from [{table}]")).first()
        counts[table] = {"rows": row[0], "countries": row[1],
                         "title": datasette.metadata("title", database=DATABASE, table=table)}
    others = {table: (await db.execute(f"select count(*) from [{table}]")).first()[0]
              for table in ("documents", "organisations")}
    legal_kinds = [dict(r) for r in await db.execute(
        "select kind, count(*) as n from legal_actions group by kind order by n desc, kind limit 6")]
    claims = [dict(r) for r in await db.execute(
        "select letter, supported, count(*) as n from claims group by letter, supported")]
    letters = {}
    for row in claims:
        entry = letters.setdefault(row["letter"], {"letter": letter(row["letter"]), "total": 0,
                                                   "yes": 0, "partly": 0, "no": 0})
        entry[row["supported"]] = row["n"]
        entry["total"] += row["n"]
    sources = [dict(r) for r in await db.execute(
        "select id, name, homepage, licence, licence_url, rows, last_run from sources order by id")]
    newest = (await canned_rows(datasette, "new_evidence"))[:8]
    chart_rows = await canned_rows(datasette, "counts_by_kind_and_year")
    chart = stacked_years([(r["year"], r["kind"], r["rows"]) for r in chart_rows], list(KIND_LABELS))
    queries = await datasette.get_canned_queries(DATABASE, None)
    return {"counts": counts, "other_counts": others, "legal_kinds": legal_kinds,
            "letters": [letters[name] for name in sorted(letters)], "sources": sources,
            "newest": newest, "chart": chart, "canned_queries": queries}


# --------------------------------------------------------------------- claims page


async def claims_page(datasette, request):
    db = datasette.get_database(DATABASE)
    claims = [dict(r) for r in await db.execute("select * from claims order by letter, rowid")]
    for claim in claims:
        ids = json.loads(claim["evidence_ids"] or "[]")
        claim["listed"], claim["unlisted"] = ids[:CLAIM_ROWS_LISTED], max(0, len(ids) - CLAIM_ROWS_LISTED)
    wanted = sorted({i for claim in claims for i in claim["listed"]})
    found = {}
    if wanted:
        marks = ", ".join("?" for _ in wanted)
        for row in await db.execute(
                f"select id, kind, event_table, title, date, country, place from evidence "
                f"where id in ({marks})", wanted):
            found[row["id"]] = dict(row)
    letters = []
    for claim in claims:
        if not letters or letters[-1]["name"] != claim["letter"]:
            letters.append({"name": claim["letter"], "letter": letter(claim["letter"]), "claims": []})
        claim["evidence"] = [found.get(i) or {"id": i, "title": i} for i in claim["listed"]]
        claim["verdict"] = VERDICTS.get(claim["supported"], claim["supported"])
        letters[-1]["claims"].append(claim)
    html = await datasette.render_template(
        "claims.html", {"letters": letters, "release": await release(datasette),
                        "totals": {v: sum(c["supported"] == v for c in claims) for v in VERDICTS}},
        request=request, view_name="claims")
    return Response.html(html)


# --------------------------------------------------------------------- event row pages


FACTS = {
    "deployments": [("operator", "Operator"), ("vendor", "Vendor"), ("system", "System"),
                    ("sector", "Sector"), ("mode", "Mode"), ("status", "Status"),
                    ("end_date", "Ended")],
    "wrongful_arrests": [("person", "Person"), ("agency", "Agency"), ("vendor", "Vendor"),
                         ("system", "System"), ("charges", "Charges"),
                         ("days_detained", "Days in custody"), ("outcome", "Outcome"),
                         ("lawsuit", "Lawsuit"), ("settlement", "Settlement")],
    "legal_actions": [("kind", "Kind"), ("status", "Status"),
                      ("jurisdiction", "Jurisdiction"), ("jurisdiction_level", "Level"),
                      ("scope", "Scope"), ("target", "Against"), ("amount", "Amount")],
}
HUMANISED = {"sector", "mode", "status", "kind", "jurisdiction_level"}


def facts(table: str, row: dict, organisations: list[dict]) -> list[dict]:
    """The row's facts worth a reader's eye, labelled; operator, agency, vendor and target link
    to the organisations that event_organisations names in that role."""
    out = []
    for column, label in FACTS[table]:
        value = row.get(column)
        if value in (None, "", "unknown"):
            continue
        links = [o for o in organisations if o["role"] == column]
        if column == "amount":
            value = f"{value:,.0f} {row.get('currency') or ''}".strip()
        elif column == "end_date":
            value = f"{value} ({row.get('end_date_precision') or 'precision unknown'})"
        elif column in HUMANISED:
            value = humanise(value)
        out.append({"label": label, "value": value, "links": links})
    return out


EVENT_QUERIES = {
    "organisations": "select eo.role, o.id, o.name, o.kind from event_organisations eo "
                     "join organisations o on o.id = eo.organisation_id where eo.event_id = :id "
                     "order by eo.role, o.name",
    "documents": "select c.role, c.quote, d.id, d.url, d.title, d.publisher, d.published, d.archive_url "
                 "from citations c join documents d on d.id = c.document_id where c.event_id = :id "
                 "order by d.published desc, d.publisher, d.id",
    "source": "select * from sources where id = :source",
    "claims": "select c.id, c.letter, c.quote, c.supported from claim_evidence e join claims c on "
              "c.id = e.claim_id where e.evidence_id = :id order by c.letter, c.id",
    "aliases": "select alias from id_aliases where id = :id order by alias",
}


def _event_rows(table: str, row_id: str):
    """A function reading an event's row and what its page shows with it, in one trip to a query
    thread (a trip each took a tenth of a row page's time)."""
    def read(conn: sqlite3.Connection) -> dict | None:
        cursor = conn.execute(f"select * from [{table}] where id = ?", [row_id])
        found = cursor.fetchone()
        if found is None:
            return None
        row = dict(zip([d[0] for d in cursor.description], found, strict=True))
        params = {"id": row_id, "source": row["source"]}
        answer = {"row": row}
        for name, sql in EVENT_QUERIES.items():
            cursor = conn.execute(sql, params)
            columns = [d[0] for d in cursor.description]
            answer[name] = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
        return answer
    return read


async def event_context(datasette, request, table: str) -> dict:
    db = datasette.get_database(DATABASE)
    row_id = tilde_decode(request.url_vars["pks"])
    read = await db.execute_fn(_event_rows(table, row_id))
    if read is None:
        return {}
    row, organisations, documents = read["row"], read["organisations"], read["documents"]
    for document in documents:
        document["label"] = document["title"] or short_url(document["url"])
    source = read["source"][0] if read["source"] else None
    claims = read["claims"]
    aliases = [r["alias"] for r in read["aliases"]]
    built = await release(datasette) or "unreleased"
    url = datasette.absolute_url(request, datasette.urls.row(DATABASE, table, row["id"]))
    ref = Reference(table=table, row_id=row_id, title=row["title"] or row_id, url=url,
                    release=built, sha256=content_hash(row))
    for claim in claims:
        claim["letter_title"] = letter(claim["letter"]).title
        claim["verdict"] = VERDICTS.get(claim["supported"], claim["supported"])
    return {"event": {
        "row": row, "kind": KIND_LABELS[EVENT_KINDS[table]], "kind_code": EVENT_KINDS[table],
        "place": place_line(row), "facts": facts(table, row, organisations),
        "documents": documents, "source": source, "claims": claims,
        "aliases": aliases, "reference": ref,
        "json_url": datasette.urls.row(DATABASE, table, row["id"], format="json") + "?_shape=array",
        "cite": {"text": plain_text(ref), "bibtex": bibtex(ref), "csl_json": csl_json(ref)},
    }}


LINKED_EVENTS = {
    "organisations": "select eo.role, e.id, e.kind, e.event_table, e.title, e.date, e.country, "
                     "e.place from event_organisations eo join evidence e on e.id = eo.event_id "
                     "where eo.organisation_id = ? order by eo.role, e.date desc, e.id",
    "documents": "select c.role, e.id, e.kind, e.event_table, e.title, e.date, e.country, e.place "
                 "from citations c join evidence e on e.id = c.event_id "
                 "where c.document_id = ? order by e.date desc, e.id",
}


async def linked_events(datasette, request, table: str) -> dict:
    """The events an organisation or a document is linked to, by role."""
    db = datasette.get_database(DATABASE)
    rows = await db.execute(LINKED_EVENTS[table], [tilde_decode(request.url_vars["pks"])])
    by_role: dict[str, list[dict]] = {}
    for row in rows:
        by_role.setdefault(row["role"] or "linked", []).append(dict(row))
    return {"linked_events": by_role}


# --------------------------------------------------------------------- feeds


def feed_for_table(datasette, table: str, query_string: str) -> str | None:
    """The new_evidence feed holding the same rows as this table page, when its filters allow."""
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
    path = datasette.urls.path(f"/{DATABASE}/new_evidence.atom")
    return f"{path}?{urlencode(params)}" if params else path


async def empty_feed(datasette, request) -> Response:
    """A valid Atom feed without entries. datasette-atom 0.9 fails (max() of no rows) when a
    feed's filter matches nothing yet; a subscriber should get an empty feed, not an error."""
    name = request.path.rsplit("/", 1)[-1].removesuffix(".atom")
    query = await datasette.get_canned_query(DATABASE, name, None)
    url = datasette.absolute_url(request, request.full_path)
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{escape(url)}</id><title>{escape((query or {}).get('title') or name)}</title>"
            f'<updated>{escape(await release(datasette) or "1970-01-01T00:00:00Z")}</updated>'
            f'<link href="{escape(url)}" rel="self"/></feed>\n')
    return Response(body, content_type="application/xml; charset=utf-8")


# --------------------------------------------------------------------- robots


async def indexable(datasette, path: str, query_string: bytes) -> bool:
    """Home, claims, table and row pages may be indexed; queries, facets, filters and data are not."""
    if query_string:
        return False
    if path in ("/", "/claims", "/robots.txt", "/sitemap.xml"):
        return True
    parts = path.strip("/").split("/")
    if parts[0] != DATABASE or "." in parts[-1] or len(parts) > 3:
        return False
    if len(parts) == 1:
        return True
    db = datasette.get_database(DATABASE)
    hidden = set(await db.hidden_table_names())
    return tilde_decode(parts[1]) in set(await db.table_names()) - hidden


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
    urls = "".join(f"<url><loc>{escape(datasette.absolute_url(request, p))}</loc></url>"
                   for p in paths)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n')
    return Response(body, content_type="application/xml; charset=utf-8")


# --------------------------------------------------------------------- hooks


def web_url(value):
    """The value if it is an http(s) URL, else None: only web links become href attributes."""
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["web_url"] = web_url


@hookimpl
def register_routes():
    return [(r"^/claims$", claims_page), (r"^/robots\.txt$", robots_txt),
            (r"^/sitemap\.xml$", sitemap_xml)]


@hookimpl
def extra_css_urls(datasette):
    return [stylesheet_url(datasette)]


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    async def variables():
        out = {"release": await release(datasette), "kind_labels": KIND_LABELS}
        if template == "index.html":
            out.update(await home_context(datasette))
        elif template == "row.html" and database == DATABASE and table in EVENT_TABLES:
            out.update(await event_context(datasette, request, table))
        elif template == "row.html" and database == DATABASE and table in LINKED_EVENTS:
            out.update(await linked_events(datasette, request, table))
        elif template == "table.html" and database == DATABASE and request is not None:
            out["feed_url"] = feed_for_table(datasette, table, request.query_string)
        return out
    return variables


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """Event, document and organisation ids in query results, the evidence view and link tables
    become links to their rows; JSON lists of ids (claims.evidence_ids) become lists of links."""
    if database != DATABASE or not isinstance(value, str):
        return None
    if column in ID_LIST_COLUMNS and value.startswith("["):
        try:
            ids = json.loads(value)
        except ValueError:
            return None
        links = [Markup('<a href="{}">{}</a>').format(row_path(datasette, i), i)
                 for i in ids if isinstance(i, str) and row_path(datasette, i)]
        return Markup(", ").join(links) if len(links) == len(ids) else None
    if column in ("event_id", "evidence_id") or (column == "id" and table in (None, "evidence")):
        path = row_path(datasette, value)
        return Markup('<a href="{}">{}</a>').format(path, value) if path else None
    return None


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    if request.path.endswith(".atom") and "empty sequence" in str(exception):
        return lambda: empty_feed(datasette, request)
    return None


@hookimpl
def asgi_wrapper(datasette):
    """Add `X-Robots-Tag: noindex` to every response search engines should not index."""
    def wrap(app):
        async def with_robots_header(scope, receive, send):
            if scope["type"] != "http" or await indexable(
                    datasette, scope["path"], scope.get("query_string", b"")):
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
