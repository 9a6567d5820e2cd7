"""Regions by the names readers know: an ISO 3166-2 region's English name, for the `region_en` column.

ISO 3166-2 names a region in its own language ("Moskva", "Beograd", "Shandong Sheng",
"Seoul-teukbyeolsi"); a reader looks for Moscow, Belgrade, Shandong and Seoul. The English name
comes from GeoNames (places.EXONYMS: "Lombardia" → "Lombardy"), pycountry's English translations
("Bayern" → "Bavaria"), the city a city region is named after ("Beograd" → "Belgrade"), or the
name without the word for its kind of region (China's "Sheng", "Shi", "Zizhiqu"; Korea's
"-teukbyeolsi", "-do"); else it is the ISO name.
"""

import re
from functools import cache, lru_cache

import pycountry

from pipelines.clean.places import EXONYMS, _cities, _english, _fold, _iso_names

# regions whose English name none of the rules above gives: Buenos Aires city is not its province
ENGLISH = {"AR-C": "Autonomous City of Buenos Aires"}
# the word for a region's kind that ISO appends to its name, by country
KIND_SUFFIXES = {
    "CN": re.compile(r"( Zhuangzu| Huizu| Uygur)? (Sheng|Shi|Zizhiqu)$"),
    "KR": re.compile(r"-(teukbyeolsi|gwangyeoksi|teukbyeoljachisi|teukbyeoljachido|do)$"),
}


@cache
def _big_cities() -> dict[tuple[str, str], str]:
    """(country, a name or alternate name) → the city's name, for 500,000 people or more."""
    cities = sorted((c for c in _cities() if c["population"] >= 500_000), key=lambda c: c["population"])
    return {(c["countrycode"], _fold(name)): c["name"]
            for c in cities for name in [*c["alternatenames"], c["name"]]}


@lru_cache(maxsize=4096)
def region_in_english(code: str) -> str:
    """An ISO 3166-2 region's English name if known, else its ISO name (see the module's rules).
    LookupError for a code ISO does not list."""
    sub = pycountry.subdivisions.lookup(code)
    name, kind = _iso_names(sub)[0], sub.type.lower()
    if english := ENGLISH.get(code) or EXONYMS.get(code) or (
            _english(sub.name) != sub.name and _english(sub.name)):
        return english.split(",")[0]
    if "city" in kind or kind.startswith("capital") or kind == "metropolitan administration":
        name = _big_cities().get((sub.country_code, _fold(name)), name)
    suffix = KIND_SUFFIXES.get(code[:2])
    return suffix.sub("", name) if suffix else name


def region_en(code: str | None) -> str | None:
    """region_in_english for a row's region code; None when it has none or ISO lists none."""
    if not code:
        return None
    try:
        return region_in_english(code)
    except LookupError:
        return None
