"""Speed for a database served immutable (-i): pages and query results kept, searches answered from
memory, heavy pages made early.

An immutable database cannot change while Datasette runs, so one SQL statement with the same
parameters always returns the same rows, and one URL the same page. This plugin keeps, on such
databases, least recently used first out and bounded in size:
- the results of recent queries, so pages that share a count or a facet compute it once, and a
  query already running for someone else is answered by that one computation;
- whole pages (status 200, asked without cookies, answered without setting one), so a page asked
  again is sent as it was made;
- the rowids the FTS index matched for recent searches.
Any visitor's full-text search of a table is answered from a SearchIndex (publish/search_index.py):
the table's facet and sort columns copied into arrays at the start, so that the count, the facet
counts and the page of rows of a search are computed from the matched rowids, read once, instead of
reading every matched row from the table for each of them (seconds for a common word at a million
rows, hundreds of milliseconds for a mid-frequency one).
From the first request on it fetches in the background, through Datasette's own client, the pages
whose queries cost most: the home page, each database page, each table and view page with its
facets and counts, each canned query that needs no parameter, and the search of each searchable
table for its common words that match a large share of its rows (the cost of a search grows with
its matches); ahead of time their queries may run up to the sql_time_limit_ms setting, so a facet
too slow for a visitor's request is computed once and then shown. Then what is alive is frozen
for Python's garbage collector, and kept results are stored as plain tuples, which it does not
track: full collections stay short. A query whose result could differ between two calls (random(),
the clock, changes()) is never kept, nor a page that runs one, and a mutable database is left alone.
The Datasette 0.65.5 build installed here deep-copies every metadata source for each table
permission check, several a page (a tenth of a row page's time with the project's metadata);
metadata does not change while the site runs, so each table's answer is kept. Likewise the answers
to questions about an immutable database's schema (its tables, hidden tables, FTS tables), which
Datasette and its plugins ask again on every page.
While it runs it holds a shared lock on each immutable database's file, so that no build writes
into it when it has become the build's spare (pipelines/spare.py).
`/-/speed.json` tells whether the warm-up is done, with the caches' sizes, hits and misses.
"""

import asyncio
import functools
import gc
import pickle
import re
import sqlite3
import time
import weakref
from collections import Counter, OrderedDict
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode

import numpy as np
from datasette import hookimpl
from datasette.database import QueryInterrupted, Results
from datasette.utils import escape_fts, escape_sqlite, sqlite_timelimit
from datasette.utils.asgi import Response

from pipelines.spare import hold_shared
from publish.search_index import SearchIndex, parse, row_class

COMMON_WORDS = 200  # the most frequent words of a sample, per searchable table, of which
COSTLY_SHARE = 0.1  # those matching at least this share of the table's rows are searched ahead
SEARCH_SAMPLE = 5000  # rows read to find the common words
WORD = re.compile(r"\b[A-Za-z][A-Za-z']{3,}\b")
MAX_ENTRIES = 4096  # in each cache
MAX_ROWS = 200_000
MAX_ROWS_PER_ENTRY = 2_000
MAX_PAGE_BYTES = 2 << 20
MAX_PAGES_BYTES = 128 << 20
MAX_MATCHED_ROWIDS = 4_000_000  # FTS matches kept, in all (8 bytes each)
VOLATILE = re.compile(r"\b(random|randomblob|changes|total_changes|last_insert_rowid)\s*\(|"
                      r"'now'|\bcurrent_(time|date|timestamp)\b", re.IGNORECASE)
SCHEMA_QUESTIONS = ("table_exists", "table_names", "table_columns", "table_column_details", "primary_keys",
                    "fts_table", "label_column_for_table", "foreign_keys_for_table", "hidden_table_names",
                    "view_names", "get_all_foreign_keys", "get_table_definition", "get_view_definition")
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
        self.cache = Kept(MAX_ROWS, MAX_ROWS_PER_ENTRY, lambda kept: len(kept[0]))
        self.running: dict = {}
        self.pages = Kept(MAX_PAGES_BYTES, MAX_PAGE_BYTES, lambda page: len(page[1]))
        self.matched = Kept(MAX_MATCHED_ROWIDS, MAX_MATCHED_ROWIDS, len)
        self.matching: dict = {}
        self.indexes: dict = {}  # (database, table): SearchIndex
        self.index_seconds = None
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


