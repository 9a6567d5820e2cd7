"""The letters' claims: rows dated against their letter (before backs the claim, after is later
evidence), measures and verdicts that count only the rows before, a curator's verdict only with a
reason, the declarations table the letters' own claims rest on, and the /claims page that shows
both kinds of rows and keeps its lists open.

Built from the repository's curated files and demo snapshots (conftest's demo_db and db), so the
verdicts asserted here are those the real evidence gives; the rules of evaluation are also checked
on a small synthetic database (Example Police Department, example.org).
"""

import json
import shutil
import sqlite3

import pytest
import sqlite_utils
import yaml
from conftest import REPO
from scrapy.selector import Selector
from served import chromium, datasette_server, offline_page

from pipelines.build import build
from pipelines.ledgers.published import read_registry
from pipelines.write.claims import ClaimError, evaluate_claims, timing
from pipelines.write.schema import create_tables, create_views

TIRANA, RYF = "000_8dfaa72fd5edc1fc.txt", "004_9c036eea26bdae9f.txt"
VERDICTS = {
    "tirana-madrid-declaration": "yes", "tirana-swedish-dpa-schools": "partly",
    "tirana-california-body-cameras": "yes", "tirana-us-city-bans": "yes", "ryf-uyghurs": "yes",
    "ryf-protesters-russia-serbia-hong-kong": "partly", "ryf-wrongful-arrests": "yes",
    "ryf-us-states": "partly", "ryf-sao-paulo-buenos-aires-rulings": "yes",
    "ryf-vendor-moratoria": "yes", "ryf-facebook-deletion": "yes",
    "ryf-european-parliament-resolution": "yes", "ryf-italy-moratorium": "yes",
    "ryf-germany-coalition": "yes", "ryf-portugal-dropped-law": "yes",
    "ryf-belgium-moratorium": "no", "ryf-european-residents-surveilled": "partly",
    "ryf-black-lives-matter": "yes", "ryf-india-china-russia": "yes", "ryf-global-letter": "partly",
    "ryf-eci-70000": "partly",
}
DECLARATIONS = ["decl-global-ban-biometric-surveillance-letter-2021", "decl-madrid-privacy-declaration-2009",
                "decl-reclaim-your-face-eci-2021", "decl-reclaim-your-face-letter-2022",
                "decl-tirana-declaration-2019"]


def claim_rows(db, claim_id, when):
    return {r[0]: r[1] for r in db.execute(
        "select e.id, e.date from claim_evidence c join evidence e on e.id = c.evidence_id "
        "where c.claim_id = ? and c.timing = ?", (claim_id, when))}


# --------------------------------------------------------------------- dates against the letter


@pytest.mark.parametrize(("row_date", "letter_date", "expected"), [
    ("2019", "2019-10", "before"),         # the letter's year, known only to the year
    ("2019-10", "2019-10", "before"),      # the letter's month
    ("2019-10-31", "2019-10", "before"),
    ("2019-11-01", "2019-10", "after"),
    ("2020", "2019-10", "after"),
    ("2017/2018", "2019-10", "before"),    # a range counts from its first year
    ("2019/2021", "2019-10", "before"),
    ("2022", "2022-05-10", "before"),
    ("2022-05", "2022-05-10", "before"),
    ("2022-05-10", "2022-05-10", "before"),
    ("2022-05-11", "2022-05-10", "after"),
    ("2022-06", "2022-05-10", "after"),
    (None, "2022-05-10", "after"),         # nothing shows it predates the letter
])
def test_timing(row_date, letter_date, expected):
    assert timing(row_date, letter_date) == expected


def test_real_rows_are_dated_against_their_letter(db):
    """Berkeley's ban (15 October 2019) is before the Tirana declaration of October 2019; the
    Skellefteå appeal ruling of 2021 is after it and does not count; a 2022 row known only to the
    year is before the letter of 10 May 2022, the Moscow detentions of 12 June 2022 after it."""
    berkeley = claim_rows(db, "tirana-us-city-bans", "before")["legal-us-berkeley-ban-2019"]
    assert berkeley == "2019-10-15"
    assert "legal-se-skelleftea-appeal-2021" in claim_rows(db, "tirana-swedish-dpa-schools", "after")
    assert claim_rows(db, "tirana-swedish-dpa-schools", "before") == {
        "legal-se-skelleftea-school-2019": "2019-08-20"}
    maryland = claim_rows(db, "ryf-wrongful-arrests", "before")["arrest-us-maryland-transit-police-2022"]
    assert maryland == "2022"
    assert "dep-ru-moscow-metro-2022-06" in claim_rows(db, "ryf-india-china-russia", "after")
    for claim in db.execute("select * from claims"):
        for when in ("before", "after"):
            for row_id, date in claim_rows(db, claim["id"], when).items():
                assert timing(date, claim["letter_date"]) == when, (claim["id"], row_id)


