"""Claims: each factual claim of the seed letters, judged at build time by the evidence dated on or
before its letter.

data/curated/claims.yml has two parts. `letters` names each seed letter by its file name with its own
row in declarations (`declaration`), whose date is the letter's date. `claims` gives, per claim,
the letter, the quoted claim, the SQL that selects the rows about it (`evidence_sql`, returning an
`id` column), optionally measures (named SQL counts) with a threshold the first measure must reach,
a `note` giving the reason for the verdict, and optionally a curator's `verdict`.

Timing: a row about a claim is `before` its letter when the row's date, read at the coarser of the
two precisions, is not later than the letter's (a row of 2019 or of 2019-10 is before a letter of
October 2019; a range counts from its first year). An undated row takes the earliest publication
date of the documents it cites; with none it is `after`, since nothing shows it predates the letter.
Only rows before the letter back the claim: the measures count them alone (their SQL reads the
temporary table claim_before, which holds their ids), and the verdict is "yes" when there are such
rows and the first measure reaches the threshold, "partly" when it falls short, "no" when there
are none. A curator may give the verdict where SQL cannot judge (a claim broader than its one
example), with a note saying why; never "yes" or "partly" for a claim no row before its letter backs.

Each (row, claim) pair is also a row of claim_evidence with its timing, so that a row's page finds
the claims it is about through an index.
"""

import json
from pathlib import Path

import yaml

from pipelines.vocab import CLAIM_TIMINGS, CLAIM_VERDICTS

FIELDS = {"id", "letter", "quote", "evidence_sql", "measures", "threshold", "note", "verdict"}
BEFORE, AFTER = CLAIM_TIMINGS
BEFORE_TABLE = "claim_before"
ROW_DATES = (
    "select r.id, coalesce(e.date, (select min(d.published) from citations c join documents d "
    "on d.id = c.document_id where c.event_id = r.id)) from claim_rows r "
    "left join evidence e on e.id = r.id")


class ClaimError(ValueError):
    """A claim or letter of claims.yml that cannot be judged as written."""


def timing(row_date: str | None, letter_date: str) -> str:
    """'before' when a row dated row_date can back a letter dated letter_date, else 'after'.

    ISO dates of any precision compare as text once cut to the shorter of the two, so a row of
    the letter's own year or month counts as before it; a range starts at its first part."""
    if not row_date:
        return AFTER
    start = row_date.split("/")[0]
    shared = min(len(start), len(letter_date))
    return BEFORE if start[:shared] <= letter_date[:shared] else AFTER


def query_verdict(before: int, measures: list[dict], threshold: int | None) -> str:
    if not before:
        return "no"
    if threshold is not None and measures[0]["value"] < threshold:
        return "partly"
    return "yes"


def _rows(db, table: str, ids) -> None:
    db.execute(f"delete from temp.{table}")
    db.conn.executemany(f"insert or ignore into temp.{table} (id) values (?)", ((i,) for i in ids))


def _checked(claim: dict, letters: dict) -> None:
    name = claim.get("id")
    unknown = set(claim) - FIELDS
    if unknown:
        raise ClaimError(f"claim {name}: unknown fields {sorted(unknown)}")
    if claim.get("letter") not in letters:
        raise ClaimError(f"claim {name}: letter {claim.get('letter')!r} is not under letters")
    for measure in claim.get("measures", ()):
        if BEFORE_TABLE not in measure["sql"]:
            raise ClaimError(f"claim {name}: measure {measure['label']!r} must count the rows of "
                             f"{BEFORE_TABLE} (the rows dated on or before the letter)")
    if claim.get("threshold") is not None and not claim.get("measures"):
        raise ClaimError(f"claim {name}: a threshold needs a measure")
    if "verdict" in claim:
        if claim["verdict"] not in CLAIM_VERDICTS:
            raise ClaimError(f"claim {name}: verdict must be one of {', '.join(CLAIM_VERDICTS)}")
        if not claim.get("note"):
            raise ClaimError(f"claim {name}: a curator's verdict needs a note giving the reason")


