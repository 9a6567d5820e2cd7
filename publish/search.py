"""The site's search across tables: the SQL that ranks the matches of the full-text indexes of the
event tables and the documents, the counts behind its filters, and the snippet of each result with
the matched words marked. A table of SEARCHED that the database served lacks is left out.

A search is words, each matched with its stem (the indexes use the porter tokenizer) and all of them
required. A reader looks for events first, so every matching event (deployment, wrongful arrest,
legal action, declaration) comes before every matching document: a document's short title would
otherwise outscore them. Within each of the two, results are ordered by their BM25 score (a title
match weighs more than one in the other columns), then by table and id, so that the order is the
same at every load. Each table's scores are computed against that table's own words, so the order
across the event tables is approximate.

The page (plugins/search_page.py) asks three kinds of query: the number of matches per table,
country and year with no filter (`groups_sql`), from which `Facets` counts each filter's choices;
one page of results (`page_sql`); and the fields and snippets of those results (`details_sql`).
"""

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

PAGE_SIZE = 20
MAX_PAGE = 500  # deeper pages are refused: no reader pages that far, and OFFSET reads every row before
MARK_START, MARK_END = "\x02", "\x03"  # never in indexed text: replaced by <mark> once escaped
SNIPPET_TOKENS = 24
WORD = re.compile(r"\w+")
COUNTRY = re.compile(r"^[A-Z]{2}$")
YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Searched:
    """A table whose full-text index the search reads, and how its rows are shown."""

    table: str
    kind: str
    label: str  # of one row, for readers
    weights: tuple[float, ...]  # of the index's columns, in their order: the title first
    date: str  # SQL of the row's date
    place: str  # SQL of where it happened, or who published it
    country: str  # SQL of its ISO country code, or null
    year: str  # SQL of its year, or null
    untitled: str = "t.id"  # SQL of what stands for the title of a row without one
    tier: int = 0  # results of a lower tier come first: events 0, documents 1

    @property
    def fts(self) -> str:
        return f"{self.table}_fts"


EVENT_PLACE = "coalesce(nullif(t.place, ''), nullif(t.region, ''))"
SEARCHED = {
    "deployments": Searched("deployments", "deployment", "Deployment", (4, 1, 2, 2, 1, 1),
                            "t.date", EVENT_PLACE, "t.country", "t.year"),
    "wrongful_arrests": Searched("wrongful_arrests", "wrongful_arrest", "Wrongful arrest",
                                 (4, 1, 2, 2, 2, 1, 1), "t.date", EVENT_PLACE, "t.country", "t.year"),
    "legal_actions": Searched("legal_actions", "legal_action", "Legal action", (4, 1, 2, 1, 2, 1, 1),
                              "t.date", EVENT_PLACE, "t.country", "t.year"),
    "declarations": Searched("declarations", "declaration", "Declaration", (4, 1, 2, 1, 1, 1, 1),
                             "t.date", EVENT_PLACE, "t.country", "t.year"),
    "documents": Searched("documents", "document", "Document", (4, 2, 1), "t.published",
                          "t.publisher", "null", "cast(substr(t.published, 1, 4) as integer)", "t.url",
                          tier=1),
}


def present(table_names) -> list[Searched]:
    """The searched tables whose full-text index the database has, in the order of SEARCHED."""
    names = set(table_names)
    return [searched for searched in SEARCHED.values() if searched.fts in names]


def match_expression(text: str) -> str:
    """The FTS5 query for the words of a reader's text: each word quoted (no operator or column
    filter of FTS5 syntax can be smuggled in), all required. Empty when the text has no word."""
    return " ".join(f'"{word}"' for word in WORD.findall(text or ""))


@dataclass(frozen=True)
class Filters:
    """What a reader narrowed the search to; each None when not chosen."""

    table: str | None = None
    country: str | None = None
    year: int | None = None

    @classmethod
    def from_args(cls, args) -> "Filters":
        """The filters of a request's query string, any value that is not a valid choice dropped."""
        table = args.get("table")
        country = (args.get("country") or "").strip().upper()
        year = (args.get("year") or "").strip()
        return cls(table if table in SEARCHED else None, country if COUNTRY.match(country) else None,
                   int(year) if YEAR.match(year) else None)

    def tables(self, searchable: list[Searched]) -> list[Searched]:
        """The tables of these that the filters leave to search: documents have no country."""
        return [s for s in searchable if (not self.table or s.table == self.table)
                and not (self.country and s.country == "null")]

    def params(self) -> dict:
        return {"country": self.country or "", "year": self.year if self.year is not None else ""}