async def once(running: dict, key, compute):
    """compute()'s result, computed once for everyone who asks for `key` while it runs."""
    if key in running:
        return await asyncio.shield(running[key])
    computing = asyncio.get_running_loop().create_future()
    running[key] = computing
    try:
        result = await compute()
    except asyncio.CancelledError:
        computing.cancel()
        raise
    except Exception as error:
        computing.set_exception(error)
        computing.exception()  # retrieved here, so an unawaited failure is not reported
        raise
    finally:
        running.pop(key, None)
    computing.set_result(result)
    return result


def cached_execute(database, state: State):
    """Database.execute of one immutable database, with its results kept and its full-text searches
    answered from the table's SearchIndex where there is one."""
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

        async def compute():
            state.cache.misses += 1
            # Ahead of time a query may take up to the sql_time_limit_ms setting, not the shorter
            # limit Datasette gives facets: computed once, it is then kept.
            limit = None if warming.get() else custom_time_limit
            results = await searched(database, state, original, sql, params, truncate, limit, page_size)
            if results is None:
                results = await original(sql, params, truncate, limit, page_size, log_sql_errors)
            state.cache.put(key, stored(results))
            return results

        kept = state.cache.get(key)
        if kept is not None:
            return restored(kept)
        results = await once(state.running, key, compute)
        return Results(list(results.rows), results.truncated, results.description)

    return execute


def stored(results: Results) -> tuple:
    """Results as plain tuples of values, which Python's garbage collector stops tracking: kept
    sqlite3.Row objects would make each full collection walk every kept row, so that collections
    took 50-150 ms in the middle of a request once some thousands of pages had been made."""
    return (tuple(tuple(row) for row in results.rows), results.truncated,
            tuple(tuple(column) for column in results.description or ()))


def restored(kept: tuple) -> Results:
    rows, truncated, description = kept
    kind = row_class(tuple(column[0] for column in description))
    return Results([kind(row) for row in rows], truncated, description or None)


async def searched(database, state: State, original, sql, params, truncate, limit, page_size):
    """The results of one of Datasette's full-text search statements computed from the table's
    SearchIndex, or None when there is none or it cannot answer this statement."""
    query = parse(sql) if "match" in sql and isinstance(params, dict) else None
    index = state.indexes.get((database.name, query.table)) if query else None
    if index is None or not index.answers(query) or not isinstance(params.get("search"), str):
        return None
    matched = await matches(database, state, index, query, params["search"])
    rowids = None if matched is None else index.selected(matched, query, params)
    if rowids is None:
        return None
    if query.kind == "rows":
        return await original(index.rows_sql(rowids, query), None, truncate, limit, page_size)
    rows, description = index.count(rowids) if query.kind == "count" else index.facet(rowids, query)
    return Results(rows, False, description)


async def matches(database, state: State, index: SearchIndex, query, search: str):
    """The rowids the FTS index matches for `search` (kept), or None when SQLite refuses the search,
    which the page's own query then reports."""
    sql = index.match_sql(query)
    key = (database.name, sql, search)
    kept = state.matched.get(key)
    if kept is not None:
        return kept
    time_limit = database.ds.setting("sql_time_limit_ms")

    def read(conn):
        # One string of all the rowids, parsed by numpy: many times faster than a row each.
        with sqlite_timelimit(conn, time_limit):
            try:
                listed = conn.execute(sql, {"search": search}).fetchone()[0]
                return np.fromstring(listed or "", dtype=np.int64, sep=",")
            except sqlite3.OperationalError as error:
                if error.args == ("interrupted",):
                    raise QueryInterrupted(error, sql, {"search": search}) from error
                return None

    async def compute():
        state.matched.misses += 1
        rowids = await database.execute_fn(read)
        if rowids is not None:
            state.matched.put(key, rowids)
        return rowids

    return await once(state.matching, key, compute)


