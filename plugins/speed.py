"""Speed for a database served immutable (-i): pages and query results kept, heavy pages made early.

An immutable database cannot change while Datasette runs, so one SQL statement with the same
parameters always returns the same rows, and one URL the same page. This plugin keeps, on such
databases, least recently used first out and bounded in size:
- the results of recent queries, so pages that share a count or a facet compute it once, and a
  query already running for someone else is answered by that one computation;
- whole pages (status 200, asked without cookies, answered without setting one), so a page asked
  again is sent as it was made.
From the first request on it fetches in the background, through Datasette's own client, the pages
whose queries cost most: the home page, each database page, each table and view page with its
facets and counts, each canned query that needs no parameter, and the search of each searchable
table for its most common words (a rare word's search is cheap; a common one's matches, counts
and facets take seconds at a million rows); ahead of time their queries may
run up to the sql_time_limit_ms setting, so a facet too slow for a visitor's request is computed
once and then shown. A query whose result could differ between two calls (random(), the clock,
changes()) is never kept, nor a page that runs one, and a mutable database is left alone.
`/-/speed.json` tells whether the warm-up is done, with the caches' sizes, hits and misses.
"""

import asyncio
import re
import time
import weakref
from collections import Counter, OrderedDict
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.database import Results
from datasette.utils.asgi import Response

COMMON_WORDS = 25  # searches made ahead, per searchable table
SEARCH_SAMPLE = 5000  # rows read to find the common words
WORD = re.compile(r"\b[A-Za-z][A-Za-z']{3,}\b")
MAX_ENTRIES = 4096  # in each cache
MAX_ROWS = 200_000
MAX_ROWS_PER_ENTRY = 2_000
MAX_PAGE_BYTES = 2 << 20
MAX_PAGES_BYTES = 128 << 20
VOLATILE = re.compile(r"\b(random|randomblob|changes|total_changes|last_insert_rowid)\s*\(|"
                      r"'now'|\bcurrent_(time|date|timestamp)\b", re.IGNORECASE)
warming = ContextVar("warming", default=False)
STATES = weakref.WeakKeyDictionary()


class Kept:
    """Values by key, least recently used first out, within a budget of units (rows, bytes)."""

    def __init__(self, budget: int, largest: int, units):
        self.entries: OrderedDict = OrderedDict()
        self.budget, self.largest, self.units = budget, largest, units
        self.used = self.hits = self.misses = 0

    def get(self, key):
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
            self.hits += 1
        return value

    def put(self, key, value) -> None:
        size = self.units(value)
        if size > self.largest or key in self.entries:
            return
        self.entries[key] = value
        self.used += size
        while self.used > self.budget or len(self.entries) > MAX_ENTRIES:
            _, dropped = self.entries.popitem(last=False)
            self.used -= self.units(dropped)

    def report(self) -> dict:
        return {"entries": len(self.entries), "size": self.used, "hits": self.hits, "misses": self.misses}


class State:
    def __init__(self):
        self.cache = Kept(MAX_ROWS, MAX_ROWS_PER_ENTRY, lambda results: len(results.rows))
        self.running: dict = {}
        self.pages = Kept(MAX_PAGES_BYTES, MAX_PAGE_BYTES, lambda page: len(page[1]))
        self.immutable: set[str] = set()
        self.only_immutable = False  # every database on disk is immutable: the home page cannot change
        self.host = b"localhost"
        self.started = None
        self.warmed_pages: list[str] = []
        self.warm_seconds = None
        self.failed: list[str] = []


def _frozen(params):
    if params is None:
        return None
    if isinstance(params, dict):
        return tuple(sorted(params.items()))
    return tuple(params)


