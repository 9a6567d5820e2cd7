"""Merging: the rows of one event become one row under its oldest id, and no source is lost.

The oldest id of a cluster survives. "Oldest" is decided by, in order: the day the id was first
published (data/published_ids.txt; for an id not yet registered, the day a scraped row was first
seen, else the build's day); then a curated id before a scraped one; then the lower id in natural
order (arrest-aiid-74 before arrest-aiid-440). Every other id of the cluster becomes an alias of
the survivor, saying what it matched, how (the score or the person's decision) and since when.

How fields combine: a person checked a curated row, so curated values come first; then the
survivor's; then the other rows', oldest first. Each field takes the first value that is not empty,
and fields that only make sense together (a date and its precision; a row's source, verification
and caveat) come together from the first row that has them. The location (country, region, place,
coordinates) comes whole from the first row that knows most of country, region and place. The merged row
cites every document any of its rows cited, names every organisation any of them named, lists
every vendor, keeps the earliest first_seen and latest last_seen, and is listed if any row is.
"""

import re

from pipelines.clean.identify import event_id
from pipelines.clean.organisations import named_organisations

CURATED = "curated"
EMPTY = (None, "", [])
LOCATION = ("country", "region", "region_code", "county", "place", "latitude", "longitude", "geo_precision")
PLACE_PARTS = ("country", "region", "place")
TOGETHER = (
    ("date", "date_precision"),
    ("end_date", "end_date_precision"),
    LOCATION,
    ("source", "source_id", "source_url", "verification", "caveat"),
)
COMBINED_OTHERWISE = {"id", "table", "vendors", "documents", "first_seen", "last_seen", "listed",
                      "merged_ids"}


def natural_key(record_id: str) -> tuple:
    """Ids in natural order: the digits of "arrest-aiid-74" compare as the number 74."""
    return tuple(int(part) if index % 2 else part
                 for index, part in enumerate(re.split(r"(\d+)", record_id)))


class Ages:
    """The day each id was first published, and the order of age it gives."""

    def __init__(self, registered: dict[str, str], build_day: str):
        self.registered = registered
        self.build_day = build_day

    def published(self, record: dict) -> str:
        return self.registered.get(record["id"]) or record.get("first_seen") or self.build_day

    def key(self, record: dict) -> tuple:
        return self.published(record), record["source"] != CURATED, natural_key(record["id"])


def _first(records: list[dict], field: str):
    return next((r[field] for r in records if r.get(field) not in EMPTY), None)


def combine(records: list[dict], survivor: dict) -> dict:
    """One record from the records of one event, listed oldest first; `survivor` gives id and table."""
    order = [r for r in records if r["source"] == CURATED]
    order += [survivor] if survivor not in order else []
    order += [r for r in records if r not in order]
    combined = {}
    for group in TOGETHER:
        giver = next((r for r in order if r.get(group[0]) not in EMPTY), order[0])
        if group is LOCATION:
            giver = max(order, key=lambda r: sum(r.get(f) not in EMPTY for f in PLACE_PARTS))
        combined.update({field: giver.get(field) for field in group})
    together = {field for group in TOGETHER for field in group}
    for field in dict.fromkeys(k for r in order for k in r):
        if field not in together and field not in COMBINED_OTHERWISE:
            combined[field] = _first(order, field)
    documents = {}
    for record in order:  # a document cited twice: each field's first value, and the first source citing it
        for document in record["documents"]:
            if document["id"] not in documents:
                documents[document["id"]] = {"source": document.get("source") or record["source"]}
            known = documents[document["id"]]
            known.update((k, v) for k, v in document.items() if known.get(k) in EMPTY)
    firsts = [r["first_seen"] for r in records if r.get("first_seen")]
    lasts = [r["last_seen"] for r in records if r.get("last_seen")]
    combined.update(
        id=survivor["id"], table=survivor["table"], documents=list(documents.values()),
        vendors=list(dict.fromkeys(v for r in order for v in r.get("vendors") or ())),
        first_seen=min(firsts) if firsts else None, last_seen=max(lasts) if lasts else None,
        listed=any(r.get("listed", True) for r in records), merged_ids=[],
        merged_organisations=[list(link) for link in dict.fromkeys(
            link for r in order for link in named_organisations(r))])
    return combined


def duplicate_aliases(record: dict, survivor: dict) -> list[dict]:
    """The ids a source itself declares duplicates of this record (AIID's duplicates.csv)."""
    return [{"alias": event_id(record["table"], record["source"], native), "id": survivor["id"],
             "survivor_table": survivor["table"],
             "reason": f"{record['source']} lists {native} as a duplicate of {record['source_id']}",
             "since": record.get("first_seen")}
            for native in record.get("merged_ids") or ()]


class Merger:
    """Merges each group of clusters under its oldest id, and says why each other id retired."""

    def __init__(self, clusters, ages: Ages):
        self.ages = ages
        self.first_join = {}
        for join in clusters.joins:
            self.first_join.setdefault(join[0], join)
            self.first_join.setdefault(join[1], join)

    def group(self, records: list[dict]) -> tuple[dict, list[dict], list[dict]]:
        """The merged record of one group's records, the aliases retired on the way, and the
        records, survivor first, then by age."""
        members = sorted(records, key=self.ages.key)
        survivor = members[0]
        by_id = {r["id"]: r for r in members}
        merged = combine(members, survivor) if len(members) > 1 else dict(survivor, merged_ids=[])
        aliases = [alias for member in members for alias in duplicate_aliases(member, survivor)]
        for member in members[1:]:
            left, right, how, when = self.first_join[member["id"]]
            other = right if left == member["id"] else left
            since = when or max(self.ages.published(member), self.ages.published(by_id[other]))
            aliases.append({"alias": member["id"], "id": survivor["id"],
                            "survivor_table": survivor["table"],
                            "reason": f"same event as {survivor['id']}: matched {other}, {how}",
                            "since": since})
        return merged, aliases, members