def evaluate_claim(db, claim: dict, letter: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """The claim's row of claims and its (evidence id, claim id, timing) rows of claim_evidence,
    given its letter ({"id", "date"}); claim_rows and claim_before are temporary tables of db."""
    _rows(db, "claim_rows", [row[0] for row in db.execute(claim["evidence_sql"])])
    timings = {row_id: timing(date, letter["date"]) for row_id, date in db.execute(ROW_DATES)}
    before = sorted(i for i, t in timings.items() if t == BEFORE)
    after = sorted(i for i, t in timings.items() if t == AFTER)
    _rows(db, BEFORE_TABLE, before)
    measures = [{"label": m["label"], "value": db.execute(m["sql"]).fetchone()[0]}
                for m in claim.get("measures", ())]
    threshold = claim.get("threshold")
    computed = query_verdict(len(before), measures, threshold)
    supported = claim.get("verdict", computed)
    if supported != "no" and not before:
        raise ClaimError(f"claim {claim['id']}: no row dated on or before the letter backs it, so "
                         f"it cannot be judged {supported!r}")
    parts = [f"{len(before)} row{'' if len(before) == 1 else 's'} dated on or before the letter, "
             f"{len(after)} later"]
    parts += [f"{m['value']} {m['label']}" for m in measures]
    if threshold is not None:
        parts.append(f"the letter's figure needs {threshold}")
    reason = "; ".join(parts) + "."
    if "verdict" in claim and supported != computed:
        reason += f" The query alone would say {computed}; the curator's verdict is {supported}."
    if claim.get("note"):
        reason += " " + " ".join(claim["note"].split())
    row = {"id": claim["id"], "letter": claim["letter"], "letter_id": letter["id"],
           "letter_date": letter["date"], "quote": " ".join(claim["quote"].split()),
           "evidence_sql": claim["evidence_sql"].strip(), "evidence_count": len(timings),
           "before_count": len(before), "after_count": len(after),
           "evidence_ids": json.dumps(before + after), "measures": json.dumps(measures),
           "threshold": threshold, "query_verdict": computed,
           "verdict_by": "curator" if "verdict" in claim else "query", "supported": supported,
           "note": " ".join(claim["note"].split()) if claim.get("note") else None, "reason": reason}
    links = [(i, claim["id"], BEFORE) for i in before] + [(i, claim["id"], AFTER) for i in after]
    return row, links


def letter_rows(db, letters: dict) -> dict[str, dict]:
    """Each letter's file name → its declarations row's id and date."""
    found = {}
    for name, entry in letters.items():
        row = db.execute("select id, date from declarations where id = ?",
                         [entry.get("declaration")]).fetchone()
        if row is None or not row[1]:
            raise ClaimError(f"letter {name}: declaration {entry.get('declaration')!r} is not a dated "
                             f"row of declarations")
        found[name] = {"id": row[0], "date": row[1]}
    return found


def evaluate_claims(db, path: Path) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """Every claim's row and every claim_evidence row of claims.yml (none when it is missing)."""
    if not Path(path).exists():
        return [], []
    curated = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    letters = letter_rows(db, curated.get("letters") or {})
    for table in ("claim_rows", BEFORE_TABLE):
        db.execute(f"create temp table if not exists {table} (id text primary key)")
    claims, links = [], []
    for claim in curated.get("claims") or []:
        _checked(claim, letters)
        row, pairs = evaluate_claim(db, claim, letters[claim["letter"]])
        claims.append(row)
        links += pairs
    return claims, sorted(links)


def insert_claims(db, claims: list[dict], links: list[tuple[str, str, str]]) -> None:
    """The claims' rows and their claim_evidence rows (both tables empty) into a sqlite-utils Database."""
    db["claims"].insert_all(claims)
    db["claim_evidence"].insert_all({"evidence_id": evidence_id, "claim_id": claim_id, "timing": when}
                                    for evidence_id, claim_id, when in links)
