"""Countries as the site names them: an ISO 3166-1 alpha-2 code (or EU) to a reader's name."""

from pipelines.clean.places import country_name


def country_label(code: str | None) -> str:
    """The country's common name ("Italy", "European Union"); an unknown code is shown as it is."""
    if not code:
        return ""
    try:
        return country_name(code)
    except (AttributeError, KeyError, LookupError):
        return code
