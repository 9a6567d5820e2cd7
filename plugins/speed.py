"""Speed for databases served immutable (`datasette serve -i`): whole pages kept in memory, the costly
ones made before anyone asks, and the file read through a memory map.

An immutable database cannot change while Datasette runs, so a GET request for one of its pages gets
the same response each time it is asked the same way. This plugin keeps such responses, least
recently used first out, within a budget of bytes, and sends a kept one again without running
Datasette. A response is kept under everything that shapes it: the scheme, path and query string;
the Host header and the X-Forwarded-Proto, -Host and -Port headers a proxy adds (Datasette writes
absolute links from them, the new_evidence feed its entries' links); and any other header that a
canned query reads through a `:_header_...` magic parameter. Datasette reads no other header of a GET
request (Accept only for a POST), and nothing in this stack compresses.

Kept: a status 200 that sets no cookie, for a GET without a cookie or an Authorization header (they
can change who is asking), of a page that cannot change: a page of an immutable database, or any
other page (the home page, /claims, robots.txt) when every database on disk is immutable; never
Datasette's own /-/ pages, SQL in the query string that calls random() or reads the clock, a
canned query or a view that does, nor a table page whose facets timed out (made again when next
asked; the JSON of a table does not say which of its facets timed out). Until the plugin has read
which canned queries and views those are, nothing is kept.

After the first request it fetches in the background, through `datasette.client` and with that
request's Host and forwarding headers, the pages whose queries cost most: the home page, each
database page, each table and view page with its facets and counts, each canned query that needs no
parameter, and the search of each searchable table for those of its common words that match many
rows (a search costs about in proportion to its matches: each facet reads every matched row). It
starts then, not at startup, because `datasette serve` runs the startup hook on an event loop that
it closes before serving.

`/-/speed.json` tells whether that warm-up is done, the pages it made or failed to make, and the
size, hits and misses of the kept pages. Only documented plugin hooks (asgi_wrapper,
prepare_connection, register_routes) and documented APIs (datasette.client and the JSON API,
Database.execute) are used.
"""

import asyncio
import re
import time
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import escape_fts, escape_sqlite
from datasette.utils.asgi import Response

