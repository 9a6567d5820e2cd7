"""AI Incident Database: facial recognition incidents → wrongful arrests, legal actions, deployments.

Two routes, one mapping:
- snapshot (default): the weekly public snapshot listed at /research/snapshots/; the spider takes
  the newest backup-*.tar.bz2 and reads `incidents.csv` (mongoexport CSV: JSON arrays of entity
  slugs, report numbers) and `duplicates.csv` from it. A snapshot's incidents.csv can be read
  directly: `scrapy crawl aiid -a start_url=file:///path/incidents.csv` (a duplicates.csv beside
  it is honoured).
- graphql: `POST /api/graphql` (read-only, no key), incidents newer than `-a since=<incident_id>`,
  50 a page: `scrapy crawl aiid -a route=graphql -a since=1000` (`-a graphql_url=` for another
  endpoint). Such a run is incremental: it adds and updates incidents and marks none as gone.
Which incidents and which table: the project's classifier (pipelines/classify) reads each
incident's title and description. An incident it does not judge about face recognition is left
out; one it judges a wrongful arrest that names exactly one harmed person is a wrongful arrest; a
title with a legal word (LEGAL_KINDS: fine, lawsuit, court ruling, regulator's decision) is a legal
action of that kind and status; every other incident is a deployment.
AIID data is CC BY-SA 4.0. A duplicate incident (duplicates.csv) is not a row of its own: its id
goes to `merged_ids` of the incident it duplicates, which the build turns into an id alias.

Parties: the AIID's alleged deployers and developers go to `deployers` and `developers`, only the
organisations among them (pipelines/clean/parties.py: people, accounts, groups and unnamed parties
never). A deployment's operator and a legal action's target are the first deployer; a wrongful
arrest's agency is the first deployer that is a police force (Macy's deployed the system in one
case, but did not arrest). A developer is a vendor only when it supplied a named deployer: it is
not among the deployers (nor one of them under a longer name, "wechat" for "wechat-pay") and it
is a company, not a police force, authority or court building its own system.
Sector: policing when a deployer is a police force; consumer when the incident is about checks a
company makes of its own customers or workers (phone unlocking, payment and wallet apps,
ride-hailing and delivery drivers' identity checks, parcel lockers, photo tagging) or frauds that
fool them (deepfakes).
"""

import csv
import io
import json
import re
import tarfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import scrapy

from pipelines.classify import classify
from pipelines.clean.organisations import organisation_kind
from pipelines.clean.parties import harmed_person, is_organisation
from pipelines.clean.places import find_country
from scrapers.items import Deployment, DocumentRef, LegalAction, WrongfulArrest
from scrapers.sourceerror import stop

SITE = "https://incidentdatabase.ai"
SNAPSHOTS_URL = f"{SITE}/research/snapshots/"
GRAPHQL_URL = f"{SITE}/api/graphql"
PAGE_SIZE = 50
ARCHIVE_MAXSIZE = 2 * 2**30  # the weekly snapshot archive (every report's text); a listing is 32 MiB at most
GRAPHQL_FIELDS = {"incident_id", "date", "title", "description", "reports", "AllegedDeployerOfAISystem",
                  "AllegedDeveloperOfAISystem", "AllegedHarmedOrNearlyHarmedParties"}
LEGAL_KINDS = ((re.compile(r"\bfine[sd]?\b", re.I), "fine", "decided"),
               (re.compile(r"lawsuit|class action|\bsue[sd]?\b", re.I), "lawsuit", "filed"),
               (re.compile(r"\bcourt\b|\bruling\b|\bruled\b", re.I), "court_ruling", "decided"),
               (re.compile(r"deemed (?:illegal|unlawful)|suspended for illegal|reprimand", re.I),
                "regulator_decision", "decided"))
POLICING = re.compile(r"police|sheriff|law-enforcement|nypd|-pd$")
CONSUMER = re.compile(r"face id\b|unlock|their phones|\bwallet app|\bpay\b|financial transactions|"
                      r"locker|delivery driver|drivers? (?:in \w+ )?(?:were |was )?(?:locked|subjected)|"
                      r"\bdrivers\b.*\baccounts\b|photo tagging|tag suggestions|deepfake|face-swapping", re.I)
VENDOR_KINDS = ("vendor", "company")
ACRONYMS = {"nypd", "pd", "us", "uk", "ai", "frt", "cbp", "fbi", "dhs", "nec", "ibm", "swp"}
QUERY = """query ($since: Int!, $skip: Int!, $limit: Int!) {
  incidents(filter: {incident_id: {GT: $since}}, pagination: {limit: $limit, skip: $skip},
            sort: {incident_id: ASC}) {
    incident_id date title description
    reports { report_number title url date_published source_domain }
    AllegedDeployerOfAISystem { entity_id name }
    AllegedDeveloperOfAISystem { entity_id name }
    AllegedHarmedOrNearlyHarmedParties { entity_id name }
  }
}"""


