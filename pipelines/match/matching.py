"""Matching: which rows describe the same event, within one source and across sources.

Rows are compared only when they share a blocking key: country and year, the organisation that
acted (agency, operator, target), the person's last name, or a document only the two of them cite.
A pair is scored on normalised fields (pipelines/match/similarity.py) with the weights of its table: the
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
from functools import cached_property, partial
from itertools import chain, combinations, product
from typing import NamedTuple

from pipelines.match import similarity

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

    @cached_property
    def comparisons(self) -> tuple[tuple[str, int, object], ...]:
        """(field, its place in Prepared, comparator of two prepared values) for each weighted field,
        the subject fields first, in order: a pair whose subject disagrees is refused before the rest
        is compared."""
        order = [*self.subject, *(name for name in self.weights if name not in self.subject)]
        dates = partial(similarity.dates, same_within=self.same_within, different_after=self.different_after)
        return tuple((name, Prepared._fields.index(name), dates if name == "date" else COMPARATORS[name])
                     for name in order)


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


def _place(a: tuple, b: tuple) -> float | None:
    values = [v for v in (similarity.equal(a[0], b[0]), similarity.folded_texts(a[1], b[1])) if v is not None]
    return sum(values) / len(values) if values else None


def _documents(a: frozenset[str], b: frozenset[str]) -> float | None:
    return 1.0 if a & b else None


COMPARATORS = {"person": similarity.names, **dict.fromkeys(ORGANISATION_FIELDS, similarity.organisations),
               "jurisdiction": similarity.folded_texts, "kind": _kind_similarity,
               "vendors": similarity.id_sets, "place": _place, "document": _documents}


class Prepared(NamedTuple):
    """What a pair's comparators take of a record, each value prepared once (match/similarity.py)."""

    table: str
    country: str | None
    region_code: str | None
    person: tuple[str, ...]
    agency: tuple[str, str] | None
    operator: tuple[str, str] | None
    target: tuple[str, str] | None
    jurisdiction: str | None
    kind: str | None
    vendors: frozenset[str]
    date: tuple | None
    place: tuple[str | None, str | None]
    document: frozenset[str]  # those only this record and one other cite


def prepared(record: dict, documents: frozenset[str]) -> Prepared:
    get = record.get
    return Prepared(record["table"], get("country"), get("region_code"),
                    similarity.person_names(get("person")),
                    *(similarity.organisation_name(get(name)) for name in ORGANISATION_FIELDS),
                    similarity.folded(get("jurisdiction")), get("kind"),
                    similarity.organisation_ids(tuple(get("vendors") or ())),
                    similarity.interval(get("date"), get("date_precision")),
                    (get("region_code"), similarity.folded(get("place"))), documents)


def block_keys(record: dict):
    """The blocking keys of a record: rows are compared only when they share one."""
    table = record["table"]
    if record.get("country") and record.get("date"):
        yield table, "when", record["country"], record["date"][:4]
    for field_name in ORGANISATION_FIELDS:
        organisation = similarity.organisation_name(record.get(field_name))
        if organisation:
            yield table, "organisation", organisation[0]
    names = similarity.person_names(record.get("person"))
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
    from all records, and `records` as a stream of the rows of useful blocks, each read once and
    only its prepared values kept."""

    def __init__(self, records, repeating_sources: frozenset[str] = frozenset(),
                 shared: dict[str, set[str]] | None = None, blocks: dict[tuple, set[str]] | None = None):
        if shared is None or blocks is None:
            records = list(records)  # read more than once below
        self.repeating_sources = repeating_sources
        if shared is None:
            citing = defaultdict(set)
            for record in records:
                for document in record["documents"]:
                    citing[document["id"]].add(record["id"])
            shared = {d: ids for d, ids in citing.items() if len(ids) == 2}
        self.shared = shared
        own_documents = defaultdict(set)
        for document, ids in self.shared.items():
            for record_id in ids:
                own_documents[record_id].add(document)
        own = {record_id: frozenset(documents) for record_id, documents in own_documents.items()}
        none = frozenset()
        self.sources, self.prepared = {}, {}
        for record in records:
            self.sources[record["id"]] = record["source"]
            self.prepared[record["id"]] = prepared(record, own.get(record["id"], none))
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
        return self.sources[record_id]

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
        left, right = self.prepared[left_id], self.prepared[right_id]
        same_table = left.table == right.table
        rule = RULES[left.table] if same_table else ACROSS_TABLES
        if left.country and right.country and left.country != right.country:
            return None
        if rule.same_region and left.region_code and right.region_code \
                and left.region_code != right.region_code:
            return None
        values, subject = {}, None
        for name, at, compare in rule.comparisons:
            value = compare(left[at], right[at])
            if value is None:
                continue
            value = values[name] = round(value, 3)
            if subject is None and name in rule.subject:
                subject = name
                if value < SUBJECT_AGREES.get(name, SUBJECT_AGREES_OTHERWISE):
                    return None
        if values.get("kind") == 0.0:
            return None
        if subject is None and "document" not in values:
            return None
        fields = {name: values[name] for name in rule.weights if name in values}
        total = sum(rule.weights[name] for name in fields)
        score = sum(rule.weights[name] * value for name, value in fields.items()) / total
        return Match(left_id, right_id, round(score, 3), fields, subject is not None, same_table)

    def matches(self) -> list[Match]:
        """Every scored pair at REVIEW or above, best first (ties by ids)."""
        found = [m for m in (self.score(*pair) for pair in self._pairs()) if m and m.score >= REVIEW]
        return sorted(found, key=lambda m: (-m.score, m.left, m.right))
