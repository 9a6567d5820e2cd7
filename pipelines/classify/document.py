"""One document classified: the judgement of rules.py and the names extract.py finds, as one record.

A document is a mapping with `title`, `text` and, optionally, `id` and `language` (an ISO 639-1
code, used to read dates). The answer is the record the command line writes: `id`, `frt`, `kind`,
`confidence`, `country`, `place`, `agency`, `vendor`, `date`. Names are looked for in documents about
face recognition only; the others get none.
"""

from pipelines.classify import extract
from pipelines.classify.lexicon import load
from pipelines.classify.rules import judge


def classify(document: dict, names: bool = True) -> dict:
    """The classifier's record for a document; `names=False` skips the (slower) name finding."""
    lexicon = load()
    title, text = document.get("title") or "", document.get("text") or ""
    judgement = judge(title, text, lexicon, document.get("language"))
    record = {"id": document.get("id"), "frt": judgement.frt, "kind": judgement.kind,
              "confidence": judgement.confidence, "country": None, "place": None, "agency": None,
              "vendor": None, "date": None}
    if names and judgement.frt:
        whole = f"{title}\n{text}"
        place = extract.find_place(whole)
        record.update(country=extract.find_country(title, text, lexicon, place),
                      place=place[0] if place else None,
                      agency=extract.find_agency(whole, lexicon),
                      vendor=extract.earliest(whole, lexicon.vendors),
                      date=extract.find_date(title, text, document.get("language")))
    return record
