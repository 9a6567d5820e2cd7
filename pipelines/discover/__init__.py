"""Discovery: documents the feeds and gdelt spiders found, turned into leads for people to review.

documents.py makes and reads the discovered documents (data/discovered/<spider>.jsonl); known.py
finds the events a document may already report; grouping.py groups documents about one new event;
leads.py is the build's step that writes the `leads` and `discovered_documents` tables; review.py
promotes a lead to a curated row or rejects it (data/leads_reviewed.csv). Nothing found here enters
the event tables until a person promotes it.
"""
