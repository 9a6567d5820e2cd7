"""Fixed vocabularies: every closed list of values the evidence base accepts, defined once.

Validation rejects any value outside these lists with a message naming the field and the value;
metadata.yml and the README describe the same lists for readers.
"""

EVENT_TABLES = ("deployments", "wrongful_arrests", "legal_actions", "declarations")
EVENT_KINDS = {"deployments": "deployment", "wrongful_arrests": "wrongful_arrest",
               "legal_actions": "legal_action", "declarations": "declaration"}

ID_PREFIXES = {
    "deployments": "dep",
    "wrongful_arrests": "arrest",
    "legal_actions": "legal",
    "declarations": "decl",
    "documents": "doc",
    "organisations": "org",
}

SECTORS = (
    "policing", "border", "transport", "retail", "education", "stadium", "welfare",
    "public_space", "housing", "health", "workplace", "government", "events", "finance",
    "online", "consumer", "other", "unknown",
)
MODES = ("live", "retrospective", "unknown")
DEPLOYMENT_STATUSES = ("proposed", "pilot", "active", "suspended", "banned", "ended", "unknown")

LEGAL_KINDS = (
    "ban", "moratorium", "restriction", "law", "bill", "court_ruling", "lawsuit", "complaint",
    "settlement", "regulator_decision", "fine", "company_moratorium", "resolution", "policy",
    "petition", "hearing",
)
JURISDICTION_LEVELS = ("city", "county", "state", "country", "supranational", "agency", "company")
LEGAL_STATUSES = (
    "proposed", "enacted", "in_force", "suspended", "expired", "repealed", "overturned",
    "filed", "pending", "decided", "settled", "dismissed", "withdrawn", "rejected",
)

# Declarations and open letters of civil society (data/curated/declarations.yml): what kind, who
# signed them, and how exactly their sources give the number of signatories.
DECLARATION_KINDS = ("declaration", "open_letter", "citizens_initiative", "petition")
SIGNATORY_KINDS = ("organisations", "people", "organisations_and_people")
COUNT_QUALIFIERS = ("exact", "more_than", "about", "almost")

# The letters' claims (data/curated/claims.yml): a verdict, and whether an evidence row is dated on
# or before the letter (it can back the claim) or after it (later evidence).
CLAIM_VERDICTS = ("yes", "partly", "no")
CLAIM_TIMINGS = ("before", "after")

CITATION_ROLES = ("primary", "coverage", "official", "dataset")
VERIFICATION = ("checked", "partly", "as_published")
ORGANISATION_ROLES = ("operator", "vendor", "agency", "target", "deployer", "developer")
ORGANISATION_KINDS = ("vendor", "police", "authority", "court", "regulator", "company")
MATCH_DECISIONS = ("same", "different")

DATE_PRECISIONS = ("day", "month", "year", "range")
# What an event's date is: the day it happened (as its source or curator gives it), or the
# earliest date of the reports its source links to (the Atlas gives no date of use).
DATE_BASES = ("event", "earliest_report")
