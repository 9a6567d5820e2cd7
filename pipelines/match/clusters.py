"""Clusters: which rows are one event, from people's decisions first and the scores after.

data/decisions.csv records what a person decided about a pair of rows:
`left_id,right_id,decision,who,when`, the decision being `same` or `different`. A decision always
wins over the score: `same` joins the two rows (even rows of two tables, or two curated rows),
`different` keeps them apart whatever their score. Then the automatic matches
(pipelines/match/matching.py) join rows, best score first, unless the join would put in one cluster two
rows a person called different, or two rows of a source that does not repeat events (the Atlas
row of an agency's second programme, a second curated row). A refused join, and every match in the
review band, becomes a row of `match_candidates` for a person to decide.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines.ledgers.files import ISO_DAY, read_csv_ledger
from pipelines.match.matching import Match
from pipelines.vocab import MATCH_DECISIONS

FIELDS = ("left_id", "right_id", "decision", "who", "when")
logger = logging.getLogger(__name__)


class DecisionError(ValueError):
    """A decisions.csv line that cannot be applied, or decisions that contradict each other."""


@dataclass(frozen=True)
class Decision:
    left_id: str
    right_id: str
    decision: str
    who: str
    when: str

    def describe(self) -> str:
        return f"decided {self.decision} by {self.who} on {self.when}"


def read_decisions(path: Path | None) -> list[Decision]:
    """The decisions of data/decisions.csv; a line that breaks a rule is named with the rule."""
    decisions = []
    for number, values in read_csv_ledger(path, FIELDS, DecisionError):
        where = f"{Path(path).name} line {number}"
        if values["decision"] not in MATCH_DECISIONS:
            raise DecisionError(f"{where}: decision={values['decision']!r} must be same or different")
        if not values["who"] or not ISO_DAY.match(values["when"]):
            raise DecisionError(f"{where}: who must name a person and when be YYYY-MM-DD")
        if not values["left_id"] or values["left_id"] == values["right_id"]:
            raise DecisionError(f"{where}: a decision needs two different ids")
        decisions.append(Decision(**values))
    return decisions


class Clusters:
    """Union-find over row ids that remembers, for each join, the pair and how it was decided.

    `records` maps each id to its record (or to a mapping with its "table" and "source"); only the
    ids that were joined take memory here."""

    def __init__(self, records, repeating_sources: frozenset[str]):
        self.records = records
        self.repeating_sources = repeating_sources
        self.parent: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}
        self.sources: dict[str, set[str]] = {}
        self.joins: list[tuple[str, str, str, str | None]] = []
        self.apart: set[frozenset[str]] = set()

    def find(self, record_id: str) -> str:
        parent = self.parent
        while parent.get(record_id, record_id) != record_id:
            parent[record_id] = parent.get(parent[record_id], parent[record_id])
            record_id = parent[record_id]
        return record_id

    def _members(self, root: str) -> set[str]:
        return self.members.get(root) or {root}

    def _sources(self, root: str) -> set[str]:
        return self.sources.get(root) or {self.records[root]["source"]}

    def refusal(self, left: str, right: str) -> str | None:
        """Why left's and right's clusters may not be joined automatically, or None."""
        root_left, root_right = self.find(left), self.find(right)
        first, second = self._members(root_left), self._members(root_right)
        for a, b in sorted(tuple(sorted(pair)) for pair in self.apart):
            if (a in first and b in second) or (b in first and a in second):
                return f"{a} and {b} were decided different"
        both = self._sources(root_left) & self._sources(root_right) - self.repeating_sources
        return f"would put two {min(both)} rows in one event" if both else None

    def join(self, left: str, right: str, how: str, when: str | None = None) -> None:
        """Join two rows' clusters; `how` says why, `when` is the day a person decided it."""
        root_left, root_right = self.find(left), self.find(right)
        if root_left == root_right:
            return
        root, other = sorted((root_left, root_right))
        self.parent[other] = root
        self.members[root] = self._members(root) | self._members(other)
        self.sources[root] = self._sources(root) | self._sources(other)
        self.members.pop(other, None)
        self.sources.pop(other, None)
        self.joins.append((left, right, how, when))

    def joined(self) -> list[list[str]]:
        """The groups of more than one row, each sorted, in order."""
        return sorted(sorted(members) for members in self.members.values())


def _describe(match: Match) -> str:
    fields = ", ".join(f"{name} {value:.2f}" for name, value in match.fields.items())
    return f"score {match.score:.2f} ({fields})"


def cluster(records: list[dict] | Mapping, matches: list[Match], decisions: list[Decision],
            repeating_sources: frozenset[str], aliases: dict[str, str]):
    """Return the Clusters and the rows of `match_candidates`.

    `records` is a list of records or a mapping of id → record. `aliases` maps ids a source
    retired (its declared duplicates) to the ids they became, so that a decision may name either.
    A decision naming an id of no row is skipped with a warning: its row may be withdrawn (a
    tombstone) or absent from a partial build.
    """
    by_id = records if isinstance(records, Mapping) else {r["id"]: r for r in records}
    clusters = Clusters(by_id, repeating_sources)
    decided = set()
    known = []
    for decision in decisions:
        left = aliases.get(decision.left_id, decision.left_id)
        right = aliases.get(decision.right_id, decision.right_id)
        if left not in by_id or right not in by_id:
            logger.warning("decision on %s and %s skipped: no row has %s", decision.left_id,
                           decision.right_id, left if left not in by_id else right)
            continue
        decided.add(frozenset((left, right)))
        known.append((left, right, decision))
        if decision.decision == "different":
            clusters.apart.add(frozenset((left, right)))
    for left, right, decision in known:
        if decision.decision == "same":
            clusters.join(left, right, decision.describe(), decision.when)
    for pair in clusters.apart:
        a, b = sorted(pair)
        if clusters.find(a) == clusters.find(b):
            raise DecisionError(f"decisions contradict each other: {a} and {b} are decided different "
                                "but 'same' decisions join them")
    refused = {}
    for match in matches:
        pair = frozenset((match.left, match.right))
        if pair in decided or not match.automatic:
            continue
        reason = clusters.refusal(match.left, match.right)
        if reason:
            refused[pair] = reason
        else:
            clusters.join(match.left, match.right, _describe(match))
    candidates = []
    for match in matches:
        pair = frozenset((match.left, match.right))
        if pair in decided or clusters.find(match.left) == clusters.find(match.right):
            continue
        note = refused.get(pair) or ("rows of two tables" if not match.same_table else
                                     "the subject is unknown on one side" if not match.subject_compared
                                     else "score in the review band")
        candidates.append({"left_id": match.left, "right_id": match.right,
                           "left_table": by_id[match.left]["table"],
                           "right_table": by_id[match.right]["table"], "score": match.score,
                           "fields": json.dumps(match.fields, sort_keys=True), "note": note})
    return clusters, candidates
