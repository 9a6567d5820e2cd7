"""One event, one row: the build's step from the sources' records to the published events.

Withdrawn rows are left out (pipelines/tombstones.py); the rest are matched
(pipelines/matching.py), clustered with people's decisions (pipelines/clusters.py) and each
cluster merged under its oldest id (pipelines/merge.py). The result also says which ids became
aliases, which rows are tombstones and which pairs wait for a person to decide.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.clusters import cluster, read_decisions
from pipelines.matching import Matcher
from pipelines.merge import Ages, duplicate_aliases, merge
from pipelines.organisations import canonicalise
from pipelines.tombstones import read_tombstones, withdraw


@dataclass
class Events:
    records: list[dict]
    members: dict[str, list[dict]]
    aliases: list[dict]
    tombstones: list[dict]
    candidates: list[dict]
    withdrawn: list[dict]


def repeating_sources(sources_file: Path) -> frozenset[str]:
    """The sources that may list one event as several rows (`repeats_events` in data/sources.yml)."""
    sources = yaml.safe_load(Path(sources_file).read_text(encoding="utf-8")) or []
    return frozenset(s["id"] for s in sources if s.get("repeats_events"))


def resolve_events(records: list[dict], decisions_file: Path | None, tombstones_file: Path | None,
                   sources_file: Path, registered: dict[str, tuple[str, str]], build_day: str) -> Events:
    """The published events from all records; `registered` is the published-id registry.

    Organisation names are made canonical again, so that a name added to
    data/curated/organisations.yml applies to snapshots scraped before."""
    records = [canonicalise(dict(r)) for r in records]
    kept, tombstones, tombstone_aliases, withdrawn = withdraw(
        records, read_tombstones(tombstones_file), {i: table for i, (table, _) in registered.items()})
    declared = {a["alias"]: record["id"] for record in kept for a in duplicate_aliases(record, record)}
    repeating = repeating_sources(sources_file)
    matches = Matcher(kept, repeating).matches()
    clusters, candidates = cluster(kept, matches, read_decisions(decisions_file), repeating, declared)
    ages = Ages({i: day for i, (_, day) in registered.items()}, build_day)
    merged, aliases, members = merge(kept, clusters, ages)
    return Events(merged, members, sorted(aliases + tombstone_aliases, key=lambda a: a["alias"]),
                  tombstones, candidates, withdrawn)

