"""Organisations: one canonical name, one stable id and one kind per vendor, police force or company.

`data/curated/organisations.yml` lists organisations with the other names sources use for them
("Dataworks", "dataworks-plus" → "DataWorks Plus"). Names not listed are kept as the source wrote
them, with whitespace tidied. An organisation's id is `org-<slug of its canonical name>` (or the
`id` its registry entry gives), so every spelling of one organisation gives the same id, and the id
each other spelling would have had becomes an alias of it. A field may name several organisations
and add notes: "Jefferson Parish Sheriff's Office (warrant); held in the DeKalb County jail" names
one, "Macy's; EssilorLuxottica" two. Each part between semicolons that starts with a capital letter
is an organisation (the first part always), without parentheses; the first is the one the field
is about.
"""

import re
from functools import cache, lru_cache
from pathlib import Path

import yaml

from pipelines.clean.identify import NAMES_CACHED, slug
from pipelines.clean.places import _key
from pipelines.vocab import ORGANISATION_KINDS

ROLE_FIELDS = {"operator": "operator", "agency": "agency", "target": "target"}
# lists of organisations and the role each name in them has
LIST_FIELDS = {"vendors": "vendor", "deployers": "deployer", "developers": "developer"}
ORGANISATIONS_FILE = Path(__file__).resolve().parents[2] / "data" / "curated" / "organisations.yml"
PARENTHESIS = re.compile(r"\s*\([^()]*(?:\)|$)")
KIND_PATTERNS = (
    ("court", re.compile(r"\bcourt\b|tribunal|\bvara\b|juzgado", re.I)),
    ("regulator", re.compile(r"data protection|commissioner|\bico\b|garante|\bcnil\b|autoriteit|"
                             r"trade commission|\bftc\b|regulator", re.I)),
    ("police", re.compile(r"polic|sheriff|constabulary|law enforcement|state patrol|highway patrol|"
                          r"trooper|gendarmerie|carabinieri|polizei|politie|border protection|customs|"
                          r"immigration|bureau of (?:criminal )?investigation|\bfbi\b|\bnypd\b|\bpd$",
                          re.I)),
    ("authority", re.compile(r"government|ministry|ministerio|council|municipal|city of|county of|"
                             r"state of|department of|school district|university|authority|"
                             r"administration|motor vehicle|\bagency\b|\bprefecture", re.I)),
)


@cache
def registry(path: Path = ORGANISATIONS_FILE) -> tuple[dict, ...]:
    if not path.exists():
        return ()
    organisations = tuple(yaml.safe_load(path.read_text(encoding="utf-8")) or ())
    for org in organisations:
        if org.get("kind") not in ORGANISATION_KINDS:
            raise ValueError(f"{path.name}: {org.get('name')}: kind={org.get('kind')!r} must be one "
                             f"of {', '.join(ORGANISATION_KINDS)}")
    return organisations


@cache
def _by_key(path: Path = ORGANISATIONS_FILE) -> dict[str, dict]:
    table = {}
    for org in registry(path):
        for name in [org["name"], *org.get("aliases", ())]:
            table[_key(name)] = org
    return table


@lru_cache(maxsize=NAMES_CACHED)  # names repeat on every row of a source
def canonical_name(name: str) -> str:
    tidy = " ".join(name.split())
    org = _by_key().get(_key(tidy))
    return org["name"] if org else tidy


def canonicalise(record: dict) -> dict:
    """Give the record's organisation fields and lists (vendors, deployers, developers) their
    canonical names, in place; a list the record does not have stays absent or None."""
    for field in ROLE_FIELDS:
        if record.get(field):
            record[field] = canonical_name(record[field])
    for field in LIST_FIELDS:
        if record.get(field) is not None:
            names = [canonical_name(v) for v in record[field] if v and v.strip()]
            record[field] = list(dict.fromkeys(names))
    return record


@lru_cache(maxsize=NAMES_CACHED)
def names_in(text: str | None) -> tuple[str, ...]:
    """The canonical names of the organisations a field names, in its order."""
    text = text or ""
    while PARENTHESIS.search(text):
        text = PARENTHESIS.sub("", text)
    names = []
    for number, part in enumerate(text.split(";")):
        name = part.strip(" ,.")
        if name and (number == 0 or not name[0].islower()):
            names.append(canonical_name(name))
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=NAMES_CACHED)
def main_name(text: str | None) -> str | None:
    """The organisation a field is about: the first it names ("Detroit PD (arrest); ..." → its name)."""
    names = names_in(text)
    return names[0] if names else None


@lru_cache(maxsize=NAMES_CACHED)
def organisation_id(name: str) -> str:
    """The stable id of an organisation, the same for every spelling the registry knows."""
    org = _by_key().get(_key(" ".join(name.split())))
    if org:
        return org.get("id") or f"org-{slug(org['name'])}"
    return f"org-{slug(name)}"


def organisation_kind(name: str, role: str) -> str:
    """The registry's kind, else one read from the name; a vendor named by no other pattern is a vendor."""
    org = _by_key().get(_key(" ".join(name.split())))
    if org:
        return org["kind"]
    for kind, pattern in KIND_PATTERNS:
        if pattern.search(name):
            return kind
    return "vendor" if role == "vendor" else "company"


def alias_ids() -> dict[str, tuple[str, str]]:
    """The id each other spelling of a registered organisation would have had → (its id, its name)."""
    aliases = {}
    for org in registry():
        real = organisation_id(org["name"])
        for name in org.get("aliases", ()):
            if f"org-{slug(name)}" != real:
                aliases[f"org-{slug(name)}"] = (real, org["name"])
    return dict(sorted(aliases.items()))


def named_organisations(record: dict) -> list[tuple[str, str]]:
    """The (name, role) of each organisation an event names: its operator, agency or target, its
    vendors, deployers and developers, and those of the rows merged into it."""
    named = [(name, role) for field, role in ROLE_FIELDS.items() for name in names_in(record.get(field))]
    named += [(name, role) for field, role in LIST_FIELDS.items() for name in record.get(field) or ()]
    named += [tuple(link) for link in record.get("merged_organisations") or ()]
    return [link for link in dict.fromkeys(named) if link[0]]
