"""The rows records give: one row per document and organisation, whatever number of records name them."""

import sqlite_utils

from pipelines.write.rows import RowWriter
from pipelines.write.schema import create_tables


def record(record_id, document, first_seen, last_seen, **fields):
    return {"id": record_id, "table": "deployments", "source": "atlas", "title": "Synthetic row",
            "date": "2020-01-01", "country": "US", "operator": "Example Police Department",
            "vendors": ["Example Vendor", "Other Example Vendor"], "first_seen": first_seen,
            "last_seen": last_seen, "documents": [document], **fields}


def test_a_document_keeps_each_first_value_and_the_widest_days():
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    writer = RowWriter(db.conn)
    url = "https://example.org/report"
    first = {"id": "doc-example", "url": url, "title": None, "publisher": "Example News"}
    writer.add(record("dep-example-1", first,
                      "2026-02-01", "2026-03-01"))
    writer.add(record("dep-example-2", {"id": "doc-example", "url": url, "title": "Example report",
                                        "publisher": "Another Example", "source": "curated"},
                      "2026-01-01", "2026-02-15", listed=False))
    writer.flush()
    document = db["documents"].get("doc-example")
    assert (document["title"], document["publisher"], document["source"]) == (
        "Example report", "Example News", "atlas")
    assert (document["first_seen"], document["last_seen"]) == ("2026-01-01", "2026-03-01")
    assert [(r["id"], r["vendor"], r["year"], r["listed"]) for r in db["deployments"].rows] == [
        ("dep-example-1", "Example Vendor; Other Example Vendor", 2020, 1),
        ("dep-example-2", "Example Vendor; Other Example Vendor", 2020, 0)]
    assert db["citations"].count == 2
    links = db.execute("select event_id, organisation_id, role from event_organisations").fetchall()
    assert ("dep-example-1", "org-example-police-department", "operator") in links
    assert db["organisations"].get("org-example-police-department")["name"] == "Example Police Department"


def test_a_row_names_its_country_and_region_in_english_and_links_each_party_in_its_role():
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    writer = RowWriter(db.conn)
    document = {"id": "doc-example", "url": "https://example.org/report"}
    writer.add(record("dep-example-1", document, "2026-01-01", "2026-01-02", country="RU",
                      region="Moskva", region_code="RU-MOW", vendors=["Example Vendor"],
                      deployers=["Example Police Department"], developers=["Example Vendor"]))
    writer.add(record("dep-example-2", document, "2026-01-01", "2026-01-02", country="ZZ",
                      region_code=None, vendors=[]))
    writer.flush()
    rows = [(r["id"], r["country_name"], r["region_en"], r["deployers"], r["developers"])
            for r in db["deployments"].rows]
    assert rows == [
        ("dep-example-1", "Russia", "Moscow", '["Example Police Department"]', '["Example Vendor"]'),
        ("dep-example-2", None, None, None, None)]  # an unknown code; no lists: the source gives none
    links = db.execute("select organisation_id, role from event_organisations "
                       "where event_id = 'dep-example-1' order by 2").fetchall()
    assert links == [("org-example-police-department", "deployer"), ("org-example-vendor", "developer"),
                     ("org-example-police-department", "operator"), ("org-example-vendor", "vendor")]