def test_only_rows_before_the_letter_count(db):
    claim = db.execute("select * from claims where id = 'tirana-us-city-bans'").fetchone()
    before, after = claim_rows(db, claim["id"], "before"), claim_rows(db, claim["id"], "after")
    assert (claim["before_count"], claim["after_count"]) == (len(before), len(after))
    assert len(after) > 0 and all(date > "2019-10" for date in after.values())
    cities = db.execute("select count(distinct jurisdiction) from legal_actions where id in "
                        f"({', '.join('?' for _ in before)})", list(before)).fetchone()[0]
    assert json.loads(claim["measures"])[0]["value"] == cities == 4
    assert json.loads(claim["evidence_ids"]) == sorted(before) + sorted(after)


def test_a_later_row_leaves_the_verdict_as_it_was(tmp_path, db):
    """An Example City ban of 2023 added to the real curated files is linked to the Tirana claim as
    later evidence; the count of cities and the verdict stay those of October 2019."""
    curated = shutil.copytree(REPO / "data" / "curated", tmp_path / "curated")
    rows = yaml.safe_load((curated / "legal_actions.yml").read_text(encoding="utf-8"))
    rows.append({"id": "legal-us-example-city-ban-2023", "title": "Example City bans face recognition",
                 "date": "2023-03-01", "country": "US", "region": "Illinois", "place": "Springfield",
                 "summary": "Synthetic row: Example City bans city use of face recognition.",
                 "kind": "ban", "jurisdiction_level": "city", "jurisdiction": "Example City",
                 "status": "enacted", "sources": [{"url": "https://example.org/ban-2023",
                                                   "publisher": "Example News", "title": "Example"}]})
    (curated / "legal_actions.yml").write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    build(tmp_path / "evidence.db", REPO / "data" / "items", curated, built_at="2026-01-01T00:00:00Z")
    with sqlite3.connect(tmp_path / "evidence.db") as conn:
        assert conn.execute("select timing from claim_evidence where evidence_id = "
                            "'legal-us-example-city-ban-2023'").fetchall() == [("after",)]
        added = conn.execute("select before_count, after_count, measures, supported from claims "
                             "where id = 'tirana-us-city-bans'").fetchone()
    real = db.execute("select before_count, after_count, measures, supported from claims "
                      "where id = 'tirana-us-city-bans'").fetchone()
    assert added == (real[0], real[1] + 1, real[2], real[3])


# --------------------------------------------------------------------- verdicts


def test_each_claim_has_its_verdict_and_a_reason(db):
    claims = {c["id"]: c for c in db.execute("select * from claims")}
    assert {i: c["supported"] for i, c in claims.items()} == VERDICTS
    for claim in claims.values():
        assert claim["note"] and claim["reason"].endswith(claim["note"])
        assert claim["evidence_count"] == claim["before_count"] + claim["after_count"]
        if claim["verdict_by"] == "query":
            assert claim["supported"] == claim["query_verdict"]
    curated = {i for i, c in claims.items() if c["verdict_by"] == "curator"}
    assert curated == {"tirana-swedish-dpa-schools", "ryf-eci-70000"}
    assert claims["ryf-eci-70000"]["query_verdict"] == "yes"
    assert ("The query alone would say yes; the curator's verdict is partly."
            in claims["ryf-eci-70000"]["reason"])


