"""The build's discovery step: every discovered document judged, and the leads a person reviews.

After the event rows are written, each discovered document (data/discovered/*.jsonl) goes, in this
order:
1. to the lead a person reviewed it in (data/leads_reviewed.csv), which keeps its status;
2. to a candidate citation of an event that already cites its address (pipelines/discover/known.py);
3. out, when the classifier (pipelines/classify, on its title and summary in its language) finds it
   is not about face recognition, or about it but reporting no event (a study, an explainer);
4. to a candidate citation of an event of its kind and country, close in date, that shares a name;
5. else to a lead of a new event, with the other documents about that event (grouping.py).
Candidate citations of one event make one lead, which names the event. The `leads` table holds
every lead (status open, promoted or rejected, and why); `discovered_documents` every document with
the classifier's verdict, its lead or the reason it was left out, so what was dropped is counted and
can be read. Nothing here enters the event tables: a person promotes a lead (review.py).
"""

import json
from collections import Counter, defaultdict
from pathlib import Path

import sqlite_utils

from pipelines.classify import classify
from pipelines.discover.documents import read_discovered
from pipelines.discover.grouping import found_order, group, lead_id
from pipelines.discover.known import KnownEvents
from pipelines.discover.review import read_reviewed
from pipelines.vocab import EVENT_KINDS

NOT_FRT = "not about face recognition"
NO_EVENT = "reports no event (a study, an explainer or an opinion)"
VERDICT = ("frt", "kind", "confidence", "country", "place", "agency", "vendor", "date")
NAMED = ("country", "place", "agency", "vendor")


def judged(document: dict) -> dict:
    """The document with the classifier's verdict; names are looked for only in one that may report
    an event (finding them costs most of the time)."""
    text = {"id": document["id"], "title": document["title"], "text": document.get("summary") or "",
            "language": document.get("language")}
    verdict = classify(text, names=False)
    if verdict["frt"] and verdict["kind"] != "other":
        verdict = classify(text)
    return {**document, **{key: verdict[key] for key in VERDICT}}


def lead_row(documents: list[dict], **fields) -> dict:
    """A lead of documents in found order: the first document's id and title, the first name any of
    them gives, the earliest date, the highest confidence."""
    first = documents[0] if documents else {}
    dates = [d.get("date") or d.get("published") for d in documents if d.get("date") or d.get("published")]
    confidences = [d["confidence"] for d in documents if d.get("confidence") is not None]
    row = {"id": lead_id(first["id"]) if first else None, "kind": first.get("kind"),
           "confidence": max(confidences, default=None),
           **{name: next((d[name] for d in documents if d.get(name)), None) for name in NAMED},
           "date": min(dates, default=None), "title": first.get("title"),
           "documents": json.dumps([{"id": d["id"], "url": d["url"]} for d in documents], ensure_ascii=False),
           "status": "open", "reason": None, "event_id": None, "event_table": None,
           "first_seen": min((d["first_seen"] for d in documents if d.get("first_seen")), default=None)}
    return {**row, **fields}


class Leads:
    """The leads and the judged documents of one build."""

    def __init__(self, known: KnownEvents, reviewed: dict[str, dict]):
        self.known, self.reviewed = known, reviewed
        self.reviewed_in = {doc: lead for lead, row in reviewed.items() for doc in row["documents"]}
        self.documents: list[dict] = []
        self.counts = Counter()

    def sort(self, documents: list[dict]) -> list[dict]:
        """The leads of these documents (each of which gets its `lead_id` or `reason`)."""
        in_review, cited, new = defaultdict(list), defaultdict(list), []
        for document in map(judged, documents):
            self.documents.append(document)
            if lead := self.reviewed_in.get(document["id"]):
                in_review[lead].append(document)
            elif event := self.known.citing(document["id"]):
                cited[tuple(event)].append((document, f"already cited by {event[0]}"))
            elif not document["frt"]:
                document["reason"] = NOT_FRT
            elif document["kind"] == "other":
                document["reason"] = NO_EVENT
            elif event := self.known.matching(document):
                cited[event[:2]].append((document, f"same kind and country, a close date and {event[2]}"))
            else:
                new.append(document)
        leads = [self.reviewed_lead(lead, in_review[lead]) for lead in self.reviewed]
        leads += [self.candidate_lead(event, found) for event, found in cited.items()]
        leads += [self.new_lead(documents_of_one) for documents_of_one in group(new)]
        for document in self.documents:
            self.counts[document.get("reason") or "in a lead"] += 1
        return sorted(leads, key=lambda lead: lead["id"])

    def _claim(self, lead: dict, documents: list[dict]) -> dict:
        for document in documents:
            document["lead_id"] = lead["id"]
        return lead

    def reviewed_lead(self, lead: str, documents: list[dict]) -> dict:
        review = self.reviewed[lead]
        documents = sorted(documents, key=found_order)
        return self._claim(lead_row(documents, id=lead, status=review["status"], reason=review["reason"],
                                    event_id=review["entry"] or None), documents)

    def candidate_lead(self, event: tuple[str, str], found: list[tuple[dict, str]]) -> dict:
        found = sorted(found, key=lambda pair: found_order(pair[0]))
        documents = [document for document, _ in found]
        why = "; ".join(sorted({reason for _, reason in found}))
        lead = lead_row(documents, kind=EVENT_KINDS[event[1]], event_id=event[0], event_table=event[1],
                        reason=f"may report {event[1]} {event[0]}: {why}")
        return self._claim(lead, documents)

    def new_lead(self, documents: list[dict]) -> dict:
        reason = ("one document" if len(documents) == 1 else f"{len(documents)} documents of one event: "
                  "the same kind and country, close dates, a shared name")
        return self._claim(lead_row(documents, reason=reason), documents)


def document_row(document: dict) -> dict:
    return {**{key: document.get(key) for key in ("id", "url", "title", "publisher", "published", "language",
                                                   "spider", "first_seen", "frt", "kind", "confidence")},
            "queries": json.dumps(document.get("queries") or [], ensure_ascii=False),
            "lead_id": document.get("lead_id"), "reason": document.get("reason")}


def insert_leads(db: sqlite_utils.Database, discovered_dir: Path | None,
                 reviewed_file: Path | None) -> Counter:
    """Fill `leads` and `discovered_documents`; how many documents went where."""
    documents = read_discovered(discovered_dir) if discovered_dir and Path(discovered_dir).exists() else []
    sorting = Leads(KnownEvents(db.conn), read_reviewed(reviewed_file))
    leads = sorting.sort(documents)
    db["leads"].insert_all(leads)
    db["discovered_documents"].insert_all(sorted(map(document_row, sorting.documents), key=lambda r: r["id"]))
    return sorting.counts + Counter({"leads": len(leads)})
