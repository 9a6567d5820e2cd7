"""The search page, /search?q=…: one ranked list of the deployments, wrongful arrests, legal actions
and documents that match, each with its kind, title, date, place and a snippet with the matched words
marked, linked to its row page; filters by table, country and year, with the number of matches of
each choice; twenty results a page. The SQL and the counting are publish/search.py's.

/-/search, where the home page's search box used to send readers, redirects here with its query.
A search whose matches cannot be counted within Datasette's time limit says so instead of failing.
"""

from urllib.parse import urlencode

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import path_with_replaced_args
from datasette.utils.asgi import Response

from publish import search
from publish.countries import country_label
from publish.search import Facets, Filters

DATABASE = "evidence"


def page_number(args) -> int:
    """The page asked for, from 1 to MAX_PAGE; anything else is the first page."""
    value = args.get("page") or ""
    return min(int(value), search.MAX_PAGE) if value.isdigit() and int(value) >= 1 else 1


async def results(db, match: str, filters: Filters, page: int, searchable) -> list[dict]:
    """One page of results in rank order, each with its fields and marked snippet."""
    sql = search.page_sql(filters, searchable)
    if sql is None:
        return []
    ranked = await db.execute(sql, {"q": match, **filters.params(), "limit": search.PAGE_SIZE,
                                    "offset": (page - 1) * search.PAGE_SIZE})
    by_table: dict[str, list[str]] = {}
    for row in ranked:
        by_table.setdefault(row["search_table"], []).append(row["id"])
    found = {}
    for table, ids in by_table.items():
        params = {"q": match, **{f"id{i}": row_id for i, row_id in enumerate(ids)}}
        for row in await db.execute(search.details_sql(search.SEARCHED[table], len(ids)), params):
            snippet = row["snippet"]
            if search.unmarked(snippet) == search.unmarked(row["title"]):
                snippet = None  # the title, already shown
            found[(table, row["id"])] = dict(row, title=search.marked(row["title"]),
                                             snippet=snippet and search.marked(snippet))
    out = []
    for row in ranked:
        table = row["search_table"]
        shown = found[(table, row["id"])]
        out.append({**shown, "table": table, "kind": search.SEARCHED[table].kind,
                    "label": search.SEARCHED[table].label,
                    "country_name": country_label(shown["country"])})
    return out


async def search_context(datasette, request) -> dict:
    q = (request.args.get("q") or "").strip()
    filters, page = Filters.from_args(request.args), page_number(request.args)
    context = {"q": q, "filters": filters, "page": page, "page_size": search.PAGE_SIZE, "results": [],
               "total": 0, "too_broad": False, "table_counts": {}, "countries": [], "years": [],
               "table_titles": {t: datasette.metadata("title", database=DATABASE, table=t) or t
                                for t in search.SEARCHED},
               "filter_country_name": country_label(filters.country)}
    match = search.match_expression(q)
    if not match:
        return context
    db = datasette.get_database(DATABASE)
    searchable = search.present(await db.table_names())
    try:
        facets = Facets([tuple(row) for row in await db.execute(search.groups_sql(searchable),
                                                                {"q": match})])
        countries, years = facets.countries(filters), facets.years(filters)
        if filters.country and filters.country not in dict(countries):  # a chosen filter stays shown
            countries.append((filters.country, 0))
        if filters.year is not None and filters.year not in dict(years):
            years.append((filters.year, 0))
        context.update(total=facets.total(filters), table_counts=facets.tables(filters),
                       all_tables=sum(facets.tables(filters).values()), years=years,
                       countries=[(code, country_label(code), n) for code, n in countries])
        if context["total"]:
            context["results"] = await results(db, match, filters, page, searchable)
    except QueryInterrupted:
        context["too_broad"] = True
    return context


async def search_page(datasette, request):
    context = await search_context(datasette, request)
    context["with_args"] = lambda **changes: path_with_replaced_args(
        request, {**changes, "page": changes.get("page")})
    html = await datasette.render_template("search.html", context, request=request, view_name="search")
    return Response.html(html)


async def old_search_address(datasette, request):
    """datasette-search-all's address: the same search, on this page."""
    query = urlencode({"q": request.args["q"]}) if request.args.get("q") else ""
    path = datasette.urls.path("/search")
    return Response.redirect(f"{path}?{query}" if query else path, status=301)


@hookimpl
def register_routes():
    return [(r"^/search$", search_page), (r"^/-/search$", old_search_address)]
