"""Validation: a record that breaks the data model is refused with the field and value named.

A record is a plain dict: the fields of one item type (scrapers/items.py) plus its `table`.
"""

from numbers import Number

from pipelines import vocab
from pipelines.clean.identify import check_curated_id

REQUIRED = ("source", "source_id", "title")
VOCABULARIES = {
    "deployments": {"sector": vocab.SECTORS, "mode": vocab.MODES,
                    "status": vocab.DEPLOYMENT_STATUSES},
    "wrongful_arrests": {},
    "legal_actions": {"kind": vocab.LEGAL_KINDS, "jurisdiction_level": vocab.JURISDICTION_LEVELS,
                      "status": vocab.LEGAL_STATUSES},
    "declarations": {"kind": vocab.DECLARATION_KINDS, "signatory_kind": vocab.SIGNATORY_KINDS,
                     "signatories_qualifier": vocab.COUNT_QUALIFIERS},
}
OPTIONAL = ("jurisdiction_level", "signatory_kind", "signatories_qualifier")
REQUIRED_BY_TABLE = {"legal_actions": ("kind", "status"), "declarations": ("kind",)}


class InvalidRecord(ValueError):
    """A record that cannot enter the evidence base; `field` and `value` say why."""

    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}={value!r}: {reason}")


def _text(record: dict, field: str) -> None:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(field, value, "is required and must be non-empty text")


def _number(record: dict, field: str, low: float, high: float) -> None:
    value = record.get(field)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Number) or not low <= value <= high:
        raise InvalidRecord(field, value, f"must be a number from {low} to {high}")


def validate(record: dict) -> dict:
    """Return the record unchanged, or raise InvalidRecord naming the first bad field."""
    table = record.get("table")
    if table not in vocab.EVENT_TABLES:
        raise InvalidRecord("table", table, f"must be one of {', '.join(vocab.EVENT_TABLES)}")
    for field in REQUIRED + REQUIRED_BY_TABLE.get(table, ()):
        _text(record, field)
    for field, allowed in VOCABULARIES[table].items():
        if record.get(field) not in allowed and not (field in OPTIONAL and record.get(field) is None):
            raise InvalidRecord(field, record.get(field), f"must be one of {', '.join(allowed)}")
    if record.get("verification") not in vocab.VERIFICATION:
        raise InvalidRecord("verification", record.get("verification"),
                            f"must be one of {', '.join(vocab.VERIFICATION)}")
    if record.get("date_basis") not in (None, *vocab.DATE_BASES):
        raise InvalidRecord("date_basis", record["date_basis"],
                            f"must be one of {', '.join(vocab.DATE_BASES)}")
    if record["verification"] == "partly" and not record.get("caveat"):
        raise InvalidRecord("caveat", None, "is required when verification is 'partly'")
    if record.get("id") is not None:
        try:
            check_curated_id(table, record["id"])
        except ValueError as error:
            raise InvalidRecord("id", record["id"], str(error)) from None
    _number(record, "latitude", -90, 90)
    _number(record, "longitude", -180, 180)
    _number(record, "days_detained", 0, 100_000)
    _number(record, "amount", 0, 1e13)
    if record.get("days_detained") is not None and not isinstance(record["days_detained"], int):
        raise InvalidRecord("days_detained", record["days_detained"], "must be a whole number")
    _validate_documents(record.get("documents"))
    return record


def _validate_documents(documents) -> None:
    if not isinstance(documents, list):
        raise InvalidRecord("documents", documents, "must be a list")
    for document in documents:
        url = document.get("url") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise InvalidRecord("documents.url", url, "must be text")
        if document.get("role", "coverage") not in vocab.CITATION_ROLES:
            raise InvalidRecord("documents.role", document.get("role"),
                                f"must be one of {', '.join(vocab.CITATION_ROLES)}")