def test_the_claims_rest_on_the_declarations(db):
    assert claim_rows(db, "tirana-madrid-declaration", "before") == {
        "decl-madrid-privacy-declaration-2009": "2009-11-03"}
    assert claim_rows(db, "ryf-global-letter", "before") == {
        "decl-global-ban-biometric-surveillance-letter-2021": "2021-06-07"}
    assert claim_rows(db, "ryf-eci-70000", "before") == {"decl-reclaim-your-face-eci-2021": "2021-01-07"}
    letters = {r["letter"]: (r["letter_id"], r["letter_date"])
               for r in db.execute("select distinct letter, letter_id, letter_date from claims")}
    assert letters == {TIRANA: ("decl-tirana-declaration-2019", "2019-10"),
                       RYF: ("decl-reclaim-your-face-letter-2022", "2022-05-10")}
    quote = db.execute("select quote from claims where id = 'ryf-eci-70000'").fetchone()[0]
    letter = REPO.parent / "shared" / "seeds" / RYF
    if not letter.exists():
        pytest.skip(f"the seed letter {letter} is absent: ../shared/ is not beside this checkout")
    seed = " ".join(letter.read_text(encoding="utf-8").split())
    assert quote in seed.replace("[over 70,000 EU citizens](#)", "over 70,000 EU citizens")


def test_consumer_uses_do_not_back_the_india_china_russia_claim(db):
    sectors = {r[0] for r in db.execute(
        "select d.sector from claim_evidence c join deployments d on d.id = c.evidence_id "
        "where c.claim_id = 'ryf-india-china-russia'")}
    assert sectors and sectors <= {"policing", "border", "public_space", "government", "transport",
                                   "welfare", "education"}


# --------------------------------------------------------------------- the rules, on synthetic rows


LETTERS = {"letter.txt": {"declaration": "decl-example-letter-2020"}}


def synthetic_db():
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    create_views(db)
    db["declarations"].insert({"id": "decl-example-letter-2020", "title": "Example letter",
                               "date": "2020-06", "kind": "open_letter"})
    db["legal_actions"].insert_all([
        {"id": "legal-example-2019", "title": "Example Police Department ban", "date": "2019-03-02"},
        {"id": "legal-example-undated-reported", "title": "Example Police Department policy"},
        {"id": "legal-example-undated", "title": "Example Police Department rule"},
        {"id": "legal-example-2021", "title": "Example Police Department ruling", "date": "2021"}])
    db["documents"].insert({"id": "doc-example-1", "url": "https://example.org/1", "published": "2020-01-05"})
    db["citations"].insert({"event_id": "legal-example-undated-reported", "document_id": "doc-example-1",
                            "event_table": "legal_actions"})
    return db


def judged(tmp_path, **claim):
    path = tmp_path / "claims.yml"
    claim = {"id": "claim-example", "letter": "letter.txt", "quote": "Example.",
             "evidence_sql": "select id from legal_actions", **claim}
    path.write_text(yaml.safe_dump({"letters": LETTERS, "claims": [claim]}))
    return evaluate_claims(synthetic_db(), path)


def test_an_undated_row_takes_the_date_of_its_earliest_report(tmp_path):
    [claim], links = judged(tmp_path, measures=[
        {"label": "rows", "sql": "select count(*) from claim_before"}], threshold=3, note="Example.")
    assert links == [("legal-example-2019", "claim-example", "before"),
                     ("legal-example-2021", "claim-example", "after"),
                     ("legal-example-undated", "claim-example", "after"),
                     ("legal-example-undated-reported", "claim-example", "before")]
    assert (claim["before_count"], claim["after_count"], claim["letter_date"]) == (2, 2, "2020-06")
    assert (json.loads(claim["measures"])[0]["value"], claim["supported"]) == (2, "partly")
    assert claim["reason"] == ("2 rows dated on or before the letter, 2 later; 2 rows; the letter's "
                               "figure needs 3. Example.")


@pytest.mark.parametrize(("claim", "message"), [
    ({"measures": [{"label": "all rows", "sql": "select count(*) from legal_actions"}], "threshold": 1},
     "must count the rows of claim_before"),
    ({"verdict": "partly"}, "needs a note"),
    ({"verdict": "maybe", "note": "Example."}, "verdict must be one of yes, partly, no"),
    ({"verdict": "yes", "note": "Example.", "evidence_sql": "select id from legal_actions "
      "where date = '2021'"}, "no row dated on or before the letter backs it"),
    ({"letter": "other.txt"}, "letter 'other.txt' is not under letters"),
    ({"colour": "red"}, "unknown fields ['colour']"),
])
def test_a_claim_that_cannot_be_judged_as_written_is_refused(tmp_path, claim, message):
    with pytest.raises(ClaimError, match=message.replace("[", r"\[").replace("]", r"\]")):
        judged(tmp_path, **claim)


