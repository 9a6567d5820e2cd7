"""Dates as sources write them, turned into ISO 8601 text with their precision.

Sources say "12/27/2012", "2016", "2017/2018", "October 16th, 2019" or "March, 2018". The result
keeps only what the source knows: "2012-12-27" (day), "2018-03" (month), "2016" (year), or the
ISO 8601 interval "2017/2018" (range). A date in figures only is read by its shape: day, month
and year; month and year ("04/2019"); a year and the next ("2016-17"); or a spreadsheet's day
number ("43655" is 2019-07-10: Excel counts days from 1899-12-30). One in no such shape keeps
only its year ("21, 2019" is 2019), never a month or day guessed for it. Words go to dateparser
once per distinct text (cached, a failure too), because dateparser costs milliseconds a call.
"""

import re
from datetime import date, timedelta
from functools import lru_cache

import dateparser

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_US = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})/(\d{4})$")
_RANGE = re.compile(r"^(\d{4})\s*[/–-]\s*(\d{4})$")
_NEXT_YEAR = re.compile(r"^(\d{4})[/–-](\d{2})$")  # "2016-17", "2010/11"
_DAY_NUMBER = re.compile(r"^\d{5}$")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_FIGURES = re.compile(r"^[\d\s/,–-]+$")
_SEPARATOR = re.compile(r"\s*([/,–-])\s*")
SPREADSHEET_EPOCH = date(1899, 12, 30)  # day 0 of Excel's and LibreOffice's day numbers (1900 system)
_ORDINAL = re.compile(r"(\d)(st|nd|rd|th)\b", re.IGNORECASE)
_PARSER = dateparser.date.DateDataParser(
    languages=["en", "es", "pt", "it", "fr", "de"],
    settings={"PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["year"]},
)


class UnparseableDate(ValueError):
    """Raised for text that holds no recognisable date."""


def _iso(year: int, month: int | None = None, day: int | None = None) -> tuple[str, str]:
    if not 1800 <= year <= 2100:
        raise UnparseableDate(f"year {year} out of range")
    if month is None:
        return f"{year:04d}", "year"
    if day is None:
        date(year, month, 1)
        return f"{year:04d}-{month:02d}", "month"
    return date(year, month, day).isoformat(), "day"


def parse_date(text: str | None) -> tuple[str, str] | None:
    """Return (iso_text, precision) for a source's date text, None for empty text.

    Raises UnparseableDate when the text is not empty but holds no date.
    """
    parsed, reason = parse_date_or_reason(text)
    if reason:
        raise UnparseableDate(reason)
    return parsed


@lru_cache(maxsize=65536)
def parse_date_or_reason(text: str | None) -> tuple[tuple[str, str] | None, str | None]:
    """(parse_date's answer, None), or (None, why the text holds no date): a text that holds none
    is as common as one that does, and costs dateparser milliseconds every time it is asked."""
    try:
        return _parse(text), None
    except UnparseableDate as error:
        return None, str(error)


def _parse(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    text = text.strip().rstrip(".")
    if not text:
        return None
    if _FIGURES.match(text):
        return _parse_figures(_SEPARATOR.sub(r"\1", text))
    if m := _ISO.match(text):
        y, mo, d = (int(g) if g else None for g in m.groups())
        return _checked(text, y, mo, d)
    return _parse_free_text(_ORDINAL.sub(r"\1", text))


def _checked(text: str, year: int, month: int | None = None, day: int | None = None) -> tuple[str, str]:
    try:
        return _iso(year, month, day)
    except ValueError as error:
        raise UnparseableDate(f"{text!r}: {error}") from None


def _parse_figures(text: str) -> tuple[str, str]:
    """A date written in figures only, read by its shape; else its one year, if it names one."""
    if m := _NEXT_YEAR.match(text):
        start, end = int(m[1]), int(m[2])
        if end == (start + 1) % 100 and ("-" not in text or end > 12):  # "2011-12" is a month
            _checked(text, start), _checked(text, start + 1)
            return f"{start}/{start + 1}", "range"
    if m := _ISO.match(text):
        y, mo, d = (int(g) if g else None for g in m.groups())
        return _checked(text, y, mo, d)
    if m := _US.match(text.replace(",", "/")):
        mo, d, y = (int(g) for g in m.groups())
        return _checked(text, y + 2000 if y < 100 else y, mo, d)
    if m := _MONTH_YEAR.match(text):
        return _checked(text, int(m[2]), int(m[1]))
    if m := _RANGE.match(text):
        start, end = sorted((int(m.group(1)), int(m.group(2))))
        _checked(text, start), _checked(text, end)
        return (f"{start}/{end}", "range") if start != end else (f"{start}", "year")
    if _DAY_NUMBER.match(text):
        day = SPREADSHEET_EPOCH + timedelta(days=int(text))
        return _checked(text, day.year, day.month, day.day)
    if len(years := set(_YEAR.findall(text))) == 1:
        return _checked(text, int(years.pop()))
    raise UnparseableDate(f"{text!r} holds no date in a shape of figures that can be read")


def _parse_free_text(text: str) -> tuple[str, str]:
    data = _PARSER.get_date_data(text)
    if data.date_obj is None:
        raise UnparseableDate(f"{text!r} holds no recognisable date")
    when = data.date_obj
    if data.period == "year":
        return _iso(when.year)
    if data.period == "month":
        return _iso(when.year, when.month)
    return _iso(when.year, when.month, when.day)


def earliest(texts) -> str | None:
    """The text among `texts` that gives the earliest date; texts that hold no date are skipped."""
    dated = []
    for text in texts:
        try:
            parsed = parse_date(text)
        except UnparseableDate:
            continue
        if parsed:
            dated.append((parsed[0], text))
    return min(dated)[1] if dated else None