def _hits(searched: Searched, filters: Filters | None) -> str:
    """SQL of one table's matches: table, id, country, year, tier and score."""
    weights = ", ".join(str(w) for w in searched.weights)
    where = [f"{searched.fts} match :q"]
    if filters and filters.country:
        where.append(f"{searched.country} = :country")
    if filters and filters.year is not None:
        where.append(f"{searched.year} = :year")
    return (f"select '{searched.table}' as search_table, t.id as id, {searched.country} as country, "
            f"{searched.year} as year, {searched.tier} as tier, bm25({searched.fts}, {weights}) as score "
            f"from {searched.fts} join {searched.table} t on t.rowid = {searched.fts}.rowid "
            f"where {' and '.join(where)}")


def groups_sql(searchable: list[Searched]) -> str:
    """Matches counted per table, country and year, unfiltered (params: q)."""
    union = " union all ".join(_hits(s, None) for s in searchable)
    return (f"select search_table, country, year, count(*) as n from ({union}) "
            f"group by search_table, country, year")


def page_sql(filters: Filters, searchable: list[Searched]) -> str | None:
    """One page of the filtered matches, events before documents, each best first, ties in a fixed
    order (params: q, country, year, limit, offset); None when the filters leave no table to search."""
    tables = filters.tables(searchable)
    if not tables:
        return None
    union = " union all ".join(_hits(s, filters) for s in tables)
    return (f"select search_table, id, score from ({union}) "
            f"order by tier, score, search_table, id limit :limit offset :offset")


def details_sql(searched: Searched, count: int) -> str:
    """The shown fields of `count` rows of one table, by id (params: q, id0…): the title and the
    snippet of the column that best matches, their matched words between MARK_START and MARK_END."""
    ids = ", ".join(f":id{i}" for i in range(count))
    return (f"select t.id as id, highlight({searched.fts}, 0, char(2), char(3)) as title, "
            f"{searched.untitled} as untitled, "
            f"{searched.date} as date, {searched.place} as place, {searched.country} as country, "
            f"snippet({searched.fts}, -1, char(2), char(3), '…', {SNIPPET_TOKENS}) as snippet "
            f"from {searched.fts} join {searched.table} t on t.rowid = {searched.fts}.rowid "
            f"where {searched.fts} match :q and t.id in ({ids})")


def marked(text: str | None) -> Markup:
    """Highlighted text as HTML: the text escaped, its matched words in <mark>."""
    escaped = str(escape(text or ""))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def unmarked(text: str | None) -> str:
    """Highlighted text as it was indexed."""
    return (text or "").replace(MARK_START, "").replace(MARK_END, "")


class Facets:
    """How many matches each choice of each filter would give, the other filters kept, from the
    unfiltered counts per (table, country, year)."""

    def __init__(self, groups: list[tuple[str, str | None, int | None, int]]):
        self.groups = groups

    def _count(self, filters: Filters, by: str) -> dict:
        counts: dict = {}
        for table, country, year, n in self.groups:
            if ((by != "table" and filters.table and table != filters.table)
                    or (by != "country" and filters.country and country != filters.country)
                    or (by != "year" and filters.year is not None and year != filters.year)):
                continue
            key = {"table": table, "country": country, "year": year}[by]
            if key is not None:
                counts[key] = counts.get(key, 0) + n
        return counts

    def total(self, filters: Filters) -> int:
        counts = self._count(filters, "table")
        return counts.get(filters.table, 0) if filters.table else sum(counts.values())

    def tables(self, filters: Filters) -> dict[str, int]:
        """Matches per table, in the order of SEARCHED."""
        counts = self._count(filters, "table")
        return {table: counts[table] for table in SEARCHED if table in counts}

    def countries(self, filters: Filters) -> list[tuple[str, int]]:
        """Matches per country, most first, then by code."""
        return sorted(self._count(filters, "country").items(), key=lambda item: (-item[1], item[0]))

    def years(self, filters: Filters) -> list[tuple[int, int]]:
        """Matches per year, newest first."""
        return sorted(self._count(filters, "year").items(), reverse=True)