def test_a_curator_may_judge_below_the_query(tmp_path):
    [claim], _ = judged(tmp_path, verdict="no", note="Example: the rows are about another city.")
    assert (claim["query_verdict"], claim["supported"], claim["verdict_by"]) == ("yes", "no", "curator")
    assert claim["reason"].endswith("The query alone would say yes; the curator's verdict is no. "
                                    "Example: the rows are about another city.")


# --------------------------------------------------------------------- the declarations table


def test_declarations_are_events_with_citations_search_and_registered_ids(tmp_path, db):
    assert [r[0] for r in db.execute("select id from declarations order by id")] == DECLARATIONS
    cited = {r[0]: r[1] for r in db.execute(
        "select event_id, count(*) from citations where event_table = 'declarations' group by 1")}
    assert sorted(cited) == DECLARATIONS and min(cited.values()) >= 1
    assert db.execute("select count(*) from evidence where kind = 'declaration' "
                      "and event_table = 'declarations'").fetchone()[0] == 5
    found = db.execute("select d.id from declarations_fts join declarations d on d.rowid = "
                       "declarations_fts.rowid where declarations_fts match 'Madrid'").fetchall()
    assert [r[0] for r in found] == ["decl-madrid-privacy-declaration-2009"]
    eci = db.execute("select signatories, signatories_qualifier, signatories_date, signatory_kind, "
                     "end_date from declarations where id = 'decl-reclaim-your-face-eci-2021'").fetchone()
    assert tuple(eci) == (80000, "almost", "2022-08-01", "people", "2022-08-01")
    registry = tmp_path / "published_ids.txt"
    build(tmp_path / "evidence.db", REPO / "data" / "items", REPO / "data" / "curated",
          built_at="2026-01-01T00:00:00Z", published_file=registry, register=True)
    registered = read_registry(registry)
    assert {i: registered[i] for i in DECLARATIONS} == {
        i: ("declarations", "2026-01-01") for i in DECLARATIONS}


# --------------------------------------------------------------------- the claims page


def test_the_claims_page_shows_the_rows_before_and_after_each_letter(demo_site, db):
    response = demo_site.get("/claims")
    assert response.status_code == 200
    page = Selector(text=response.text)
    for claim in db.execute("select * from claims"):
        [article] = page.css(f"article.claim#{claim['id']}")
        for when, count in (("before", claim["before_count"]), ("after", claim["after_count"])):
            hrefs = article.css(f"ul.evidence-{when} li a::attr(href)").getall()
            assert [h.rsplit("/", 1)[1] for h in hrefs] == sorted(claim_rows(db, claim["id"], when))
            assert article.css(f".{when}-count::text").get() == str(count)
        assert article.css("p.reason::text").get() == claim["reason"]
        assert bool(article.css(".verdict-by")) == (claim["verdict_by"] == "curator")
        assert bool(article.css(".later-rows")) == (claim["after_count"] > 0)
    assert page.css("section.letter h2 a::attr(href)").getall() == [
        "/evidence/declarations/decl-tirana-declaration-2019",
        "/evidence/declarations/decl-reclaim-your-face-letter-2022"]
    assert 'document.querySelectorAll("details.more-evidence[open]")' in response.text


def test_a_declaration_has_its_row_page(demo_site):
    response = demo_site.get("/evidence/declarations/decl-reclaim-your-face-eci-2021")
    assert response.status_code == 200
    page = Selector(text=response.text)
    facts = dict(zip(page.css("dl dt::text").getall(), page.css("dl dd::text").getall(), strict=False))
    assert facts.get("Signatories") == "80000" and facts.get("Number given as") == "almost"


def test_the_lists_of_rows_stay_open_when_the_reader_clicks_elsewhere(demo_db):
    with chromium() as browser, datasette_server(demo_db) as site, \
            offline_page(browser, site, []) as page:
        page.goto(site + "/claims")
        more = page.locator("details.more-evidence").first
        more.locator("summary").click()
        assert more.evaluate("details => details.open")
        page.locator("h1").click()
        page.locator("blockquote").first.click()
        assert more.evaluate("details => details.open")
        more.locator("summary").click()
        assert not more.evaluate("details => details.open")
