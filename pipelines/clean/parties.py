"""Who an AI Incident Database entity is: an organisation, or a person, an account, a group or a
party the AIID leaves unnamed, none of which is ever an organisation.

The AIID names each incident's alleged deployers, developers and harmed parties by entity slugs
("detroit-police-department", "clearview-ai", "black-people-in-detroit"). Its deployers and
developers include people (a student who wrote an app, researchers, suspects named in court
reports, defendants "Does 1-25"), social media accounts, groups ("police-departments",
"developers-of-mugshot-recognition-software") and unnamed parties ("unknown", "unnamed-korean-
companies"). Only an organisation may fill an operator, agency, target, vendor, deployer or
developer, and so become a row of `organisations`:

- a person is listed in data/aiid_people.txt by the SHA-256 of the AIID slug (the list names no
  one: see README, "Honouring a takedown request"), written as Chinese court reports anonymise
  people, surname and "Mou" (某, "a certain": "Wang Mou", "Zhang Moumou"), or described by a word
  for one person (student, employee, man, woman, boy, girl, teacher, litigant, individual);
- an account is "@handle", "x-user-…", "tiktok-user-…";
- an unnamed party says so (unknown, unnamed, unidentified, unspecified, anonymous, various, none);
- a group starts or ends with a plural noun for people or bodies.

A harmed party is taken for one person by `harmed_person`: two to five words, none of them a word
for a group of people. People appear in the evidence base only as the person of a wrongful arrest.
Usage: python -m pipelines.clean.parties <slug>... prints the lines that list the slugs as people.
"""

import hashlib
import re
import sys
from functools import cache
from pathlib import Path

PEOPLE_FILE = Path(__file__).resolve().parents[2] / "data" / "aiid_people.txt"
PSEUDONYM = re.compile(r"^[a-z]+-mou[a-z]{0,6}$")
DESCRIBED_PERSON = re.compile(r"(^|-)(student|employee|man|woman|boy|girl|teacher|litigant|individual)(-|$)")
ACCOUNT = re.compile(r"^@|(^|-)users?-(?!in-|on-|of-)|-user$")
UNNAMED = re.compile(r"(^|-)(unknown|unnamed|unidentified|unspecified|anonymous|various|none)(-|$)")
GROUP_NOUNS = frozenset("""departments companies organizations organisations developers researchers
    users scammers hackers fraudsters creators operators accounts channels networks governments
    agencies universities colleges students employees employers landlords doctors programmers cartels
    phishers extortionists blackmailers cybercriminals sextortionists supporters influencers
    propagandists actors groups firms providers teams candidates parties sellers drivers owners
    professionals consultants operatives attackers perpetrators criminals syndicates gangs boys
    individuals""".split())
# words for a group of people among the harmed parties ("black-people-in-detroit", "nyc-residents")
GROUP_WORDS = re.compile(r"people|residents|citizens|customers|shoppers|children|minorit|unknown|"
                         r"\bmen\b|women|public|users|employees|drivers|students|communit|"
                         r"muslims|palestinians|protest|travel|passengers|suspects|defendants|"
                         r"individuals|teenagers|victims|americans|general|black|lgbt|fans")


def slug_hash(slug: str) -> str:
    """The first 16 hex digits of the SHA-256 of an AIID entity slug: how data/aiid_people.txt lists it."""
    return hashlib.sha256(slug.encode("utf-8")).hexdigest()[:16]


@cache
def listed_people(path: Path = PEOPLE_FILE) -> frozenset[str]:
    """The slug hashes data/aiid_people.txt lists (a line's first word; '#' starts a comment)."""
    if not path.exists():
        return frozenset()
    lines = (line.split("#", 1)[0].split() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(words[0] for words in lines if words)


def is_person(slug: str) -> bool:
    """A person: listed in data/aiid_people.txt, anonymised as Chinese court reports do, or
    described by what they are ("unnamed-male-student", "employee-of-…")."""
    return (bool(PSEUDONYM.match(slug) or DESCRIBED_PERSON.search(slug))
            or slug_hash(slug) in listed_people())


def kind(slug: str) -> str:
    """person, account, unnamed, group or organisation."""
    if is_person(slug):
        return "person"
    if ACCOUNT.search(slug):
        return "account"
    if UNNAMED.search(slug):
        return "unnamed"
    words = slug.split("-")
    if words[0] in GROUP_NOUNS or words[-1] in GROUP_NOUNS:
        return "group"
    return "organisation"


def is_organisation(slug: str) -> bool:
    return kind(slug) == "organisation"


def harmed_person(slug: str) -> bool:
    """A harmed party the AIID names by a person's name: two to five words, none for a group."""
    return 2 <= slug.count("-") + 1 <= 5 and not GROUP_WORDS.search(slug) and not UNNAMED.search(slug)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(slug_hash(name))
