"""The analyses in notebooks/: stored without outputs, each run top to bottom on the demo database
by a Jupyter kernel (nbclient: a cell that fails fails the test), their figures carrying the
release they were drawn from and their tables linking each id to its row's page; the helpers they
share (notebooks/evidence_db.py, notebooks/us_tiles.py); and the home page's links to the rendered
ones (plugins/analyses.py)."""

import asyncio
import re
import sqlite3
import sys

import nbformat
import pandas as pd
import pytest
import yaml
from conftest import RELEASE, REPO
from datasette.app import Datasette
from nbclient import NotebookClient

NOTEBOOK_DIR = REPO / "notebooks"
sys.path.insert(0, str(NOTEBOOK_DIR))
import evidence_db  # noqa: E402  (the notebooks' own folder, as their kernel sees it)
import us_tiles  # noqa: E402

sys.path.insert(0, str(REPO / "plugins"))
import analyses  # noqa: E402

# The figures each analysis draws.
FIGURES = {"claims": 1, "coverage": 4, "deployments": 5, "legal_actions": 4, "wrongful_arrests": 3}


def notebook(name: str):
    return nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_stored_valid_and_without_outputs(name):
    stored = notebook(name)
    nbformat.validate(stored)
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert code and stored.cells[0].cell_type == "markdown"
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)