def cached_execute(database, state: State):
    """Database.execute of one immutable database, with its results kept."""
    original = database.execute

    async def execute(sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                      log_sql_errors=True):
        if VOLATILE.search(sql):
            return await original(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        try:
            key = (sql, _frozen(params), truncate, page_size)
            hash(key)
        except TypeError:
            return await original(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)
        cache = state.cache
        kept = cache.get(key)
        if kept is None and key in state.running:
            kept = await asyncio.shield(state.running[key])
        if kept is not None:
            return Results(list(kept.rows), kept.truncated, kept.description)
        cache.misses += 1
        # Ahead of time a query may take up to the sql_time_limit_ms setting, not the shorter
        # limit Datasette gives facets: computed once, it is then kept.
        limit = None if warming.get() else custom_time_limit
        computing = asyncio.get_running_loop().create_future()
        state.running[key] = computing
        try:
            results = await original(sql, params, truncate, limit, page_size, log_sql_errors)
        except asyncio.CancelledError:
            computing.cancel()
            raise
        except Exception as error:
            computing.set_exception(error)
            computing.exception()  # retrieved here, so an unawaited failure is not reported
            raise
        finally:
            state.running.pop(key, None)
        computing.set_result(results)
        cache.put(key, results)
        return Results(list(results.rows), results.truncated, results.description)

    return execute


async def pages_to_warm(datasette) -> list[str]:
    paths = ["/"]
    for name, database in datasette.databases.items():
        if database.is_mutable or database.is_memory:
            continue
        paths.append(datasette.urls.database(name))
        hidden = set(await database.hidden_table_names())
        for table in [*await database.table_names(), *await database.view_names()]:
            if table not in hidden:
                paths.append(datasette.urls.table(name, table))
        for query_name, query in (await datasette.get_canned_queries(name, None)).items():
            if not query.get("params") and not query.get("write") and ":" not in query["sql"]:
                paths.append(datasette.urls.query(name, query_name))
    for name, database in datasette.databases.items():
        if not database.is_mutable and not database.is_memory:
            for table in await database.table_names():
                for word in await common_words(database, table):
                    paths.append(f"{datasette.urls.table(name, table)}?{urlencode({'_search': word})}")
    return paths


async def common_words(database, table: str) -> list[str]:
    """The words, as written, most frequent in a sample of a searchable table's indexed text: a
    search for a common word matches much of the table, and its count and facets cost most."""
    fts = await database.fts_table(table)
    if not fts:
        return []
    columns = [c for c in await database.table_columns(fts) if c in await database.table_columns(table)]
    last = (await database.execute(f"select max(rowid) from [{table}]")).first()[0] or 0
    step = max(1, last // SEARCH_SAMPLE)
    rows = await database.execute(
        f"select {', '.join(f'[{c}]' for c in columns)} from [{table}] where rowid % {step} = 0 "
        f"limit {SEARCH_SAMPLE}", page_size=SEARCH_SAMPLE)
    counts = Counter(word for row in rows for text in row if isinstance(text, str)
                     for word in WORD.findall(text))
    return [word for word, _ in counts.most_common(COMMON_WORDS)]


async def warm(datasette, state: State) -> None:
    """Fetch the costly pages once, in the background, so their queries and pages are kept."""
    started = time.perf_counter()
    warming.set(True)
    for path in await pages_to_warm(datasette):
        try:
            response = await datasette.client.get(path, headers={"host": state.host.decode("latin-1")})
        except Exception as error:  # a page that fails is reported, and the others still warm
            state.failed.append(f"{path}: {error!r}")
            continue
        (state.warmed_pages if response.status_code == 200 else state.failed).append(path)
    state.warm_seconds = round(time.perf_counter() - started, 2)


@hookimpl
def startup(datasette):
    state = STATES.setdefault(datasette, State())
    for name, database in datasette.databases.items():
        if not database.is_mutable and not database.is_memory:
            database.execute = cached_execute(database, state)
            state.immutable.add(name)
    state.only_immutable = all(d.is_memory or not d.is_mutable for d in datasette.databases.values())


def page_key(scope, state: State):
    """The cache key of a request whose page cannot change, or None."""
    if scope["method"] != "GET":
        return None
    headers = dict(scope.get("headers") or ())
    if b"cookie" in headers or b"authorization" in headers:
        return None
    path = scope["path"]
    first = path.strip("/").split("/", 1)[0].split(".", 1)[0]
    if first not in state.immutable and not (path == "/" and state.only_immutable):
        return None
    query = scope.get("query_string", b"")
    if any(VOLATILE.search(value) for _, value in parse_qsl(query.decode("latin-1"))):
        return None
    return path, query, headers.get(b"host", b"")


async def send_kept(send, start: dict, body: bytes) -> None:
    await send(start)
    await send({"type": "http.response.body", "body": body})


async def serve_and_keep(app, scope, receive, send, state: State, key) -> None:
    """Serve the request, keeping the page if it is a plain 200 that sets no cookie."""
    start, chunks, size = None, [], 0

    async def capture(message):
        nonlocal start, size
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body" and chunks is not None:
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
        await send(message)

    await app(scope, receive, capture)
    keep = (start is not None and start["status"] == 200 and size <= MAX_PAGE_BYTES
            and not any(name.lower() == b"set-cookie" for name, _ in start.get("headers", ())))
    if keep:
        state.pages.put(key, (start, b"".join(chunks)))


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def speed(scope, receive, send):
            state = STATES.get(datasette)
            if state is None or scope["type"] != "http":
                await app(scope, receive, send)
                return
            if state.started is None:
                state.host = dict(scope.get("headers") or ()).get(b"host", state.host)
                state.started = asyncio.get_running_loop().create_task(warm(datasette, state))
            key = page_key(scope, state)
            kept = state.pages.get(key) if key else None
            if kept is not None:
                await send_kept(send, *kept)
            elif key is None:
                await app(scope, receive, send)
            else:
                state.pages.misses += 1
                await serve_and_keep(app, scope, receive, send, state, key)
        return speed
    return wrap


async def speed_json(datasette):
    state = STATES.get(datasette) or State()
    return Response.json({"warm": state.warm_seconds is not None, "warm_seconds": state.warm_seconds,
                          "warmed_pages": state.warmed_pages, "failed": state.failed,
                          "queries": state.cache.report(), "pages": state.pages.report()})


@hookimpl
def register_routes():
    return [(r"^/-/speed\.json$", speed_json)]
