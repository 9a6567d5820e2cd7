"""Claims: each factual claim of the seed letters, checked against the evidence at build time.

data/curated/claims.yml gives, per claim, the letter, the quoted claim, the SQL that selects the
evidence rows backing it (`evidence_sql`, returning an `id` column), and optionally measures
(named SQL counts) with a threshold the first measure must reach. A claim is "yes" when it has
evidence and reaches its threshold, "partly" when it has evidence but falls short, "no" when no
row backs it. The reason says so with the numbers. Each (evidence row, claim) pair is also a row of
claim_evidence, so that a row's page finds the claims it backs through an index (searching every
claim's list of ids took a row page 2.7 ms at a million rows).
"""

import json
from pathlib import Path

import yaml

FIELDS = {"id", "letter", "quote", "evidence_sql", "measures", "threshold", "note"}


def _scalar(db, sql: str) -> int:
    return db.execute(sql).fetchone()[0]


def evaluate_claim(db, claim: dict) -> dict:
    unknown = set(claim) - FIELDS
    if unknown:
        raise ValueError(f"claim {claim.get('id')}: unknown fields {sorted(unknown)}")
    ids = sorted(row[0] for row in db.execute(claim["evidence_sql"]).fetchall())
    measures = [{"label": m["label"], "value": _scalar(db, m["sql"])}
                for m in claim.get("measures", ())]
    threshold = claim.get("threshold")
    if not ids:
        supported = "no"
    elif threshold is not None and measures[0]["value"] < threshold:
        supported = "partly"
    else:
        supported = "yes"
    parts = [f"{len(ids)} evidence row{'' if len(ids) == 1 else 's'}"]
    parts += [f"{m['value']} {m['label']}" for m in measures]
    if threshold is not None:
        parts.append(f"the letter's figure needs {threshold}")
    reason = "; ".join(parts) + (f". {claim['note']}" if claim.get("note") else "")
    return {"id": claim["id"], "letter": claim["letter"], "quote": " ".join(claim["quote"].split()),
            "evidence_sql": claim["evidence_sql"].strip(), "evidence_count": len(ids),
            "evidence_ids": json.dumps(ids), "measures": json.dumps(measures),
            "threshold": threshold, "supported": supported, "reason": reason}


def evaluate_claims(db, path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    claims = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    return [evaluate_claim(db, claim) for claim in claims]


def claim_evidence(claims: list[dict]) -> list[tuple[str, str]]:
    """(evidence id, claim id) for each row backing each claim."""
    return sorted((evidence_id, claim["id"]) for claim in claims
                  for evidence_id in json.loads(claim["evidence_ids"]))


def insert_claims(db, claims: list[dict]) -> None:
    """The claims' rows and their claim_evidence rows (both tables empty) into a sqlite-utils Database."""
    db["claims"].insert_all(claims)
    db["claim_evidence"].insert_all({"evidence_id": evidence_id, "claim_id": claim_id}
                                    for evidence_id, claim_id in claim_evidence(claims))
