"""Country pages, /country/<ISO code> (/country/IT): what the evidence base holds about one country,
its deployments, wrongful arrests and legal actions, newest first, with a timeline of its rows per
year and the letters' claims that its rows back; and the list of countries that the canned query
evidence_by_country opens with when no country is chosen.

Counts come from the evidence_counts table (rows per year, kind and country), so that the list of
countries and a country's timeline cost the same at any size; each kind lists its newest
ROWS_LISTED rows and links the table page that holds them all. A code in lower case is redirected
to its upper-case page; a code no row names answers 404. The `country_name` and `country_of_name`
template filters turn a code into a name and back: a table's facet of countries, by code or by name,
links each country's page.
"""

import re

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

from pipelines.vocab import EVENT_KINDS, EVENT_TABLES
from publish.chart import stacked_years
from publish.countries import country_label, country_of_name

DATABASE = "evidence"
ROWS_LISTED = 50
CHART_SIZE = (720, 220)
CODE = re.compile(r"^[A-Za-z]{2}$")
CLAIMS = ("select c.id, c.letter, c.quote, c.supported, count(*) as rows from claim_evidence ce "
          "join claims c on c.id = ce.claim_id "
          "where ce.evidence_id in (select id from evidence where country = :country) "
          "group by c.id, c.letter, c.quote, c.supported order by c.letter, c.id")


async def countries(db) -> list[dict]:
    """Every country that rows name, with its rows per kind, most rows first."""
    by_code: dict[str, dict] = {}
    for code, kind, rows in await db.execute(
            "select country, kind, sum(rows) from evidence_counts where country is not null "
            "group by country, kind"):
        entry = by_code.setdefault(code, {"code": code, "name": country_label(code), "total": 0,
                                          **{k: 0 for k in EVENT_KINDS.values()}})
        entry[kind] = rows
        entry["total"] += rows
    return sorted(by_code.values(), key=lambda c: (-c["total"], c["name"]))


async def country_context(datasette, code: str) -> dict:
    db = datasette.get_database(DATABASE)
    counts = [tuple(r) for r in await db.execute(
        "select year, kind, sum(rows) from evidence_counts where country = ? group by year, kind", [code])]
    if not counts:
        raise NotFound(f"No row of the evidence names the country {code}.")
    kinds, tables = [], set(await db.table_names())
    for table in (t for t in EVENT_TABLES if t in tables):
        rows = [dict(r) for r in await db.execute(
            f"select id, '{EVENT_KINDS[table]}' as kind, '{table}' as event_table, title, date, "
            f"country, coalesce(nullif(place, ''), region) as place from [{table}] "
            f"where country = ? order by date desc, id limit {ROWS_LISTED}", [code])]
        total = sum(n for _, kind, n in counts if kind == EVENT_KINDS[table])
        kinds.append({"table": table, "kind": EVENT_KINDS[table], "rows": rows, "total": total,
                      "title": datasette.metadata("title", database=DATABASE, table=table) or table})
    claims = [dict(r) for r in await db.execute(CLAIMS, {"country": code})]
    return {"code": code, "name": country_label(code), "kinds": kinds, "claims": claims,
            "total": sum(k["total"] for k in kinds),
            "chart": stacked_years(counts, list(EVENT_KINDS.values()), *CHART_SIZE)}


async def country_page(datasette, request):
    code = request.url_vars["code"]
    if not CODE.match(code):
        raise NotFound("A country page's address ends with a two-letter ISO 3166-1 code.")
    if code != code.upper():
        return Response.redirect(datasette.urls.path(f"/country/{code.upper()}"), status=301)
    context = await country_context(datasette, code)
    html = await datasette.render_template("country.html", context, request=request,
                                           view_name="country")
    return Response.html(html)


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["country_name"] = country_label
    env.filters["country_of_name"] = country_of_name


@hookimpl
def register_routes():
    return [(r"^/country/(?P<code>[^/]+)$", country_page)]


@hookimpl
def extra_template_vars(template, database, datasette):
    if template != "query-evidence-evidence_by_country.html" or database != DATABASE:
        return {}

    async def variables():
        return {"countries": await countries(datasette.get_database(DATABASE))}
    return variables
