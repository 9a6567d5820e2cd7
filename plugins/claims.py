"""The two letters' claims wherever the site shows them: the /claims page (each claim quoted, with its
verdict, the reason for it, the rows dated on or before its letter that back it and the later rows),
the home page's count of verdicts per letter, and the `letter` and `verdict` template filters with
which a row page names the claims it backs.

A claim without evidence is shown as unsupported, never left out. The claims table is made by the
build, which runs each claim's evidence query and dates each row against the letter (README,
"Claims"). Datasette's page script closes every open <details> at any click outside it; the claims
page's own script (KEEP_LISTS_OPEN) keeps its lists of rows open until their own summary is clicked.
"""

import json
import re
from dataclasses import dataclass

from datasette import hookimpl
from datasette.utils.asgi import Response

DATABASE = "evidence"
VERDICTS = {"yes": "Supported", "partly": "Partly supported", "no": "Unsupported"}
# A claim lists this many of its rows; the rest are one query away (a claim can be backed by
# hundreds of thousands of rows, and the page must stay light).
CLAIM_ROWS_LISTED = 100


@dataclass(frozen=True)
class Letter:
    slug: str
    title: str
    made: str


LETTERS = {
    "000_8dfaa72fd5edc1fc.txt": Letter(
        "tirana-2019", "Declaration: A Moratorium on Facial Recognition Technology for Mass "
        "Surveillance", "Civil society declaration, Tirana, October 2019"),
    "004_9c036eea26bdae9f.txt": Letter(
        "reclaim-your-face-2022", "Reclaim Your Face: open letter of 53 organisations to "
        "Members of the European Parliament", "Brussels, 10 May 2022"),
}


# Datasette's _close_open_menus.html closes, on a click on the page (a listener on document.body),
# every open <details> the click is outside of. This script notes the open lists of rows before that
# listener runs (capture on document) and opens them again after it (bubble on window); a click on
# a list's own summary still closes it, since <details> toggles after the click's listeners.
KEEP_LISTS_OPEN = """
(function () {
    var kept = [];
    document.addEventListener("click", function () {
        kept = Array.from(document.querySelectorAll("details.more-evidence[open]"));
    }, true);
    window.addEventListener("click", function () {
        kept.forEach(function (details) { details.open = true; });
        kept = [];
    });
})();
"""


def letter(name: str) -> Letter:
    """A letter by the name of its file in the claims table; an unknown one titled by that name."""
    return LETTERS.get(name) or Letter(re.sub(r"[^a-z0-9]+", "-", name.lower()), name, "")


def verdict(supported: str) -> str:
    return VERDICTS.get(supported, supported)


async def verdicts_by_letter(datasette) -> list[dict]:
    """For the home page: each letter with its number of claims by verdict."""
    db = datasette.get_database(DATABASE)
    letters = {}
    for row in await db.execute("select letter, supported, count(*) as n from claims "
                                "group by letter, supported"):
        entry = letters.setdefault(row["letter"], {"letter": letter(row["letter"]), "total": 0,
                                                   "yes": 0, "partly": 0, "no": 0})
        entry[row["supported"]] = row["n"]
        entry["total"] += row["n"]
    return [letters[name] for name in sorted(letters)]


async def evidence_rows(db, ids: list[str]) -> dict[str, dict]:
    """The evidence rows with these ids, by id (an id no longer in the release is left out)."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await db.execute(f"select id, kind, event_table, title, date, country, place from evidence "
                            f"where id in ({marks})", ids)
    return {row["id"]: dict(row) for row in rows}


def split(claim: dict) -> dict:
    """The claim's rows dated on or before its letter and its later rows (evidence_ids lists them in
    that order), each with the ids listed on the page and how many more there are."""
    ids = json.loads(claim["evidence_ids"] or "[]")
    parts = {"before": ids[:claim["before_count"]], "after": ids[claim["before_count"]:]}
    return {timing: {"listed": part[:CLAIM_ROWS_LISTED], "count": len(part),
                     "unlisted": max(0, len(part) - CLAIM_ROWS_LISTED)}
            for timing, part in parts.items()}


async def claims_page(datasette, request):
    db = datasette.get_database(DATABASE)
    claims = [dict(r) for r in await db.execute("select * from claims order by letter, rowid")]
    for claim in claims:
        claim["rows"] = split(claim)
    listed = sorted({i for claim in claims for part in claim["rows"].values() for i in part["listed"]})
    found = await evidence_rows(db, listed)
    letters = []
    for claim in claims:
        if not letters or letters[-1]["name"] != claim["letter"]:
            letters.append({"name": claim["letter"], "letter": letter(claim["letter"]),
                            "letter_id": claim["letter_id"], "letter_date": claim["letter_date"],
                            "claims": []})
        for part in claim["rows"].values():
            part["evidence"] = [found.get(i) or {"id": i, "title": i} for i in part["listed"]]
        letters[-1]["claims"].append(claim)
    totals = {code: sum(c["supported"] == code for c in claims) for code in VERDICTS}
    html = await datasette.render_template("claims.html", {"letters": letters, "totals": totals},
                                           request=request, view_name="claims")
    return Response.html(html)


@hookimpl
def register_routes():
    return [(r"^/claims$", claims_page)]


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["letter"] = letter
    env.filters["verdict"] = verdict


@hookimpl
def extra_body_script(template):
    return KEEP_LISTS_OPEN if template == "claims.html" else None


@hookimpl
def extra_template_vars(template, datasette):
    if template != "index.html":
        return {}

    async def variables():
        return {"letters": await verdicts_by_letter(datasette)}
    return variables
