"""templates/_table.html with plugins/table_markup.py: the table of rows is the markup Datasette's own
_table.html makes (the same elements, classes, attributes, sort links and cells), whitespace aside,
wherever the page shows Datasette's columns (every page but an event table's reader's view, which
tests/test_table_view.py tests)."""

import asyncio
import re
import shutil

import pytest
import yaml
from conftest import REPO
from datasette.app import Datasette

URLS = ("/evidence/deployments?_columns=all", "/evidence/deployments?_search=police&_sort=title&_columns=all",
        "/evidence/deployments?_sort_desc=country&country=US&_columns=all",
        "/evidence/deployments?_search=nothingmatches&_columns=all",
        "/evidence/deployments?_nocol=summary&_size=5", "/evidence/legal_actions/legal-it-moratorium-2021",
        "/evidence/documents", "/evidence/evidence", "/evidence/citations", "/evidence/sources")


def site(db, templates):
    return Datasette(immutables=[str(db)], plugins_dir=str(REPO / "plugins"), template_dir=str(templates),
                     metadata=yaml.safe_load((REPO / "metadata.yml").read_text(encoding="utf-8")))


def without_layout_whitespace(html: str) -> str:
    return re.sub(r"\s+<", "<", re.sub(r">\s+", ">", re.sub(r"\s+", " ", html)))


@pytest.fixture(scope="module")
def pages(demo_db, tmp_path_factory):
    datasettes = tmp_path_factory.mktemp("datasettes_table")
    shutil.copytree(REPO / "templates", datasettes / "templates")
    (datasettes / "templates" / "_table.html").unlink()

    async def fetch():
        ours, theirs = site(demo_db, REPO / "templates"), site(demo_db, datasettes / "templates")
        return [(url, await ours.client.get(url), await theirs.client.get(url)) for url in URLS]

    return asyncio.run(fetch())


def test_the_table_is_datasettes_markup(pages):
    for url, ours, theirs in pages:
        assert ours.status_code == theirs.status_code == 200, url
        assert without_layout_whitespace(ours.text) == without_layout_whitespace(theirs.text), url


def test_the_pages_compared_have_tables_sort_links_and_an_empty_result(pages):
    texts = "".join(ours.text for _, ours, _ in pages)
    assert texts.count('<table class="rows-and-columns">') >= len(URLS) - 1
    assert "&nbsp;▲" in texts and "&nbsp;▼" in texts and 'rel="nofollow"' in texts
    assert 'data-column-description="' in texts
    assert '<p class="zero-results">0 records</p>' in texts
