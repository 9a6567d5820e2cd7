"""The classifier's lexicons: data/lexicons/*.yml read once and compiled into one pattern a concept.

A language file (en.yml, de.yml, ...) lists regular-expression fragments under concept keys
(`face_recognition`, `arrest`, `mistaken`, ...); every language's fragments for a concept join into
one pattern a language: the document's own language's and English's (summaries and quotations are
often English), or every language's for a document whose language is not known. `shared.yml` holds
names that are the same in every language: face recognition systems, vendors, agencies and
countries' own names.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

LEXICON_DIR = Path(__file__).resolve().parents[2] / "data" / "lexicons"
CONCEPTS = ("face_recognition", "face", "matching", "negation", "consumer", "arrest", "mistaken",
            "legal", "deployment", "other")


def _bounded(fragment: str) -> str:
    """A fragment that starts with a letter of a spaced script matches at a word's start only."""
    first = fragment.lstrip("\\(?:")[:1]
    spaced = first.isalpha() and not unicodedata.name(first, "").startswith("CJK")
    return rf"(?<!\w)(?:{fragment})" if spaced else f"(?:{fragment})"


def compile_fragments(fragments) -> re.Pattern:
    return re.compile("|".join(_bounded(fragment) for fragment in fragments), re.IGNORECASE)


@dataclass(frozen=True, eq=False)  # hashed by identity: its patterns are cached per language
class Lexicon:
    fragments: dict[str, dict[str, tuple[str, ...]]]  # language → concept → fragments
    systems: re.Pattern
    vendors: tuple[tuple[str, re.Pattern], ...]
    agencies: tuple[tuple[str, re.Pattern], ...]
    countries: tuple[tuple[str, re.Pattern], ...]

    def concepts(self, language: str | None) -> dict[str, re.Pattern]:
        """One pattern a concept for a document in `language` (with English), or in any language."""
        return _concepts(self, (language or "").split("-")[0].lower())


@cache
def _concepts(lexicon: Lexicon, language: str) -> dict[str, re.Pattern]:
    languages = [language, "en"] if language in lexicon.fragments else list(lexicon.fragments)
    tables = [lexicon.fragments[name] for name in languages]
    return {concept: compile_fragments(dict.fromkeys(
        entry for table in tables for entry in table.get(concept, ()))) for concept in CONCEPTS}


def _named(table: dict) -> tuple[tuple[str, re.Pattern], ...]:
    return tuple((name, compile_fragments(fragments)) for name, fragments in table.items())


@cache
def load(directory: Path = LEXICON_DIR) -> Lexicon:
    """Every language file in `directory`, and shared.yml."""
    fragments = {}
    for path in sorted(directory.glob("*.yml")):
        if path.stem == "shared":
            continue
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if unknown := set(table) - set(CONCEPTS):
            raise ValueError(f"{path.name}: unknown concepts {sorted(unknown)}, known: {', '.join(CONCEPTS)}")
        fragments[path.stem] = {concept: tuple(entries) for concept, entries in table.items()}
    shared = yaml.safe_load((directory / "shared.yml").read_text(encoding="utf-8"))
    return Lexicon(fragments=fragments, systems=compile_fragments(shared["systems"]),
                   vendors=_named(shared["vendors"]),
                   agencies=_named(shared["agencies"]), countries=_named(shared["countries"]))
