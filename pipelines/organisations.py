"""Organisation names: one canonical name per vendor, police force or company.

`data/curated/organisations.yml` lists organisations with the other names sources use for them
("Dataworks", "dataworks-plus" → "DataWorks Plus"). Names not listed are kept as the source wrote
them, with whitespace tidied.
"""

from functools import cache
from pathlib import Path

import yaml

from pipelines.places import _key

ORGANISATIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "curated" / "organisations.yml"


@cache
def registry(path: Path = ORGANISATIONS_FILE) -> tuple[dict, ...]:
    if not path.exists():
        return ()
    return tuple(yaml.safe_load(path.read_text(encoding="utf-8")) or ())


@cache
def _aliases(path: Path = ORGANISATIONS_FILE) -> dict[str, str]:
    table = {}
    for org in registry(path):
        for name in [org["name"], *org.get("aliases", ())]:
            table[_key(name)] = org["name"]
    return table


def canonical_name(name: str) -> str:
    tidy = " ".join(name.split())
    return _aliases().get(_key(tidy), tidy)