MAX_PAGE_BYTES = 2 << 20
MAX_KEPT_BYTES = 256 << 20
SHAPING_HEADERS = (b"host", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port")
PRIVATE_HEADERS = (b"cookie", b"authorization")
VOLATILE = re.compile(r"\b(random|randomblob|changes|total_changes|last_insert_rowid)\s*\(|'now'|"
                      r"\bcurrent_(time|date|timestamp)\b|:_(now|random)_", re.IGNORECASE)
FACETS_TIMED_OUT = re.compile(rb'class="facets-timed-out"')  # Datasette's table page says which
HEADER_PARAMETER = re.compile(r":_header_(\w+)")
NAMED_PARAMETER = re.compile(r"(?<![:\w]):[A-Za-z_]")
COMMON_WORDS = 200  # the most frequent words of a sample, per searchable table, of which those
COSTLY_MATCHES = 5000  # matching at least this many rows are searched ahead,
COSTLY_SEARCHES = 100  # at most this many per table, most matches first
MEMORY_MAP_BYTES = 1 << 40  # more than any database file: SQLite maps at most what its build allows
SEARCH_SAMPLE = 5000  # rows read to find the common words
WORD = re.compile(r"\b[A-Za-z][A-Za-z']{3,}\b")


class Kept:
    """Responses by key, least recently used first out, within a budget of bytes."""

    def __init__(self, budget: int):
        self.responses: OrderedDict = OrderedDict()
        self.budget, self.size, self.hits, self.misses = budget, 0, 0, 0

    def get(self, key) -> tuple | None:
        response = self.responses.get(key)
        if response is not None:
            self.responses.move_to_end(key)
            self.hits += 1
        return response

    def put(self, key, start: dict, body: bytes) -> None:
        if key in self.responses:
            return
        self.responses[key] = (start, body)
        self.size += len(body)
        while self.size > self.budget:
            _, (_, dropped) = self.responses.popitem(last=False)
            self.size -= len(dropped)

    def report(self) -> dict:
        return {"entries": len(self.responses), "bytes": self.size, "hits": self.hits,
                "misses": self.misses}


def under(path: str, prefixes) -> bool:
    """Whether the path is one of these pages or one of their formats or sub-pages."""
    return any(path == p or path.startswith((f"{p}/", f"{p}.")) for p in prefixes)


@dataclass(frozen=True)
class Rules:
    """Which responses may be kept, and the request headers they are kept under."""

    headers: tuple[bytes, ...]
    immutable: tuple[str, ...]  # the paths of the immutable databases
    others: tuple[str, ...]  # the paths of the other databases
    changing: tuple[str, ...]  # the paths of canned queries and views whose answers can change
    own_pages: str  # the path under which Datasette has its own pages, /-/
    only_immutable: bool  # every database on disk is immutable

    def key(self, scope) -> tuple | None:
        """The key of a request whose response may be kept, or None."""
        path, query = scope["path"], scope.get("query_string", b"")
        headers = dict(scope.get("headers") or ())
        if (scope["method"] != "GET" or any(h in headers for h in PRIVATE_HEADERS)
                or path.startswith(self.own_pages) or under(path, self.others + self.changing)
                or not (self.only_immutable or under(path, self.immutable))
                or any(VOLATILE.search(v) for _, v in parse_qsl(query.decode("latin-1")))):
            return None
        return (scope.get("scheme"), scope.get("root_path", ""), path, query,
                *(headers.get(h) for h in self.headers))


class Site:
    """What this plugin holds for one Datasette instance."""

    def __init__(self):
        self.kept = Kept(MAX_KEPT_BYTES)
        self.rules: Rules | None = None
        self.warm_up: asyncio.Task | None = None
        self.warmed: list[str] = []
        self.failed: list[str] = []
        self.warm_seconds: float | None = None


SITES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def described(datasette) -> dict[str, dict]:
    """The JSON of each immutable database's page: its tables, views and canned queries."""
    out = {}
    for name, db in datasette.databases.items():
        if not db.is_mutable and not db.is_memory:
            response = await datasette.client.get(datasette.urls.database(name, format="json"))
            out[name] = response.json()
    return out


async def read_rules(datasette, databases: dict[str, dict]) -> Rules:
    headers, changing = set(SHAPING_HEADERS), []
    for name, page in databases.items():
        for query in page["queries"]:
            headers.update(h.replace("_", "-").encode() for h in HEADER_PARAMETER.findall(query["sql"]))
            if VOLATILE.search(query["sql"]):
                changing.append(datasette.urls.query(name, query["name"]))
        views = await datasette.get_database(name).execute(
            "select name, sql from sqlite_master where type = 'view'")
        changing += [datasette.urls.table(name, view) for view, sql in views if VOLATILE.search(sql)]
    others = [datasette.urls.database(n) for n in datasette.databases if n not in databases]
    return Rules(tuple(sorted(headers)), tuple(datasette.urls.database(n) for n in databases),
                 tuple(others), tuple(changing), datasette.urls.path("/-/"),
                 all(not db.is_mutable for db in datasette.databases.values() if not db.is_memory))


async def costly_pages(datasette, databases: dict[str, dict], rules: Rules) -> list[str]:
    paths = [datasette.urls.instance()] if rules.only_immutable else []
    for name, page in databases.items():
        shown = [t for t in page["tables"] if not t["hidden"] and not t["private"]]
        paths.append(datasette.urls.database(name))
        paths += [datasette.urls.table(name, t["name"]) for t in shown]
        paths += [datasette.urls.table(name, v["name"]) for v in page["views"] if not v["private"]]
        paths += [datasette.urls.query(name, q["name"]) for q in page["queries"]
                  if not q.get("write") and not NAMED_PARAMETER.search(q["sql"])]
        for table in (t for t in shown if t["fts_table"]):
            words = await costly_words(datasette.get_database(name), table)
            paths += [f"{datasette.urls.table(name, table['name'])}?{urlencode({'_search': w})}"
                      for w in words]
    return paths


async def costly_words(db, table: dict) -> list[str]:
    """The common words of a sample of a searchable table's indexed text whose search matches at
    least COSTLY_MATCHES rows, most matches first, at most COSTLY_SEARCHES of them."""
    if table["count"] is not None and table["count"] < COSTLY_MATCHES:
        return []
    name, fts = escape_sqlite(table["name"]), escape_sqlite(table["fts_table"])
    columns = [escape_sqlite(c) for c in await db.table_columns(table["fts_table"])
               if c in table["columns"]]
    last = (await db.execute(f"select max(rowid) from {name}")).single_value() or 0
    sample = await db.execute(f"select {', '.join(columns)} from {name} "
                              f"where rowid % {max(1, last // SEARCH_SAMPLE)} = 0 limit {SEARCH_SAMPLE}")
    counts = Counter(word for row in sample for text in row if isinstance(text, str)
                     for word in WORD.findall(text))
    matches = {}
    for word, _ in counts.most_common(COMMON_WORDS):
        try:
            matches[word] = (await db.execute(f"select count(*) from {fts} where {fts} match ?",
                                              [escape_fts(word)])).single_value()
        except QueryInterrupted:  # too many matches to count in the time allowed: costly
            matches[word] = COSTLY_MATCHES
    costly = sorted((w for w, n in matches.items() if n >= COSTLY_MATCHES), key=lambda w: -matches[w])
    return costly[:COSTLY_SEARCHES]


async def warm(datasette, site: Site, first_headers: dict) -> None:
    """Read the rules, then fetch the costly pages once, so that they are kept."""
    started = time.perf_counter()
    try:
        databases = await described(datasette)
        site.rules = await read_rules(datasette, databases)
        paths = await costly_pages(datasette, databases, site.rules)
    except Exception as error:  # nothing is kept: the site is served as without this plugin
        site.failed.append(f"reading the databases: {error!r}")
        paths = []
    headers = {h.decode(): first_headers[h].decode("latin-1")
               for h in (site.rules.headers if site.rules else ()) if h in first_headers}
    for path in paths:
        try:
            response = await datasette.client.get(path, headers=headers)
        except Exception as error:  # a page that fails is reported, and the others still warm
            site.failed.append(f"{path}: {error!r}")
            continue
        (site.warmed if response.status_code == 200 else site.failed).append(path)
    site.warm_seconds = round(time.perf_counter() - started, 2)


async def serve_and_keep(app, scope, receive, send, kept: Kept, key) -> None:
    """Serve the request, keeping the response if it is a 200 that sets no cookie and whose facets
    all came back in time."""
    start, chunks, size = None, [], 0

    async def capture(message):
        nonlocal start, chunks, size
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body" and chunks is not None:
            size += len(message.get("body", b""))
            if size <= MAX_PAGE_BYTES:
                chunks.append(message.get("body", b""))
            else:
                chunks = None
        await send(message)

    await app(scope, receive, capture)
    if (chunks is not None and start is not None and start["status"] == 200
            and not any(name.lower() == b"set-cookie" for name, _ in start.get("headers", ()))):
        body = b"".join(chunks)
        if not FACETS_TIMED_OUT.search(body):
            kept.put(key, start, body)


@hookimpl
def prepare_connection(conn, database, datasette):
    """Read an immutable database through a memory map: a search reads every row it matches once
    for each facet, faster from the map than through read() calls."""
    served = datasette.databases.get(database)  # None for the connections of /-/versions
    if served is not None and not served.is_mutable:
        conn.execute(f"pragma mmap_size = {MEMORY_MAP_BYTES}")


@hookimpl(trylast=True)  # the outermost wrapper: a kept page is sent before any other one runs
def asgi_wrapper(datasette):
    site = SITES.setdefault(datasette, Site())

    def wrap(app):
        async def keep_pages(scope, receive, send):
            key = site.rules.key(scope) if site.rules and scope["type"] == "http" else None
            response = site.kept.get(key) if key else None
            if response:
                await send(response[0])
                await send({"type": "http.response.body", "body": response[1]})
            elif key:
                site.kept.misses += 1
                await serve_and_keep(app, scope, receive, send, site.kept, key)
            else:
                await app(scope, receive, send)
            if site.warm_up is None and scope["type"] == "http":
                site.warm_up = asyncio.get_running_loop().create_task(
                    warm(datasette, site, dict(scope.get("headers") or ())))
        return keep_pages
    return wrap


async def speed_json(datasette):
    site = SITES.get(datasette) or Site()
    return Response.json({"warm": site.warm_seconds is not None, "warm_seconds": site.warm_seconds,
                          "warmed_pages": site.warmed, "failed": site.failed,
                          "pages": site.kept.report()})


@hookimpl
def register_routes():
    return [(r"^/-/speed\.json$", speed_json)]
