"""Row pages: an event (deployment, wrongful arrest, legal action) with its place, its facts, the
organisations and documents linked to it, its source, the claims it backs and a Cite block; an
organisation or a document with the events it is linked to, by role. Every row page names its
permanent address as canonical, with a title and a description for link previews (Open Graph).

templates/row.html shows what `event_context`, `linked_events` and `preview` give it; rows other
than events keep Datasette's own page below their title. An event's row and everything its page
shows with it are read in one trip to a query thread.
"""

import sqlite3
from urllib.parse import urlsplit

from datasette import hookimpl
from datasette.utils import tilde_decode

from pipelines.clean.places import country_name
from pipelines.vocab import EVENT_KINDS, EVENT_TABLES
from publish.cite import Reference, bibtex, content_hash, csl_json, plain_text
from publish.countries import country_label

DATABASE = "evidence"
FACTS = {
    "deployments": [("operator", "Operator"), ("vendor", "Vendor"), ("system", "System"),
                    ("sector", "Sector"), ("mode", "Mode"), ("status", "Status"),
                    ("end_date", "Ended")],
    "wrongful_arrests": [("person", "Person"), ("agency", "Agency"), ("vendor", "Vendor"),
                         ("system", "System"), ("charges", "Charges"),
                         ("days_detained", "Days in custody"), ("outcome", "Outcome"),
                         ("lawsuit", "Lawsuit"), ("settlement", "Settlement")],
    "legal_actions": [("kind", "Kind"), ("status", "Status"),
                      ("jurisdiction", "Jurisdiction"), ("jurisdiction_level", "Level"),
                      ("scope", "Scope"), ("target", "Against"), ("amount", "Amount")],
    "declarations": [("kind", "Kind"), ("organisers", "Organisers"), ("signatories", "Signatories"),
                     ("signatories_qualifier", "Number given as"), ("signatories_date", "Counted on"),
                     ("signatory_kind", "Signed by"), ("addressed_to", "Addressed to"),
                     ("scope", "Scope"), ("demand", "Demand"), ("end_date", "Closed")],
}
CODED_FACTS = {"sector", "mode", "status", "kind", "jurisdiction_level", "signatories_qualifier",
               "signatory_kind"}  # shown with spaces for _
EVENT_QUERIES = {
    "organisations": "select eo.role, o.id, o.name, o.kind from event_organisations eo "
                     "join organisations o on o.id = eo.organisation_id where eo.event_id = :id "
                     "order by eo.role, o.name",
    "documents": "select c.role, c.quote, d.id, d.url, d.title, d.publisher, d.published, d.archive_url "
                 "from citations c join documents d on d.id = c.document_id where c.event_id = :id "
                 "order by d.published desc, d.publisher, d.id",
    "source": "select * from sources where id = :source",
    "claims": "select c.id, c.letter, c.quote, c.supported, e.timing from claim_evidence e join claims c on "
              "c.id = e.claim_id where e.evidence_id = :id order by e.timing desc, c.letter, c.id",
    "aliases": "select alias from id_aliases where id = :id order by alias",
    "release": "select value from build where key = 'built_at'",
}
# What names a row that is not an event in a link preview: its table's column of a title, and of a
# line that describes it.
PREVIEW_COLUMNS = {"organisations": ("name", "kind"), "documents": ("title", "publisher"),
                   "sources": ("name", "licence"), "claims": ("quote", "reason")}
LINKED_EVENTS = {
    "organisations": "select eo.role, e.id, e.kind, e.event_table, e.title, e.date, e.country, "
                     "e.place from event_organisations eo join evidence e on e.id = eo.event_id "
                     "where eo.organisation_id = ? order by eo.role, e.date desc, e.id",
    "documents": "select c.role, e.id, e.kind, e.event_table, e.title, e.date, e.country, e.place "
                 "from citations c join evidence e on e.id = c.event_id "
                 "where c.document_id = ? order by e.date desc, e.id",
}


def place_line(row: dict) -> str:
    """Place, county, region and country, as far as known: "Detroit, Michigan, United States"."""
    parts = [row.get("place"), row.get("county"), row.get("region")]
    if row.get("country"):
        try:
            parts.append(country_name(row["country"]))
        except (AttributeError, KeyError):
            parts.append(row["country"])
    return ", ".join(dict.fromkeys(part for part in parts if part))


def short_url(url: str, length: int = 80) -> str:
    """A URL as a reader scans it: host without www, then the path, cut to length."""
    parts = urlsplit(url)
    text = parts.netloc.lower().removeprefix("www.") + parts.path.rstrip("/")
    return text if len(text) <= length else text[:length - 1] + "…"