async def load_search_indexes(datasette, state: State) -> None:
    """A SearchIndex of each searchable table of the immutable databases, with the columns its
    metadata facets and sorts by."""
    started = time.perf_counter()
    for name, database in datasette.databases.items():
        if database.is_mutable or database.is_memory:
            continue
        hidden = set(await database.hidden_table_names())
        for table in await database.table_names():
            fts = await database.fts_table(table)
            if not fts or table in hidden:
                continue
            meta = datasette.table_metadata(name, table)
            columns = [c for c in (*meta.get("facets", ()), meta.get("sort"), meta.get("sort_desc"))
                       if isinstance(c, str)]
            keys = await database.primary_keys(table)
            if len(keys) > 1:
                continue
            arguments = (table, fts, keys[0] if keys else None, columns)
            try:
                index = await database.execute_fn(
                    lambda conn, arguments=arguments: SearchIndex.load(conn, *arguments))
            except Exception as error:  # its searches are then left to SQLite, as without the index
                state.failed.append(f"search index of {name}/{table}: {error!r}")
                continue
            if index is not None:
                state.indexes[(name, table)] = index
    state.index_seconds = round(time.perf_counter() - started, 2)


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
            hidden = set(await database.hidden_table_names())
            for table in await database.table_names():
                if table not in hidden:
                    for word in await costly_words(database, table):
                        paths.append(f"{datasette.urls.table(name, table)}?{urlencode({'_search': word})}")
    return paths


async def costly_words(database, table: str) -> list[str]:
    """The common words whose search matches at least COSTLY_SHARE of the table's rows, most
    matches first. A search costs about in proportion to its matches (reading their rowids,
    counting their facets); where they are a large share of a large table, its page is made ahead."""
    fts = await database.fts_table(table)
    words = await common_words(database, table, fts) if fts else []
    if not words:
        return []
    total = (await database.execute(f"select count(*) from {escape_sqlite(table)}")).first()[0]
    count = f"select count(*) from {escape_sqlite(fts)} where {escape_sqlite(fts)} match ?"
    matches = {}
    for word in words:
        matches[word] = (await database.execute(count, [escape_fts(word)])).first()[0]
    return sorted((w for w in words if matches[w] >= COSTLY_SHARE * total), key=lambda w: -matches[w])


async def common_words(database, table: str, fts: str) -> list[str]:
    """The words, as written, most frequent in a sample of a searchable table's indexed text."""
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
    await load_search_indexes(datasette, state)
    for path in await pages_to_warm(datasette):
        try:
            response = await datasette.client.get(path, headers={"host": state.host.decode("latin-1")})
        except Exception as error:  # a page that fails is reported, and the others still warm
            state.failed.append(f"{path}: {error!r}")
            continue
        (state.warmed_pages if response.status_code == 200 else state.failed).append(path)
    # What is alive now (Datasette's own objects, the search indexes, the first cached pages and
    # results) lives as long as the process. Python's full garbage collections would otherwise
    # walk all of it again and again, for tens of milliseconds each, in the middle of a request.
    gc.collect()
    gc.freeze()
    state.warm_seconds = round(time.perf_counter() - started, 2)


def keep_schema_answers(database) -> None:
    """An immutable database's tables, views, columns, keys and full-text tables, asked once: every
    page asks some of them again (datasette-search-all's menu link looks for a searchable table
    on every page), each a trip to a query thread. Each caller gets its own copy, unpickled (ten
    times faster than copy.deepcopy: a row page asks for every foreign key of the database)."""
    for question in SCHEMA_QUESTIONS:
        original, answers = getattr(database, question), {}

        async def kept(*args, _original=original, _answers=answers):
            if args not in _answers:
                _answers[args] = pickle.dumps(await _original(*args), protocol=pickle.HIGHEST_PROTOCOL)
            return pickle.loads(_answers[args])

        setattr(database, question, kept)


@hookimpl
def startup(datasette):
    state = STATES.setdefault(datasette, State())
    for name, database in datasette.databases.items():
        if not database.is_mutable and not database.is_memory:
            weakref.finalize(datasette, hold_shared(database.path).close)  # held while it serves
            database.execute = cached_execute(database, state)
            keep_schema_answers(database)
            state.immutable.add(name)
    state.only_immutable = all(d.is_memory or not d.is_mutable for d in datasette.databases.values())
    table_allows = getattr(datasette, "_table_permission_allows", None)
    if table_allows:  # this Datasette build deep-copies all metadata for every table permission check
        datasette._table_permission_allows = functools.lru_cache(maxsize=4096)(table_allows)


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
                          "queries": state.cache.report(), "pages": state.pages.report(),
                          "search_indexes": {f"{name}/{table}": sorted(index.columns)
                                             for (name, table), index in state.indexes.items()},
                          "search_index_seconds": state.index_seconds,
                          "searches": state.matched.report()})


@hookimpl
def register_routes():
    return [(r"^/-/speed\.json$", speed_json)]
