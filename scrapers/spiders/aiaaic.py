"""The AIAAIC Repository's incident sheet: its face recognition entries, as discovered documents.

Live: the public Google Sheet's CSV export (LIVE_EXPORT, CC BY-SA 4.0, credit AIAAIC). The raw
export opens with a merged title row ("Incidents,,,"), then the column names, then a sub-header
row; a flattened copy starts at the column names. The header is the first row whose first cell is
"AIAAIC ID#", and a row is an entry only if its first cell is an AIAAIC id (so the sub-header and
blank rows are passed over). Columns are read by the start of their name (COLUMNS), since their
exact wording has drifted between versions ("Technology(ies)", "Technology"). An entry is kept
when its technology names face or facial recognition; each becomes a DiscoveredDocument whose
address is the entry's AIAAIC page (Summary/links), whose title is its headline and whose summary
lists the sheet's own fields (when it occurred, where, who deployed and developed it, the
purpose and issues), so the classifier reads more than a headline. The sheet gives no day an
entry was published ("Occurred" is the year of the incident), so `published` is left empty.

Offline: `scrapy crawl aiaaic -a start_url=file:///path/export.csv`. An answer that is not the
sheet (Google's HTML sign-in or error page, an HTTP error) or one that lacks the needed columns
stops the run (`not_the_sheet`, `columns_changed`) and the last snapshot is kept; text that is
not UTF-8 stops it too (`not_utf8`), and so does no answer at all (`sheet_unreachable`, then
`sheet_unread`).
"""

import csv
import io
import re

import scrapy

from scrapers.discoveries import DiscoverySpider
from scrapers.items import DiscoveredDocument
from scrapers.sourceerror import stop

LIVE_EXPORT = ("https://docs.google.com/spreadsheets/d/1Bn55B4xz21-_Rgdr8BBb2lt0n_4rzLGxFADMlVW0PYI/"
               "export?format=csv&gid=888071280")
PUBLISHER = "AIAAIC Repository"
ID_COLUMN = "AIAAIC ID#"
ENTRY_ID = re.compile(r"^AIAAIC\d+$")
# what each field is called, by the start of the column's name
COLUMNS = {"headline": "Headline", "occurred": "Occurred", "country": "Country", "sector": "Sector",
           "deployer": "Deployer", "developer": "Developer", "system": "System name",
           "technology": "Technolog", "purpose": "Purpose", "issue": "Issue", "link": "Summary/links"}
REQUIRED = ("headline", "technology", "link")
FACE_RECOGNITION = re.compile(r"\bfac(?:e|ial) recognition\b", re.IGNORECASE)
SUMMARY_FIELDS = (("occurred", "Occurred"), ("country", "Country"), ("sector", "Sector"),
                  ("deployer", "Deployer"), ("developer", "Developer"), ("system", "System"),
                  ("technology", "Technology"), ("purpose", "Purpose"), ("issue", "Issues"))


def header_positions(header: list[str]) -> dict[str, int]:
    """Each field's column index, found by the start of the column's name."""
    positions = {}
    for field, start in COLUMNS.items():
        found = [i for i, name in enumerate(header) if name.strip().lower().startswith(start.lower())]
        if found:
            positions[field] = found[0]
    return positions


def entry_summary(values: dict[str, str]) -> str:
    """The sheet's fields of an entry as one line: "Occurred: 2021. Country: USA. ..."."""
    return " ".join(f"{label}: {values[field]}." for field, label in SUMMARY_FIELDS if values.get(field))


class AiaaicSpider(DiscoverySpider):
    name = "aiaaic"
    what_failed = "sheet_unread"
    custom_settings = {**DiscoverySpider.custom_settings,
                       "SPIDERMON_FIELD_COVERAGE_RULES": {"Event/title": 1.0, "Event/url": 1.0}}

    def __init__(self, start_url: str = LIVE_EXPORT, **kwargs):
        super().__init__(**kwargs)
        self.start_url = start_url

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse, errback=self.unreachable,
                             meta={"handle_httpstatus_all": True})

    def unreachable(self, failure):
        """No answer (a network failure, or robots.txt forbids it): dropped, so the run, which then
        read nothing, fails."""
        self.drop("sheet_unreachable", self.start_url, f"{type(failure.value).__name__}: {failure.value}")

    def parse(self, response):
        if response.status >= 400:
            stop(self, "not_the_sheet", f"{response.url} answered HTTP {response.status}")
        try:
            text = response.body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            stop(self, "not_utf8", f"{response.url} is not UTF-8 (byte {error.start}: "
                                   f"{response.body[error.start:error.start + 1]!r})")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header_at = next((i for i, row in enumerate(rows[:5]) if row and row[0].strip() == ID_COLUMN), None)
        if header_at is None:
            stop(self, "not_the_sheet", f"{response.url} is not the AIAAIC sheet (starts {text[:60]!r})")
        positions = header_positions(rows[header_at])
        if missing := [COLUMNS[field] for field in REQUIRED if field not in positions]:
            stop(self, "columns_changed", f"{response.url} lacks columns starting {missing}; "
                                          f"it has {rows[header_at]}")
        self.read += 1
        for row in rows[header_at + 1:]:
            if not row or not ENTRY_ID.match(row[0].strip()):
                continue
            values = {field: " ".join(row[i].split()) for field, i in positions.items() if i < len(row)}
            if not FACE_RECOGNITION.search(values.get("technology", "")):
                self.crawler.stats.inc_value("frt/skipped/not_face_recognition")
                continue
            yield DiscoveredDocument(url=values.get("link", ""), title=values.get("headline") or None,
                                     publisher=PUBLISHER, published=None, language="en",
                                     summary=f"{row[0].strip()}. {entry_summary(values)}",
                                     spider=self.name, query=self.start_url)
