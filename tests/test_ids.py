"""Ids that resolve forever: build N, change the text, build N+1, and every id build N published
answers in N+1 (as its row, by a 301 to the row it was merged into, or as a 410 tombstone), served
by Datasette with the project's plugins as `make serve` serves it."""

import asyncio
import shutil
import sqlite3

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

from pipelines.build import build
from pipelines.clean.identify import document_id
from pipelines.ledgers.aliases import AliasError
from pipelines.ledgers.published import UnresolvedIds, read_registry

DATA = REPO / "data"
FIRST, SECOND = "2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"
RENAMED = ("legal-it-moratorium-2021", "legal-it-moratorium-2021-12")
WITHDRAWN = "legal-aiid-412"


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Build N from the repository's text; then N+1 after a person's decision, a withdrawal and a
    curated id renamed with an alias."""
    root = tmp_path_factory.mktemp("ids")
    shutil.copytree(DATA / "items", root / "items")
    shutil.copytree(DATA / "curated", root / "curated")
    registry = root / "published_ids.txt"
    common = dict(items_dir=root / "items", curated_dir=root / "curated", published_file=registry,
                  register=True, aliases_file=root / "aliases.csv", decisions_file=root / "decisions.csv",
                  tombstones_file=root / "tombstones.yml", redactions_file=None)
    (root / "n").mkdir()
    build(root / "n" / "evidence.db", built_at=FIRST, **common)
    first_registry = read_registry(registry)

    legal = root / "curated" / "legal_actions.yml"
    legal.write_text(legal.read_text(encoding="utf-8").replace(f"id: {RENAMED[0]}\n", f"id: {RENAMED[1]}\n"),
                     encoding="utf-8")
    (root / "aliases.csv").write_text(f"alias,id,reason,since\n{RENAMED[0]},{RENAMED[1]},"
                                      "the curator added the month to the id,2026-11-30\n")
    (root / "decisions.csv").write_text("left_id,right_id,decision,who,when\n"
                                        "arrest-gb-london-2024,dep-aiid-692,same,A. Reviewer,2026-11-30\n")
    (root / "tombstones.yml").write_text(yaml.safe_dump([{
        "id": WITHDRAWN, "reason": "test withdrawal: the row is misfiled", "date": "2026-11-30"}]))
    (root / "n1").mkdir()
    build(root / "n1" / "evidence.db", built_at=SECOND, **common)
    return root, common, first_registry, read_registry(registry)


def serve(db_path):
    return Datasette(immutables=[str(db_path)], plugins_dir=str(REPO / "plugins"),
                     template_dir=str(REPO / "templates"),
                     metadata=yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")))


def get(datasette, path):
    return asyncio.run(datasette.client.get(path))


def test_the_registry_lists_every_id_build_n_published(builds):
    root, _, first, _ = builds
    conn = sqlite3.connect(root / "n" / "evidence.db")
    expected = {row[0] for table in ("deployments", "wrongful_arrests", "legal_actions", "declarations",
                                     "documents", "organisations", "claims", "sources")
                for row in conn.execute(f"select id from [{table}]")}
    expected |= {row[0] for row in conn.execute("select alias from id_aliases")}
    assert set(first) == expected
    assert {day for _, day in first.values()} == {"2026-11-21"}
    assert first["arrest-aiid-515"] == ("wrongful_arrests", "2026-11-21")


def test_the_registry_only_grows(builds):
    _, _, first, second = builds
    assert {i: first[i] for i in first} == {i: second[i] for i in first}
    assert second[RENAMED[1]] == ("legal_actions", "2026-12-01")


def test_every_id_of_build_n_resolves_in_build_n_plus_1(builds):
    root, _, first, _ = builds
    datasette = serve(root / "n1" / "evidence.db")
    outcomes = {}
    for row_id, (table, _) in sorted(first.items()):
        response = get(datasette, f"/evidence/{table}/{row_id}.json")
        if response.status_code == 301:
            target = get(datasette, response.headers["location"])
            outcomes[row_id] = (301, target.status_code)
        else:
            outcomes[row_id] = (response.status_code,)
    assert {i: o for i, o in outcomes.items() if o not in ((200,), (301, 200), (410,))} == {}
    assert outcomes[WITHDRAWN] == (410,)
    # the AIID page and the bureau that only the withdrawn row named are withdrawn with it
    assert outcomes[document_id("https://incidentdatabase.ai/cite/412/")] == (410,)
    assert outcomes["org-finland-national-bureau-of-investigation"] == (410,)
    assert outcomes[RENAMED[0]] == (301, 200)
    assert outcomes["dep-aiid-692"] == (301, 200)
    assert outcomes["arrest-aiid-598"] == (301, 200)


def test_an_alias_redirects_to_the_row_in_its_table(builds):
    root = builds[0]
    datasette = serve(root / "n1" / "evidence.db")
    response = get(datasette, "/evidence/deployments/dep-aiid-692")
    assert response.status_code == 301
    assert response.headers["location"] == "/evidence/wrongful_arrests/arrest-gb-london-2024"
    response = get(datasette, "/evidence/wrongful_arrests/arrest-aiid-515.json?_shape=object")
    assert response.headers["location"] == \
        "/evidence/wrongful_arrests/arrest-us-jefferson-parish-2022.json?_shape=object"
    response = get(datasette, "/evidence/organisations/org-anyvision")
    assert (response.status_code, response.headers["location"]) == (301, "/evidence/organisations/org-oosto")
    assert get(datasette, "/evidence/wrongful_arrests/arrest-us-nowhere-1999").status_code == 404


def test_a_withdrawn_row_says_why_with_410(builds):
    root = builds[0]
    datasette = serve(root / "n1" / "evidence.db")
    page = get(datasette, f"/evidence/legal_actions/{WITHDRAWN}")
    assert page.status_code == 410
    assert "test withdrawal: the row is misfiled" in page.text and "2026-11-30" in page.text
    data = get(datasette, f"/evidence/legal_actions/{WITHDRAWN}.json")
    assert data.status_code == 410
    assert data.json() == {"ok": False, "status": 410, "withdrawn": True, "id": WITHDRAWN,
                           "withdrawn_from": "legal_actions",
                           "reason": "test withdrawal: the row is misfiled", "date": "2026-11-30"}
    conn = sqlite3.connect(root / "n1" / "evidence.db")
    assert conn.execute("select count(*) from evidence where id = ?", [WITHDRAWN]).fetchone() == (0,)
    assert conn.execute("select count(*) from citations where event_id = ?", [WITHDRAWN]).fetchone() == (0,)


def test_the_three_reid_incidents_are_one_arrest_citing_every_source(builds):
    conn = sqlite3.connect(builds[0] / "n" / "evidence.db")
    assert conn.execute("select count(*) from wrongful_arrests where person like '%Reid%'").fetchone() == (1,)
    cited = {row[0] for row in conn.execute(
        "select d.url from citations c join documents d on d.id = c.document_id "
        "where c.event_id = 'arrest-us-jefferson-parish-2022'")}
    assert {u for u in cited if "incidentdatabase.ai" in u} == {
        "https://incidentdatabase.ai/cite/440/", "https://incidentdatabase.ai/cite/515/",
        "https://incidentdatabase.ai/cite/598/"}
    assert len(cited) == 7  # and the four sources of the curated row
    aliases = dict(conn.execute("select alias, id from id_aliases where alias like 'arrest-aiid-%'"))
    for incident in ("440", "515", "598"):
        assert aliases[f"arrest-aiid-{incident}"] == "arrest-us-jefferson-parish-2022"
    agencies = {row[0] for row in conn.execute(
        "select organisation_id from event_organisations where event_id = 'arrest-us-jefferson-parish-2022' "
        "and role = 'agency'")}
    assert agencies == {"org-jefferson-parish-sheriffs-office", "org-baton-rouge-police-department"}


def test_a_build_that_would_lose_a_published_id_fails_and_keeps_the_last_database(builds):
    root, common, _, _ = builds
    (root / "aliases.csv").unlink()
    db_path = root / "n1" / "evidence.db"
    before, registry_before = db_path.read_bytes(), common["published_file"].read_bytes()
    with pytest.raises(UnresolvedIds, match=rf"1 published id\(s\) would no longer resolve: "
                                            rf"{RENAMED[0]} \(legal_actions, published 2026-11-21\)"):
        build(db_path, built_at=SECOND, **common)
    assert db_path.read_bytes() == before
    assert common["published_file"].read_bytes() == registry_before


def test_the_repository_data_keeps_every_id_it_registered(tmp_path):
    """data/published_ids.txt is committed: today's text must still resolve every id in it."""
    registry = tmp_path / "published_ids.txt"
    shutil.copy(DATA / "published_ids.txt", registry)
    build(tmp_path / "evidence.db", published_file=registry, register=True, built_at=SECOND)
    assert set(read_registry(DATA / "published_ids.txt")) <= set(read_registry(registry))


def test_an_alias_to_no_row_stops_a_registering_build_and_is_left_out_of_a_partial_one(tmp_path, caplog):
    """A maintainer's alias must point somewhere in the build that knows every id; a build of part
    of the data (a test's, a synthetic one) may lack its row, and leaves the alias out, saying so."""
    items, curated = tmp_path / "items", tmp_path / "curated"
    items.mkdir()
    curated.mkdir()
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("alias,id,reason,since\ndoc-000000000000,doc-111111111111,test: moved,2026-12-08\n")
    common = dict(items_dir=items, curated_dir=curated, aliases_file=aliases, decisions_file=None,
                  tombstones_file=None, redactions_file=None, built_at=SECOND)
    with pytest.raises(AliasError, match="doc-000000000000 points to doc-111111111111, which is no row"):
        build(tmp_path / "strict.db", published_file=tmp_path / "ids.txt", register=True, **common)
    assert not (tmp_path / "strict.db").exists()
    build(tmp_path / "partial.db", published_file=None, **common)
    assert "alias doc-000000000000 points to doc-111111111111" in caplog.text
    with sqlite3.connect(tmp_path / "partial.db") as conn:
        assert conn.execute("select count(*) from id_aliases where id like 'doc-%'").fetchone() == (0,)