def facts(table: str, row: dict, organisations: list[dict]) -> list[dict]:
    """The row's facts worth a reader's eye, labelled; operator, agency, vendor and target link
    to the organisations that event_organisations names in that role."""
    out = []
    for column, label in FACTS[table]:
        value = row.get(column)
        if value in (None, "", "unknown"):
            continue
        if column == "amount":
            value = f"{value:,.0f} {row.get('currency') or ''}".strip()
        elif column == "end_date":
            value = f"{value} ({row.get('end_date_precision') or 'precision unknown'})"
        elif column in CODED_FACTS:
            value = str(value).replace("_", " ")
        out.append({"label": label, "value": value,
                    "links": [o for o in organisations if o["role"] == column]})
    return out


def read_event(table: str, row_id: str):
    """A function reading an event's row and what its page shows with it, in one trip to a query
    thread, for Database.execute_fn."""
    def read(conn: sqlite3.Connection) -> dict | None:
        cursor = conn.execute(f"select * from [{table}] where id = ?", [row_id])
        found = cursor.fetchone()
        if found is None:
            return None
        row = dict(zip([d[0] for d in cursor.description], found, strict=True))
        answer = {"row": row}
        for name, sql in EVENT_QUERIES.items():
            cursor = conn.execute(sql, {"id": row_id, "source": row["source"]})
            columns = [d[0] for d in cursor.description]
            answer[name] = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
        return answer
    return read


async def event_context(datasette, request, table: str) -> dict:
    row_id = tilde_decode(request.url_vars["pks"])
    read = await datasette.get_database(DATABASE).execute_fn(read_event(table, row_id))
    if read is None:
        return {}
    row, documents = read["row"], read["documents"]
    for document in documents:
        document["label"] = document["title"] or short_url(document["url"])
    release = read["release"][0]["value"] if read["release"] else "unreleased"
    url = datasette.absolute_url(request, datasette.urls.row(DATABASE, table, row["id"]))
    ref = Reference(table=table, row_id=row_id, title=row["title"] or row_id, url=url,
                    release=release, sha256=content_hash(row))
    return {"event": {
        "row": row, "kind_code": EVENT_KINDS[table], "place": place_line(row),
        "country_name": country_label(row.get("country")),
        "facts": facts(table, row, read["organisations"]), "documents": documents,
        "source": read["source"][0] if read["source"] else None, "claims": read["claims"],
        "aliases": [r["alias"] for r in read["aliases"]], "reference": ref,
        "json_url": datasette.urls.row(DATABASE, table, row["id"], format="json") + "?_shape=array",
        "cite": {"text": plain_text(ref), "bibtex": bibtex(ref), "csl_json": csl_json(ref)},
    }}


async def preview(datasette, request, table: str) -> dict:
    """A row's permanent address and its table's title; for a table of PREVIEW_COLUMNS, the row's
    title and description."""
    row_id = tilde_decode(request.url_vars["pks"])
    shown = {"url": datasette.absolute_url(request, datasette.urls.row(DATABASE, table, row_id)),
             "title": row_id, "description": "",
             "table_title": datasette.metadata("title", database=DATABASE, table=table) or table}
    if table in PREVIEW_COLUMNS:
        title, line = PREVIEW_COLUMNS[table]
        found = (await datasette.get_database(DATABASE).execute(
            f"select [{title}], [{line}] from [{table}] where id = ?", [row_id])).first()
        if found:
            shown["title"], shown["description"] = found[0] or row_id, found[1] or ""
    return {"preview": shown}


async def linked_events(datasette, request, table: str) -> dict:
    """The events an organisation or a document is linked to, by role."""
    db = datasette.get_database(DATABASE)
    by_role: dict[str, list[dict]] = {}
    for row in await db.execute(LINKED_EVENTS[table], [tilde_decode(request.url_vars["pks"])]):
        by_role.setdefault(row["role"] or "linked", []).append(dict(row))
    return {"linked_events": by_role, **await preview(datasette, request, table)}


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template != "row.html" or database != DATABASE:
        return {}
    if table in EVENT_TABLES:
        return lambda: event_context(datasette, request, table)
    if table in LINKED_EVENTS:
        return lambda: linked_events(datasette, request, table)
    if "," not in request.url_vars["pks"]:  # a row of one primary key column
        return lambda: preview(datasette, request, table)
    return {}
