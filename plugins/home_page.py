"""The home page (templates/index.html): how much the evidence base holds, legal actions by kind,
the newest rows, a chart of rows per year and kind, the sources and the canned queries.

The newest rows and the chart come from the canned queries new_evidence and
counts_by_kind_and_year of metadata.yml, fetched through Datasette's own client, so that the page
shows exactly what those queries show. The letters' claims are added by plugins/claims.py.
"""

from urllib.parse import urlencode

from datasette import hookimpl

from pipelines.vocab import EVENT_KINDS, EVENT_TABLES
from publish.chart import stacked_years

DATABASE = "evidence"
NEWEST_SHOWN = 8


async def canned_rows(datasette, query: str) -> list[dict]:
    """Rows of a canned query of metadata.yml, through Datasette's own client."""
    path = datasette.urls.query(DATABASE, query, format="json")
    response = await datasette.client.get(f"{path}?{urlencode({'_shape': 'objects'})}")
    body = response.json()
    if response.status_code != 200 or not body.get("ok", True):
        raise RuntimeError(f"canned query {query} failed: {body.get('error')}")
    return body["rows"]


async def home_context(datasette) -> dict:
    db = datasette.get_database(DATABASE)
    counts = {}
    for table in EVENT_TABLES:
        rows, countries = (await db.execute(
            f"select count(*), count(distinct country) from [{table}]")).first()
        counts[table] = {"rows": rows, "countries": countries,
                         "title": datasette.metadata("title", database=DATABASE, table=table)}
    others = {table: (await db.execute(f"select count(*) from [{table}]")).single_value()
              for table in ("documents", "organisations")}
    legal_kinds = [dict(r) for r in await db.execute(
        "select kind, count(*) as n from legal_actions group by kind order by n desc, kind limit 6")]
    sources = [dict(r) for r in await db.execute(
        "select id, name, homepage, licence, licence_url, rows, last_run from sources order by id")]
    chart_rows = await canned_rows(datasette, "counts_by_kind_and_year")
    chart = stacked_years([(r["year"], r["kind"], r["rows"]) for r in chart_rows],
                          list(EVENT_KINDS.values()))
    return {"counts": counts, "other_counts": others, "legal_kinds": legal_kinds, "sources": sources,
            "newest": (await canned_rows(datasette, "new_evidence"))[:NEWEST_SHOWN], "chart": chart,
            "canned_queries": await datasette.get_canned_queries(DATABASE, None)}


@hookimpl
def extra_template_vars(template, datasette):
    if template != "index.html":
        return {}
    return lambda: home_context(datasette)
