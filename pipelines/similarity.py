"""How alike two events' fields are, for finding one event reported by several sources.

Each comparator returns a similarity from 0 (different) to 1 (the same), or None when either side
is unknown: a missing value is no evidence either way. Text is folded first (ASCII, lower case,
words only, as in ids), so "Randal Quran Reid" and "randal-quran-reid" are the same words. String
similarity is rapidfuzz's normalised Indel ratio.
"""

from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from pipelines.identify import slug
from pipelines.organisations import main_name, organisation_id

NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Words every police force or office has: "Detroit Police Department" and "Woodbridge Police
# Department" differ only in the rest. Place words (county, city, state) stay: they tell apart
# "Jackson County Sheriff's Office" and "Jackson Police Department".
GENERIC_ORGANISATION_WORDS = frozenset({
    "police", "department", "dept", "pd", "sheriff", "sheriffs", "office", "service", "services",
    "force", "constabulary", "the", "of", "and", "de", "do", "da", "la", "del",
})


@lru_cache(maxsize=1 << 18)
def words(text: str | None) -> tuple[str, ...]:
    folded = slug(text) if text else ""
    return tuple(folded.split("-")) if folded else ()


def person(a: str | None, b: str | None) -> float | None:
    """Two people's names: first and last names must both agree ("Randall Reid" ~ "Randal Quran Reid")."""
    first = [w for w in words(a) if w not in NAME_SUFFIXES]
    second = [w for w in words(b) if w not in NAME_SUFFIXES]
    if not first or not second:
        return None
    if len(first) == 1 or len(second) == 1:
        short, long = sorted((first, second), key=len)
        return max(fuzz.ratio(short[0], long[0]), fuzz.ratio(short[0], long[-1])) / 100
    return min(fuzz.ratio(first[0], second[0]), fuzz.ratio(first[-1], second[-1])) / 100


def organisation(a: str | None, b: str | None) -> float | None:
    """Two organisation fields: 1 for one organisation, else how alike their distinctive words are."""
    name_a, name_b = main_name(a), main_name(b)
    if not name_a or not name_b:
        return None
    if organisation_id(name_a) == organisation_id(name_b):
        return 1.0
    return fuzz.token_sort_ratio(" ".join(_distinctive(name_a)), " ".join(_distinctive(name_b))) / 100


def _distinctive(name: str) -> list[str]:
    all_words = words(name)
    return [w for w in all_words if w not in GENERIC_ORGANISATION_WORDS] or all_words


def organisation_sets(a: list[str] | None, b: list[str] | None) -> float | None:
    """Two lists of organisations (vendors): the share they have in common (Jaccard)."""
    ids_a = {organisation_id(name) for name in a or ()}
    ids_b = {organisation_id(name) for name in b or ()}
    if not ids_a or not ids_b:
        return None
    return len(ids_a & ids_b) / len(ids_a | ids_b)


def interval(text: str | None, precision: str | None) -> tuple[date, date] | None:
    """The days an ISO date at its precision covers: "2019-07" → 1 to 31 July 2019."""
    if not text:
        return None
    if precision == "range":
        start, end = text.split("/")
        return date(int(start), 1, 1), date(int(end), 12, 31)
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        day = date(*parts)
        return day, day
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        following = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return first, following - timedelta(days=1)
    return date(parts[0], 1, 1), date(parts[0], 12, 31)


def dates(a: tuple[date, date] | None, b: tuple[date, date] | None, same_within: int,
          different_after: int) -> float | None:
    """Two date intervals: 1 when they are at most `same_within` days apart, 0 from
    `different_after` days, linear in between."""
    if a is None or b is None:
        return None
    gap = max((b[0] - a[1]).days, (a[0] - b[1]).days, 0)
    if gap <= same_within:
        return 1.0
    if gap >= different_after:
        return 0.0
    return 1 - (gap - same_within) / (different_after - same_within)


def text(a: str | None, b: str | None) -> float | None:
    """Two short texts (a place, a jurisdiction): their words in any order; when one's words are
    all among the other's ("Miami", "Downtown Miami"), the same."""
    if not a or not b:
        return None
    return fuzz.token_set_ratio(" ".join(words(a)), " ".join(words(b))) / 100


def equal(a, b) -> float | None:
    if a is None or b is None:
        return None
    return 1.0 if a == b else 0.0
