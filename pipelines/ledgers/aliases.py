"""Id aliases: every retired id, and the row it resolves to today.

Aliases come from four places: ids a source declares duplicates (AIID's duplicates.csv), ids retired
by a merge (pipelines/match/merge.py), the ids other names of an organisation would give (its other
spellings in data/curated/organisations.yml, a field's whole text), and data/aliases.csv
(`alias,id,reason,since`), where a maintainer points an id that changed for another reason (a
document whose URL was corrected, an event that moved to another table) to its new id.
data/aliases.csv wins over the others. An alias of an alias resolves to the end of the chain, and
every alias must end at a row or a tombstone, or the build stops and says which.
"""

import logging
from functools import lru_cache
from pathlib import Path

from pipelines.clean.identify import NAMES_CACHED, slug
from pipelines.clean.organisations import (
    ROLE_FIELDS,
    alias_ids,
    canonical_name,
    main_name,
    names_in,
    organisation_id,
)
from pipelines.clean.places import _key as name_key
from pipelines.ledgers.files import read_csv_ledger

logger = logging.getLogger(__name__)

FIELDS = ("alias", "id", "reason", "since")


class AliasError(ValueError):
    """An alias that points nowhere, in a circle, or away from a row that still exists."""


def read_aliases(path: Path | None) -> list[dict]:
    """The maintainers' aliases of data/aliases.csv (`alias,id,reason,since`)."""
    return [{k: v or None for k, v in row.items()} for _, row in read_csv_ledger(path, FIELDS, AliasError)]


@lru_cache(maxsize=NAMES_CACHED)  # a source repeats its organisations' texts on many rows
def whole_text_alias(text: str | None) -> tuple[str, str, str] | None:
    """(the id a field's whole text gives, the id of the organisation it names first, that name)
    where the two differ, else None."""
    first = main_name(text)
    if not first:
        return None
    whole, real = organisation_id(text), organisation_id(first)
    return (whole, real, first) if whole != real else None


def forget_names() -> None:
    """Empty the caches of parsed organisation names (NAMES_CACHED entries each) once a build has
    read every record: matching, which follows, needs the memory more."""
    for cached in (whole_text_alias, main_name, organisation_id, names_in, canonical_name, slug, name_key):
        cached.cache_clear()


class OrganisationAliases:
    """Ids other names of an organisation give → its id: each other spelling of a registered
    organisation, and the whole text of a field that names one first ("Jefferson Parish Sheriff's
    Office (warrant); held in the DeKalb County jail"), gathered record by record."""

    def __init__(self):
        self.found = {alias: (real, f"another name of {name} in data/curated/organisations.yml")
                      for alias, (real, name) in alias_ids().items()}

    def add(self, record: dict) -> None:
        for field in ROLE_FIELDS:
            alias = whole_text_alias(record.get(field))
            if alias and alias[0] not in self.found:
                whole, real, first = alias
                self.found[whole] = (real, f"the whole {field} text, which names {first} first")

    def rows(self, published: dict[str, str], build_day: str) -> list[dict]:
        """Each alias since the day it was first published, else this build's day."""
        return [{"alias": alias, "id": real, "reason": reason, "since": published.get(alias, build_day)}
                for alias, (real, reason) in sorted(self.found.items())]


def resolve(generated: list[dict], maintained: list[dict], rows: dict[str, str],
            tombstones: dict[str, str], strict: bool = True) -> list[dict]:
    """Final alias rows, sorted: each points to a row (or tombstone) and names its table.

    `rows` and `tombstones` map each id to its table. An alias that points nowhere stops the
    build when `strict` (the build knows every published id); otherwise (a build of part of the
    data, which may lack the row a maintainer's alias points to) it is left out with a warning.
    """
    by_alias = {}
    for alias in generated:
        if alias["alias"] not in rows:
            by_alias.setdefault(alias["alias"], alias)
    for alias in maintained:
        if alias["alias"] in rows:
            raise AliasError(f"data/aliases.csv: {alias['alias']} is an alias but still a row")
        by_alias[alias["alias"]] = alias
    resolved = []
    for name, alias in sorted(by_alias.items()):
        target, chain = alias["id"], [name]
        while target in by_alias:
            if target in chain:
                raise AliasError(f"aliases go round in a circle: {' → '.join([*chain, target])}")
            chain.append(target)
            target = by_alias[target]["id"]
        table = rows.get(target) or tombstones.get(target)
        if table is None:
            message = f"alias {name} points to {target}, which is no row and no tombstone"
            if strict:
                raise AliasError(message)
            logger.warning("%s: left out of this build", message)
            continue
        resolved.append({"alias": name, "id": target, "survivor_table": table,
                         "reason": alias.get("reason"), "since": alias.get("since")})
    return resolved
