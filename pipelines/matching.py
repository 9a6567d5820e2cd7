"""Matching: which rows describe the same event, within one source and across sources.

Rows are compared only when they share a blocking key: country and year, the organisation that
acted (agency, operator, target), the person's last name, or a document only the two of them cite.
A pair is scored on normalised fields (pipelines/similarity.py) with the weights of its table: the
weighted mean of the fields both rows know. A pair is refused outright when the two rows are in
different countries, when the field that names the event's subject (the person arrested, the
operator, the target or jurisdiction) is known on both sides and disagrees, when a deployment is in
two different regions, or when two legal actions are of unrelated kinds.

A pair scoring AUTO_MERGE or more, with its subject compared, is the same event; a pair from REVIEW
up is left to a person (table `match_candidates`, decided in data/decisions.csv). Two rows of one
source are paired only if that source may list one event twice (`repeats_events` in
data/sources.yml: the AIID does; the Atlas lists each agency's programme once, and a curator gives
two rows two ids on purpose). A pair whose subject one side leaves unknown needs a document only the
two of them cite. Rows of different tables are paired only through such a document, for review.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain, combinations, product

from pipelines import similarity
from pipelines.organisations import main_name, organisation_id

AUTO_MERGE = 0.85
# A blocking key shared by more rows than this (one country and year, at scale) says nothing about
# which of them match; their real pairs come from the other keys, and its pairs would be quadratic.
MAX_BLOCK = 500
REVIEW = 0.6
# How alike the subject must be: spellings of a name vary ("Randal", "Randall"); an organisation's
# name is canonical or another organisation ("Hillsborough" and "Highlands County Sheriff's Office").
SUBJECT_AGREES = {"person": 0.8}
SUBJECT_AGREES_OTHERWISE = 0.9
KIND_FAMILIES = (
    {"fine", "regulator_decision"},
    {"court_ruling"},
    {"lawsuit", "complaint", "settlement"},
    {"ban", "moratorium", "restriction", "law", "bill", "resolution", "policy"},
    {"company_moratorium"},
    {"petition"},
    {"hearing"},
)


@dataclass(frozen=True)
class Rule:
    """How one table's rows are compared: the subject fields, in order, and each field's weight."""

    subject: tuple[str, ...]
    weights: dict[str, float]
    same_within: int
    different_after: int
    same_region: bool = False


RULES = {
    "wrongful_arrests": Rule(("person",), {"person": 5, "date": 2, "agency": 1, "place": 1,
                                           "vendors": 0.5, "document": 2}, 31, 365),
    "deployments": Rule(("operator",), {"operator": 4, "date": 3, "place": 2, "vendors": 1,
                                        "document": 2}, 31, 365, same_region=True),
    "legal_actions": Rule(("target", "jurisdiction"), {"target": 3, "jurisdiction": 2, "kind": 2,
                                                        "date": 3, "place": 1, "document": 2},
                          31, 365),
}
ACROSS_TABLES = Rule((), {"date": 3, "place": 1, "document": 2}, 31, 365)
ORGANISATION_FIELDS = ("agency", "operator", "target")


@dataclass
class Match:
    """Two rows compared: the score and the similarity of each field both rows know."""

    left: str
    right: str
    score: float
    fields: dict[str, float] = field(default_factory=dict)
    subject_compared: bool = False
    same_table: bool = True

    @property
    def automatic(self) -> bool:
        return self.same_table and self.subject_compared and self.score >= AUTO_MERGE


def _kind_similarity(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    if a == b:
        return 1.0
    return 0.5 if any(a in family and b in family for family in KIND_FAMILIES) else 0.0


def block_keys(record: dict):
    """The blocking keys of a record: rows are compared only when they share one."""
    table = record["table"]
    if record.get("country") and record.get("date"):
        yield table, "when", record["country"], record["date"][:4]
    for field_name in ORGANISATION_FIELDS:
        name = main_name(record.get(field_name))
        if name:
            yield table, "organisation", organisation_id(name)
    names = [w for w in similarity.words(record.get("person")) if w not in similarity.NAME_SUFFIXES]
    if names:
        yield table, "person", names[-1]


def document_key(document_id: str) -> tuple:
    """The blocking key of a document only two rows cite."""
    return "*", "document", document_id


def useful(ids, source_of, repeating_sources: frozenset[str]) -> bool:
    """Whether a block of these ids can give a pair: at most MAX_BLOCK of them, and two sources
    or a source that repeats events."""
    if not 1 < len(ids) <= MAX_BLOCK:
        return False
    sources = {source_of(i) for i in ids}
    return len(sources) > 1 or bool(sources & repeating_sources)


class Matcher:
    """Scores the candidate pairs among a set of records.

    `shared` maps each document only two rows cite to their ids; `blocks` maps each blocking key
    to the ids that have it. Both are worked out from `records` unless given: the build gives them
    from all records and `records` holds only the rows of useful blocks."""

    def __init__(self, records: list[dict], repeating_sources: frozenset[str] = frozenset(),
                 shared: dict[str, set[str]] | None = None, blocks: dict[tuple, set[str]] | None = None):
        self.records = {r["id"]: r for r in records}
        self.repeating_sources = repeating_sources
        self.intervals = {r["id"]: similarity.interval(r.get("date"), r.get("date_precision"))
                          for r in records}
        if shared is None:
            citing = defaultdict(set)
            for record in records:
                for document in record["documents"]:
                    citing[document["id"]].add(record["id"])
            shared = {d: ids for d, ids in citing.items() if len(ids) == 2}
        self.shared = shared
        self.own_documents = defaultdict(set)
        for document, ids in self.shared.items():
            for record_id in ids:
                self.own_documents[record_id].add(document)
        if blocks is None:
            blocks = defaultdict(set)
            for record in records:
                for key in block_keys(record):
                    blocks[key].add(record["id"])
            for document, ids in self.shared.items():
                blocks[document_key(document)] |= ids
        self.blocks = {key: ids for key, ids in blocks.items()
                       if useful(ids, self._source, repeating_sources)}
        self.keys = defaultdict(set)
        for key, ids in self.blocks.items():
            for record_id in ids:
                self.keys[record_id].add(key)

    def _source(self, record_id: str) -> str:
        return self.records[record_id]["source"]

    def _pairs(self):
        """Every pair of ids that share a useful block, once (in the first block they share), but
        for two rows of a source that does not repeat events."""
        for key, ids in self.blocks.items():
            by_source = defaultdict(list)
            for record_id in sorted(ids):
                by_source[self._source(record_id)].append(record_id)
            groups = sorted(by_source.items())
            for index, (source, members) in enumerate(groups):
                found = combinations(members, 2) if source in self.repeating_sources else ()
                found = chain(found, *(product(members, others) for _, others in groups[index + 1:]))
                for left, right in found:
                    if min(self.keys[left] & self.keys[right]) == key:
                        yield min(left, right), max(left, right)

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair of ids that share a blocking key, sorted, but for two rows of a source that
        does not repeat events."""
        return sorted(self._pairs())

    def score(self, left_id: str, right_id: str) -> Match | None:
        """The match of two rows, or None when a rule refuses the pair outright."""
        left, right = self.records[left_id], self.records[right_id]
        same_table = left["table"] == right["table"]
        rule = RULES[left["table"]] if same_table else ACROSS_TABLES
        if left.get("country") and right.get("country") and left["country"] != right["country"]:
            return None
        if rule.same_region and left.get("region_code") and right.get("region_code") \
                and left["region_code"] != right["region_code"]:
            return None
        fields = {}
        for name in rule.weights:
            value = self._compare(name, left, right, rule)
            if value is not None:
                fields[name] = round(value, 3)
        if fields.get("kind") == 0.0:
            return None
        subject = next((name for name in rule.subject if name in fields), None)
        if subject and fields[subject] < SUBJECT_AGREES.get(subject, SUBJECT_AGREES_OTHERWISE):
            return None
        if subject is None and "document" not in fields:
            return None
        total = sum(rule.weights[name] for name in fields)
        score = sum(rule.weights[name] * value for name, value in fields.items()) / total
        return Match(left_id, right_id, round(score, 3), fields, subject is not None, same_table)

    def _compare(self, name: str, left: dict, right: dict, rule: Rule) -> float | None:
        if name == "person":
            return similarity.person(left.get("person"), right.get("person"))
        if name in ORGANISATION_FIELDS:
            return similarity.organisation(left.get(name), right.get(name))
        if name == "jurisdiction":
            return similarity.text(left.get("jurisdiction"), right.get("jurisdiction"))
        if name == "kind":
            return _kind_similarity(left.get("kind"), right.get("kind"))
        if name == "vendors":
            return similarity.organisation_sets(left.get("vendors"), right.get("vendors"))
        if name == "date":
            return similarity.dates(self.intervals[left["id"]], self.intervals[right["id"]],
                                    rule.same_within, rule.different_after)
        if name == "place":
            return self._place(left, right)
        if name == "document":
            shared = self.own_documents[left["id"]] & self.own_documents[right["id"]]
            return 1.0 if shared else None
        raise ValueError(f"no comparator for field {name!r}")

    @staticmethod
    def _place(left: dict, right: dict) -> float | None:
        values = [v for v in (similarity.equal(left.get("region_code"), right.get("region_code")),
                              similarity.text(left.get("place"), right.get("place"))) if v is not None]
        return sum(values) / len(values) if values else None

    def matches(self) -> list[Match]:
        """Every scored pair at REVIEW or above, best first (ties by ids)."""
        found = [m for m in (self.score(*pair) for pair in self._pairs()) if m and m.score >= REVIEW]
        return sorted(found, key=lambda m: (-m.score, m.left, m.right))
