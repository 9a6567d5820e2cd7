"""How alike two events' fields are, for finding one event reported by several sources.

Each comparator returns a similarity from 0 (different) to 1 (the same), or None when either side
is unknown: a missing value is no evidence either way. Text is folded first (ASCII, lower case,
words only, as in ids), so "Randal Quran Reid" and "randal-quran-reid" are the same words. String
similarity is rapidfuzz's normalised Indel ratio.

Matching compares each row with many others, so each value is prepared once (`person_names`,
`organisation_name`, `folded`, `organisation_ids`) and pairs compare prepared values (`names`,
`organisations`, `folded_texts`, `id_sets`); `person` and `organisation` do both for two raw
values.
"""

from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from pipelines.clean.identify import slug
from pipelines.clean.organisations import main_name, organisation_id

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


def person_names(text: str | None) -> tuple[str, ...]:
    """A person's names, without suffixes (Jr, III)."""
    return tuple(w for w in words(text) if w not in NAME_SUFFIXES)


def names(first: tuple[str, ...], second: tuple[str, ...]) -> float | None:
    """Two people's names (`person_names`): first and last names must both agree ("Randall Reid" ~
    "Randal Quran Reid")."""
    if not first or not second:
        return None
    if len(first) == 1 or len(second) == 1:
        short, long = sorted((first, second), key=len)
        return max(fuzz.ratio(short[0], long[0]), fuzz.ratio(short[0], long[-1])) / 100
    return min(fuzz.ratio(first[0], second[0]), fuzz.ratio(first[-1], second[-1])) / 100


def person(a: str | None, b: str | None) -> float | None:
    return names(person_names(a), person_names(b))


@lru_cache(maxsize=1 << 16)
def organisation_name(text: str | None) -> tuple[str, str] | None:
    """The organisation a field is about: its id and its distinctive words (without "police",
    "department", ...), or None when the field names none."""
    name = main_name(text)
    if not name:
        return None
    all_words = words(name)
    return organisation_id(name), " ".join([w for w in all_words if w not in GENERIC_ORGANISATION_WORDS]
                                           or all_words)


def organisations(a: tuple[str, str] | None, b: tuple[str, str] | None) -> float | None:
    """Two organisations (`organisation_name`): 1 for one organisation, else how alike their
    distinctive words are."""
    if a is None or b is None:
        return None
    if a[0] == b[0]:
        return 1.0
    return fuzz.token_sort_ratio(a[1], b[1]) / 100


def organisation(a: str | None, b: str | None) -> float | None:
    return organisations(organisation_name(a), organisation_name(b))


@lru_cache(maxsize=1 << 16)
def organisation_ids(names_: tuple[str, ...]) -> frozenset[str]:
    return frozenset(organisation_id(name) for name in names_)


def id_sets(a: frozenset[str], b: frozenset[str]) -> float | None:
    """Two sets of organisation ids (vendors): the share they have in common (Jaccard)."""
    if not a or not b:
        return None
    return len(a & b) / len(a | b)


@lru_cache(maxsize=1 << 16)
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


def folded(text: str | None) -> str | None:
    """A short text's words, folded, for `folded_texts`."""
    return " ".join(words(text)) if text else None


def folded_texts(a: str | None, b: str | None) -> float | None:
    """Two short texts (`folded`: a place, a jurisdiction): their words in any order; when one's
    words are all among the other's ("Miami", "Downtown Miami"), the same."""
    if a is None or b is None:
        return None
    return fuzz.token_set_ratio(a, b) / 100


def equal(a, b) -> float | None:
    if a is None or b is None:
        return None
    return 1.0 if a == b else 0.0
