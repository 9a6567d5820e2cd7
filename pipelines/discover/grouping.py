"""Documents about one new event grouped into one lead, across outlets and languages.

Two documents report one event when the classifier gives them the same kind and the same country,
their dates (each document's own event date, else its publication day) are at most DAYS_APART days
apart, and they share a place, agency or vendor name (compared as in known.py). The classifier gives
place names in English (GeoNames') and agencies and vendors by their canonical names, so a German
and a Portuguese report of one event share them. Grouping is transitive, like the OECD AI Incidents
Monitor's clusters of articles: A with B and B with C make one lead of three. Documents are taken
in the order they were found (first_seen, then published, then id), so a lead's first document,
whose id its own id is made from (`lead-<the document id's hash>`), stays first as others join.
"""

from collections import defaultdict

from pipelines.discover.known import precision_of, shared_name
from pipelines.match.similarity import interval

DAYS_APART = 30


def found_order(document: dict) -> tuple:
    return document.get("first_seen") or "", document.get("published") or "", document["id"]


def lead_id(document_id: str) -> str:
    return "lead-" + document_id.removeprefix("doc-")


def day_of(document: dict):
    date = document.get("date") or document.get("published")
    return interval(date, precision_of(date))[0] if date else None


def same_event(a: dict, b: dict) -> str | None:
    """The name two documents share when they report one event, else None."""
    if not a.get("country") or a.get("country") != b.get("country") or a.get("kind") != b.get("kind"):
        return None
    first, second = day_of(a), day_of(b)
    if first and second and abs((first - second).days) > DAYS_APART:
        return None
    return shared_name(a, b.get("place"), (b.get("agency"), b.get("vendor")))


def group(documents: list[dict]) -> list[list[dict]]:
    """The documents in groups of one event each, every group in found order, groups in the order of
    their first document."""
    ordered = sorted(documents, key=found_order)
    parent = list(range(len(ordered)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    blocks = defaultdict(list)  # only documents of one kind and country can report one event
    for index, document in enumerate(ordered):
        blocks[document.get("kind"), document.get("country")].append(index)
    for members in blocks.values():
        for position, i in enumerate(members):
            for j in members[position + 1:]:
                if same_event(ordered[i], ordered[j]):
                    low, high = sorted((root(i), root(j)))
                    parent[high] = low
    groups: dict[int, list[dict]] = {}
    for index, document in enumerate(ordered):
        groups.setdefault(root(index), []).append(document)
    return [groups[key] for key in sorted(groups)]
