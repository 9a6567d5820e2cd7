"""Countries as the site names them: an ISO 3166-1 alpha-2 code (or EU) to a reader's name, and
back."""

from pipelines.clean.places import UnknownPlace, country_code, country_name


def country_label(code: str | None) -> str:
    """The country's common name ("Italy", "European Union"); an unknown code is shown as it is."""
    if not code:
        return ""
    try:
        return country_name(code)
    except (AttributeError, KeyError, LookupError):
        return code


def country_of_name(name: str | None) -> str | None:
    """The code of a country's name ("Italy" → "IT"), or None for a name no ISO list knows."""
    try:
        return country_code(name) if name else None
    except (UnknownPlace, LookupError):
        return None