def test_every_notebook_is_one_of_the_analyses():
    assert sorted(path.stem for path in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(FIGURES)
    assert sorted(analyses.ANALYSES) == sorted(FIGURES)  # each has its title on the home page


@pytest.fixture(scope="module")
def executed(demo_db) -> dict:
    """Each notebook as a kernel of its own ran it on the demo database, with links relative to the
    site; the kernels run at the same time (most of a notebook's time is its kernel starting)."""
    runs = {name: notebook(name) for name in FIGURES}
    clients = [NotebookClient(run, timeout=120, kernel_name="python3",
                              resources={"metadata": {"path": str(NOTEBOOK_DIR)}}) for run in runs.values()]

    async def execute_all() -> list:
        return await asyncio.gather(*(client.async_execute() for client in clients),
                                    return_exceptions=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FRT_DB", str(demo_db))
        patch.delenv("FRT_SITE", raising=False)
        ended = asyncio.run(execute_all())
    failed = [f"notebooks/{name}.ipynb: {result}" for name, result in zip(runs, ended, strict=True)
              if isinstance(result, BaseException)]
    if failed:
        pytest.fail("\n\n".join(failed), pytrace=False)
    return runs


def outputs(run, kind: str) -> list:
    found = [output for cell in run.cells if cell.cell_type == "code" for output in cell.outputs]
    if kind == "stream":
        return [output.text for output in found if output.output_type == "stream"]
    return [output for output in found if kind in output.get("data", {})]


def html(run) -> str:
    return "\n".join(output.data["text/html"] for output in outputs(run, "text/html"))


def rows(demo_db, sql: str) -> list:
    with sqlite3.connect(demo_db) as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_each_figure_says_the_release_it_was_drawn_from(executed, name):
    figures = outputs(executed[name], "image/png")
    assert len(figures) == FIGURES[name]
    for figure in figures:
        alt = figure.metadata["image/png"]["alt"]
        assert alt.endswith(f"Source: FRT Evidence, release {RELEASE}")
        assert len(alt) > len(RELEASE) + 40  # the figure's titles come first


def test_wrongful_arrests_link_every_arrest(executed, demo_db):
    run = executed["wrongful_arrests"]
    (count, countries), = rows(demo_db, "select count(*), count(distinct country) from wrongful_arrests")
    said = outputs(run, "stream")[0]
    assert f"release {RELEASE}: {count} wrongful arrests in {countries} countries" in said
    page = html(run)
    for (row_id,) in rows(demo_db, "select id from wrongful_arrests"):
        assert f'<a href="/evidence/wrongful_arrests/{row_id}">{row_id}</a>' in page


def test_deployments_and_legal_actions_link_every_row(executed, demo_db):
    for table in ("deployments", "legal_actions"):
        page = html(executed[table])
        for (row_id,) in rows(demo_db, f"select id from {table}"):
            assert f'href="/evidence/{table}/{row_id}"' in page, row_id


def test_claims_show_every_claim_and_say_where_timing_comes_from(executed, demo_db):
    run = executed["claims"]
    timed = any(column == "timing" for _, column, *_ in rows(demo_db, "pragma table_info(claim_evidence)"))
    said = outputs(run, "stream")[0]
    assert ("the claim_evidence.timing column" in said) is timed
    assert ("computed here" in said) is not timed
    page = html(run)
    for (claim_id,) in rows(demo_db, "select id from claims"):
        assert claim_id in page
    for evidence_id, table in rows(demo_db, "select ce.evidence_id, e.event_table from claim_evidence ce "
                                            "join evidence e on e.id = ce.evidence_id"):
        assert f'href="/evidence/{table}/{evidence_id}"' in page


def test_coverage_says_what_waits_for_a_person(executed, demo_db):
    run = executed["coverage"]
    said = "".join(outputs(run, "stream"))
    if not rows(demo_db, "select 1 from sqlite_master where name = 'leads'"):
        assert "Leads waiting for review: none yet" in said
    (pairs,), = rows(demo_db, "select count(*) from match_candidates")
    assert f"waiting for a merge decision: {pairs or 'none'}." in said
    assert 'href="/evidence/deployments?source=atlas"' in html(run)


# --------------------------------------------------------------------- the helpers


@pytest.mark.parametrize(("date", "letter", "expected"), [
    ("2019-09-30", "2019-10", "before"),
    ("2019-10-08", "2019-10", "same period"),
    ("2019", "2019-10", "same period"),
    ("2019-11-01", "2019-10", "after"),
    ("2022-05-09", "2022-05-10", "before"),
    ("2022-05", "2022-05-10", "same period"),
    ("2022-05-11", "2022-05-10", "after"),
    (None, "2022-05-10", "undated"),
])
def test_timing_before_or_after_a_letter(date, letter, expected):
    assert evidence_db.timing(date, letter) == expected


def test_database_path_and_a_clear_error_without_one(monkeypatch, tmp_path):
    monkeypatch.setenv("FRT_DB", "build/other.db")
    assert evidence_db.database_path() == REPO / "build" / "other.db"
    monkeypatch.setenv("FRT_DB", str(tmp_path / "absent.db"))
    with pytest.raises(FileNotFoundError, match="absent.db"):
        evidence_db.connect()


def test_links_use_the_sites_row_addresses(monkeypatch):
    monkeypatch.delenv("FRT_SITE", raising=False)
    assert evidence_db.row_link("deployments", "dep-a/b c").url == "/evidence/deployments/dep-a~2Fb+c"
    monkeypatch.setenv("FRT_SITE", "http://127.0.0.1:8001/")
    assert evidence_db.table_link("2", "deployments", source="atlas").url == (
        "http://127.0.0.1:8001/evidence/deployments?source=atlas")


def test_tally_counts_rows_with_their_links_and_show_escapes_the_rest(monkeypatch):
    monkeypatch.delenv("FRT_SITE", raising=False)
    frame = pd.DataFrame({"id": ["dep-x-2", "dep-x-1", "dep-x-3"], "sector": ["retail", "retail", None]})
    counted = evidence_db.tally(frame, "sector", "deployments")
    assert counted[["sector", "rows"]].values.tolist() == [["retail", 2], ["not recorded", 1]]
    assert [link.text for link in counted["ids"][0]] == ["dep-x-1", "dep-x-2"]
    page = evidence_db.show(pd.DataFrame({"id": [evidence_db.row_link("deployments", "dep-x-1")],
                                          "note": ["<b>&</b>"]})).to_html()
    assert '<a href="/evidence/deployments/dep-x-1">dep-x-1</a>' in page
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in page and "<b>" not in page


def test_us_tiles_count_states_and_place_each_once():
    counts = us_tiles.state_counts(pd.Series(["US-MI", "US-MI", "US-NY", None, "GB-WLS", "US-PR"]))
    assert counts.to_dict() == {"MI": 2, "NY": 1}
    assert len(us_tiles.TILES) == 51  # the fifty states and DC
    assert len(set(us_tiles.TILES.values())) == 51


# --------------------------------------------------------------------- the home page


def home_page(demo_db, static) -> str:
    """The home page of a site whose /assets/ is the folder static, as `make serve` mounts static/."""
    site = Datasette(immutables=[str(demo_db)], metadata=yaml.safe_load((REPO / "metadata.yml").read_text()),
                     plugins_dir=str(REPO / "plugins"), template_dir=str(REPO / "templates"),
                     static_mounts=[("assets", str(static))])

    async def get(path):
        return await site.client.get(path)

    page = asyncio.run(get("/"))
    assert page.status_code == 200
    for link in re.findall(r'<li><a href="(/assets/analyses/[^"]+)">', page.text):
        assert asyncio.run(get(link)).status_code == 200, link
    return page.text


def test_the_home_page_links_the_rendered_analyses_only(demo_db, tmp_path):
    assert 'id="analyses"' not in home_page(demo_db, tmp_path)  # none rendered: no section, no dead link
    (tmp_path / "analyses").mkdir()
    (tmp_path / "analyses" / "claims.html").write_text("<title>claims</title>")
    page = home_page(demo_db, tmp_path)
    assert re.findall(r'<li><a href="(/assets/analyses/[^"]+)">([^<]+)</a>', page) == [
        ("/assets/analyses/claims.html", "The letters&#39; claims")]


def test_a_country_is_named_and_a_missing_one_says_so():
    assert evidence_db.country_label("RU") == "Russia"
    assert [evidence_db.country_label(v) for v in (None, "", float("nan"), pd.NA)] == ["not recorded"] * 4