def entity_name(slug: str) -> str:
    words = slug.replace("'", "’").split("-")
    return " ".join(w.upper() if w in ACRONYMS else w[:1].upper() + w[1:] for w in words).replace("’", "'")


def supplied_by(deployers: list[tuple[str, str]], developers: list[tuple[str, str]]) -> list[str]:
    """The developers that supplied the system to a deployer: organisations that are not deployers
    themselves (nor one of them under a longer or shorter name) and are companies; none when no
    deployer is named."""
    theirs = [slug for slug, _ in deployers]
    return [name for slug, name in developers if theirs
            if not any(slug == other or other.startswith(f"{slug}-") or slug.startswith(f"{other}-")
                       for other in theirs)
            and organisation_kind(name, "vendor") in VENDOR_KINDS]


class AiidSpider(scrapy.Spider):
    name = "aiid"
    # shares of incidents with each field filled below which a run fails (the March 2025
    # snapshot: 1.0 each, 0.75 for the country guessed from place names)
    custom_settings = {"SPIDERMON_FIELD_COVERAGE_RULES": {
        "Event/title": 1.0, "Event/date": 0.95, "Event/documents": 1.0, "Event/country": 0.5}}

    def __init__(self, start_url: str = SNAPSHOTS_URL, route: str = "snapshot", since: str = "0",
                 graphql_url: str = GRAPHQL_URL, **kwargs):
        super().__init__(**kwargs)
        if route not in ("snapshot", "graphql"):
            raise ValueError(f"route must be 'snapshot' or 'graphql', not {route!r}")
        self.start_url, self.route, self.since = start_url, route, int(since)
        self.graphql_url = graphql_url
        self.incremental = route == "graphql"  # only incidents newer than `since`: none is gone

    async def start(self):
        if self.route == "graphql":
            yield self.graphql_request(skip=0)
        elif self.start_url.endswith(".csv"):
            duplicates = self._sibling_duplicates(self.start_url)
            if duplicates:
                yield scrapy.Request(duplicates, callback=self.parse_duplicates_then_incidents)
            else:
                yield scrapy.Request(self.start_url, callback=self.parse_incidents_csv)
        else:
            yield scrapy.Request(self.start_url, callback=self.parse_snapshot_list)

    @staticmethod
    def _sibling_duplicates(url: str) -> str | None:
        sibling = urljoin(url, "duplicates.csv")
        if url.startswith("file://") and not Path(url2pathname(urlsplit(sibling).path)).exists():
            return None
        return sibling

    def parse_snapshot_list(self, response):
        links = sorted(response.css('ul[data-cy="snapshots-list"] a::attr(href), a::attr(href)')
                       .re(r".*backup-\d{14}\.tar\.bz2$"))
        if not links:
            stop(self, "no_snapshot_link", f"{response.url} lists no backup-*.tar.bz2 link")
        # the weekly archive holds every report's full text: far more than a listing may weigh
        yield response.follow(links[-1], callback=self.parse_snapshot_archive,
                              meta={"download_maxsize": ARCHIVE_MAXSIZE})

    def parse_snapshot_archive(self, response):
        try:
            with tarfile.open(fileobj=io.BytesIO(response.body), mode="r:bz2") as archive:
                files = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
                incidents = archive.extractfile(files["incidents.csv"]).read().decode("utf-8")
                duplicates = (archive.extractfile(files["duplicates.csv"]).read().decode("utf-8")
                              if "duplicates.csv" in files else "")
        except (tarfile.TarError, KeyError, EOFError, OSError, UnicodeDecodeError) as error:
            stop(self, "bad_snapshot", f"{response.url} is not a readable snapshot: {error!r}")
        yield from self.incidents_from_csv(incidents, self.read_duplicates(duplicates))

    def parse_duplicates_then_incidents(self, response):
        duplicates = self.read_duplicates(self._csv_text(response))
        yield scrapy.Request(self.start_url, callback=self.parse_incidents_csv,
                             cb_kwargs={"duplicates": duplicates})

    def parse_incidents_csv(self, response, duplicates=None):
        yield from self.incidents_from_csv(self._csv_text(response), duplicates or {})

    def _csv_text(self, response) -> str:
        try:  # strictly: mongoexport writes UTF-8, and other bytes would be read as other words
            text = response.body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            stop(self, "not_utf8", f"{response.url} is not UTF-8 text: {error}")
        if text.lstrip().startswith("<"):
            stop(self, "not_csv", f"{response.url} is not CSV but markup (starts {text.lstrip()[:60]!r})")
        return text

    def read_duplicates(self, text: str) -> dict[str, str]:
        return {row["duplicate_incident_number"].strip(): row["true_incident_number"].strip()
                for row in csv.DictReader(io.StringIO(text))
                if row.get("duplicate_incident_number") and row.get("true_incident_number")}

    def incidents_from_csv(self, text: str, duplicates: dict[str, str]):
        reader = csv.DictReader(io.StringIO(text))
        if not {"incident_id", "title", "description"} <= set(reader.fieldnames or ()):
            stop(self, "columns_changed", f"incidents.csv header is {reader.fieldnames}")
        merged: dict[str, list[str]] = {}
        for duplicate, true in duplicates.items():
            merged.setdefault(true, []).append(duplicate)
        for row in reader:
            incident_id = (row.get("incident_id") or "").strip()
            if incident_id in duplicates:
                self.crawler.stats.inc_value("frt/aiid/duplicate_incident")
                continue
            try:
                entities = {role: json.loads(row.get(column) or "[]") for role, column in (
                    ("deployers", "Alleged deployer of AI system"),
                    ("developers", "Alleged developer of AI system"),
                    ("harmed", "Alleged harmed or nearly harmed parties"))}
            except json.JSONDecodeError as error:
                self.crawler.stats.inc_value("frt/aiid/malformed_row")
                self.logger.warning("incident %s: entity list is not JSON (%s)", incident_id, error)
                continue
            names = {role: [(slug, entity_name(slug)) for slug in slugs]
                     for role, slugs in entities.items()}
            item = self.incident(incident_id, row.get("date"), row.get("title") or "",
                                 row.get("description") or "", names, reports=[])
            if item:
                item.merged_ids = sorted(merged.get(incident_id, []), key=int)
                yield item

    def graphql_request(self, skip: int) -> scrapy.Request:
        body = {"query": QUERY, "variables": {"since": self.since, "skip": skip, "limit": PAGE_SIZE}}
        return scrapy.Request(self.graphql_url, method="POST", body=json.dumps(body),
                              headers={"Content-Type": "application/json"},
                              callback=self.parse_graphql, cb_kwargs={"skip": skip})

    def parse_graphql(self, response, skip: int):
        try:
            incidents = json.loads(response.body)["data"]["incidents"]  # bytes: UTF-8, strictly
        except (ValueError, KeyError, TypeError) as error:
            stop(self, "bad_graphql", f"{response.url}: unexpected GraphQL answer ({error!r}): "
                                      f"{response.text[:200]!r}")
        for incident in incidents:
            if missing := sorted(GRAPHQL_FIELDS - set(incident)):
                stop(self, "fields_missing", f"{response.url}: incident {incident.get('incident_id')} "
                                             f"lacks {missing}: the API's schema changed")
            names = {role: [(e["entity_id"], e.get("name") or entity_name(e["entity_id"]))
                            for e in incident.get(field) or ()]
                     for role, field in (("deployers", "AllegedDeployerOfAISystem"),
                                         ("developers", "AllegedDeveloperOfAISystem"),
                                         ("harmed", "AllegedHarmedOrNearlyHarmedParties"))}
            item = self.incident(str(incident["incident_id"]), incident.get("date"),
                                 incident.get("title") or "", incident.get("description") or "",
                                 names, reports=incident.get("reports") or [])
            if item:
                yield item
        if len(incidents) == PAGE_SIZE:
            yield self.graphql_request(skip + PAGE_SIZE)

    def incident(self, incident_id, when, title, description, names, reports):
        """One AIID incident as the item of the table it belongs to, or None if not about FR."""
        title, description = title.strip(), description.strip()
        judgement = classify({"title": title, "text": description}, names=False)
        if not judgement["frt"]:
            return None
        cite = f"{SITE}/cite/{incident_id}/"
        documents = [DocumentRef(url=cite, title=title, publisher="AI Incident Database",
                                 role="dataset")]
        documents += [DocumentRef(url=r["url"], title=r.get("title"), publisher=r.get("source_domain"),
                                  published=r.get("date_published"))
                      for r in reports if r.get("url")]
        country, region = find_country(title) or find_country(description) or (None, None)
        deployers = [(slug, name) for slug, name in names["deployers"] if is_organisation(slug)]
        developers = [(slug, name) for slug, name in names["developers"] if is_organisation(slug)]
        operators = [name for _, name in deployers]
        common = dict(source=self.name, source_id=incident_id, title=title, summary=description,
                      date=when, country=country, region=region, source_url=cite,
                      documents=documents, deployers=operators,
                      developers=[name for _, name in developers])
        vendors = supplied_by(deployers, developers)
        people = [name for slug, name in names["harmed"] if harmed_person(slug)]
        if judgement["kind"] == "wrongful_arrest" and len(people) == 1:
            police = [name for name in operators if organisation_kind(name, "agency") == "police"]
            return WrongfulArrest(**common, person=people[0], vendors=vendors,
                                  agency=police[0] if police else None)
        for pattern, kind, status in LEGAL_KINDS:
            if pattern.search(title):
                if kind == "regulator_decision" and re.search(r"\bcourt\b", description, re.I):
                    kind = "court_ruling"
                return LegalAction(**common, kind=kind, status=status,
                                   target=operators[0] if operators else None)
        if any(POLICING.search(slug) for slug, _ in deployers):
            sector = "policing"
        elif CONSUMER.search(f"{title} {description}"):
            sector = "consumer"
        else:
            sector = "unknown"
        return Deployment(**common, operator=operators[0] if operators else None, vendors=vendors,
                          sector=sector)
