"""The events a discovered document may already report, in the database being built.

A document is a candidate citation of an event (listed for a person, never merged) when a row of
the event tables already cites its address (the same document id), or when the classifier gives it
the event's kind and country, a date close to the event's, and a place or organisation name the
event has too. Close: the document's own event date within DAYS_APART days of the event's; a
document that names no date counts from its publication, which may come up to REPORTED_WITHIN days
after the event (reports lag what they tell). Names are compared as matching compares them
(pipelines/match/similarity.py): places by their words, organisations by their canonical names.
"""

import sqlite3
from collections import defaultdict

from pipelines.match.similarity import folded, folded_texts, interval, organisation
from pipelines.vocab import EVENT_KINDS

KIND_TABLES = {kind: table for table, kind in EVENT_KINDS.items() if table != "declarations"}
NAME_COLUMNS = {"deployments": ("operator", "vendor"), "wrongful_arrests": ("agency", "vendor"),
                "legal_actions": ("target", "jurisdiction")}
DAYS_APART = 45
REPORTED_WITHIN = 365
SAME_NAME = 0.9


def precision_of(date_text: str | None) -> str | None:
    """The precision of an ISO date as the classifier writes it: 2019-08-27, 2019-08, 2019."""
    if not date_text:
        return None
    return {10: "day", 7: "month", 4: "year"}.get(len(date_text))


def close(document: dict, event_days) -> bool:
    """Whether a document's date fits an event's days (an interval); unknown dates fit."""
    if event_days is None:
        return True
    if document.get("date"):
        days = interval(document["date"], precision_of(document["date"]))
        gap = max((event_days[0] - days[1]).days, (days[0] - event_days[1]).days)
        return gap <= DAYS_APART
    if document.get("published"):
        day = interval(document["published"], "day")[0]
        return (event_days[0] - day).days <= DAYS_APART and (day - event_days[1]).days <= REPORTED_WITHIN
    return True


def shared_name(document: dict, place: str | None, organisations: tuple[str, ...]) -> str | None:
    """The place or organisation name a document shares with an event, if any."""
    mine = document.get("place")
    if mine and place and (folded_texts(folded(mine), folded(place)) or 0) >= SAME_NAME:
        return mine
    for name in (document.get("agency"), document.get("vendor")):
        if name and any((organisation(name, other) or 0) >= SAME_NAME for other in organisations if other):
            return name
    return None


class KnownEvents:
    """The event rows of the database being built, as discovery compares documents with them."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.events = defaultdict(list)  # (table, country) → [(id, days, place, organisation names)]
        for table, columns in NAME_COLUMNS.items():
            rows = conn.execute(f"select id, country, date, date_precision, place, {', '.join(columns)} "
                                f"from [{table}] where country is not null order by id")
            for event_id, country, date, precision, place, *names in rows:
                days = interval(date, precision) if date else None
                self.events[table, country].append((event_id, days, place, tuple(names)))

    def citing(self, document_id: str) -> tuple[str, str] | None:
        """(event id, table) of the first event that cites the document."""
        return self.conn.execute("select event_id, event_table from citations where document_id = ? "
                                 "order by event_id limit 1", (document_id,)).fetchone()

    def matching(self, document: dict) -> tuple[str, str, str] | None:
        """(event id, table, the name they share) of the first event the document's kind, country,
        date and a name fit."""
        table = KIND_TABLES.get(document.get("kind"))
        for event_id, days, place, names in self.events.get((table, document.get("country")), ()):
            if close(document, days) and (name := shared_name(document, place, names)):
                return event_id, table, name
        return None
