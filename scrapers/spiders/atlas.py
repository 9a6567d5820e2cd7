"""EFF Atlas of Surveillance: its one CSV download, face recognition rows → deployments.

Live: GET https://atlasofsurveillance.org/download.csv (about 3 MB, no pagination, CC BY 4.0,
credit EFF). One row is one (agency, technology) pair; columns are read by header name, so the
2020 edition (25 columns) and the current one (28, with "NEWAOSNUMBER (ORI9)", "TECH ABV" and
"Other Links") both parse. Offline: `scrapy crawl atlas -a start_url=file:///path/download.csv`.
The Atlas gives no date of use: a row's date is the earliest date of the reports it links to
(`date_basis` earliest_report), when the use was reported, not when it began.
"""

import csv
import io
import re

import scrapy

from pipelines.clean.dates import earliest
from scrapers.items import Deployment, DocumentRef
from scrapers.sourceerror import stop

LIVE_URL = "https://atlasofsurveillance.org/download.csv"
REQUIRED_COLUMNS = ("AOSNUMBER", "Agency", "State", "Technology", "Summary")
TECHNOLOGY = "Face Recognition"
SECTORS = {"DMV": "government", "DHS": "border", "School District": "education",
           "Medical Examiner": "government"}


def _cell(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


class AtlasSpider(scrapy.Spider):
    name = "atlas"
    # shares of rows with each field filled below which a run fails (the 2020 download: 1.0 each,
    # 0.997 for the date)
    custom_settings = {"SPIDERMON_FIELD_COVERAGE_RULES": {
        "Event/title": 1.0, "Event/operator": 0.99, "Event/region": 0.95, "Event/documents": 0.95,
        "Event/date": 0.9}}

    def __init__(self, start_url: str = LIVE_URL, **kwargs):
        super().__init__(**kwargs)
        self.start_url = start_url

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse)

    def parse(self, response):
        start = response.body[:4096].decode("utf-8-sig", errors="replace").lstrip()
        if not start.startswith(('"AOSNUMBER"', "AOSNUMBER")):
            stop(self, "not_csv", f"{response.url} is not the Atlas CSV (starts {start[:60]!r})")
        # Decoded as it is read, not all at once: a whole decoded copy of a large download, and
        # the four bytes a character a StringIO of it takes, would cost five times its size.
        # Strictly: the Atlas serves UTF-8, and text in another encoding would be read as other
        # words; the run stops at the first byte that is not UTF-8 and keeps the last snapshot.
        reader = csv.DictReader(io.TextIOWrapper(io.BytesIO(response.body), encoding="utf-8-sig",
                                                 newline=""))
        try:
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                stop(self, "columns_changed", f"{response.url} lacks columns {missing}; "
                                              f"header is {reader.fieldnames}")
            for row in reader:
                if _cell(row, "Technology") == TECHNOLOGY:
                    yield self.deployment(row)
        except UnicodeDecodeError as error:
            stop(self, "not_utf8", f"{response.url} is not UTF-8 text: {error}")

    def deployment(self, row: dict) -> Deployment:
        agency = _cell(row, "Agency")
        documents = [
            DocumentRef(url=_cell(row, f"Link {n}"), publisher=_cell(row, f"Link {n} Source") or None,
                        published=_cell(row, f"Link {n} Date") or None,
                        archive_url=_cell(row, f"Link {n} Snapshot") or None,
                        role="official" if re.search(r"gov|record", _cell(row, f"Link {n} Type"), re.I)
                        else "coverage")
            for n in (1, 2, 3) if _cell(row, f"Link {n}")
        ]
        documents += [DocumentRef(url=url) for url in re.findall(r"https?://\S+", _cell(row, "Other Links"))]
        return Deployment(
            source=self.name,
            source_id=_cell(row, "AOSNUMBER"),
            title=f"Face recognition used by {agency} ({_cell(row, 'State')})",
            summary=_cell(row, "Summary") or None,
            date=earliest(_cell(row, f"Link {n} Date") for n in (1, 2, 3)),
            date_basis="earliest_report",
            country="US",
            region=_cell(row, "State") or None,
            county=_cell(row, "County") or None,
            place=_cell(row, "City") or None,
            operator=agency or None,
            vendors=[v.strip() for v in _cell(row, "Vendor").split(",") if v.strip()],
            sector=SECTORS.get(_cell(row, "Type of LEA"), "policing"),
            source_url="https://atlasofsurveillance.org/",
            documents=documents,
        )
