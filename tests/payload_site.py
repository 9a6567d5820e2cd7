"""A test database whose one synthetic deployment carries markup in its title and summary, beside the
repository's curated rows, served in process: for the page tests that check that a payload is shown
as text, never as markup."""

from pathlib import Path

from conftest import RELEASE, REPO, InProcess
from served import write_items

from pipelines.build import build
from scrapers.items import Deployment, DocumentRef

TITLE = ('<script>window.__xss="title"</script>Example Police Department pilot '
         '<img src=x onerror="window.__xss=1">')
SUMMARY = '"><svg onload="window.__xss=2"></svg> Synthetic row for the escaping tests'
COUNTRY, PLACE = "IS", "Reykjavik"
ROW = "/evidence/deployments/dep-payload-1"


def payload_site(directory: Path) -> InProcess:
    """Build the database into directory and serve it in process (close it when done)."""
    document = DocumentRef(url="https://example.org/report", title="Example report",
                           publisher="Example News", published="2026-01-02")
    write_items(directory / "items", "payload", [Deployment(
        source="payload", source_id="1", title=TITLE, summary=SUMMARY, date="2026-01-01",
        country=COUNTRY, place=PLACE, operator="Example Police Department",
        documents=[document])], run_date="2026-11-21")
    db_path = directory / "evidence.db"
    build(db_path, items_dir=directory / "items", curated_dir=REPO / "data" / "curated", built_at=RELEASE)
    return InProcess(db_path)
