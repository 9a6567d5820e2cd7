"""Matching on the repository's real rows: one event reported by several sources is found, and
look-alikes (other arrests by the same police, other fines of the same company) are not."""

from datetime import date

import pytest
from conftest import REPO, RUN_DATE, file_response, make_spider, shared_file
from served import write_items

from pipelines.match.events import repeating_sources
from pipelines.match.matching import AUTO_MERGE, REVIEW, Matcher
from pipelines.match.similarity import dates, interval, organisation, person
from pipelines.read.records import Records
from scrapers.spiders.aiid import AiidSpider

DATA = REPO / "data"


def matcher_for(items_dir):
    records = [record for record, _ in Records(items_dir, DATA / "curated")]
    return Matcher(records, repeating_sources(DATA / "sources.yml"))


@pytest.fixture(scope="module")
def matcher():
    return matcher_for(DATA / "items")


# --- the comparators -----------------------------------------------------------------------


@pytest.mark.parametrize("a, b, low, high", [
    ("Randall Reid", "Randal Quran Reid", 0.9, 0.95),       # AIID 440 against AIID 515
    ("Randal Reid", "Randal Quran Reid", 1.0, 1.0),           # a middle name is no difference
    ("Harvey Murphy Jr", "Harvey Eugene Murphy Jr.", 1.0, 1.0),
    ("Robert Julian Borchak Williams", "Robert Williams", 1.0, 1.0),
    ("Robert Williams", "Trevis Williams", 0.0, 0.5),         # same surname, other man
    ("Michael Oliver", "Porcha Woodruff", 0.0, 0.3),
])
def test_person_names(a, b, low, high):
    assert low <= person(a, b) <= high


def test_unknown_is_no_evidence():
    assert person(None, "Randal Reid") is None
    assert organisation("", "Detroit Police Department") is None


@pytest.mark.parametrize("a, b, low, high", [
    ("Dataworks Plus", "dataworks-plus", 1.0, 1.0),
    ("Jefferson Parish Sheriff's Office (warrant); held in the DeKalb County jail",
     "Jefferson Parish Sheriff's Office", 1.0, 1.0),
    ("Baton Rouge Police Department", "Jefferson Parish Sheriff's Office", 0.0, 0.4),
    ("Detroit Police Department", "Woodbridge Police Department", 0.0, 0.5),
    ("Miami Police Department", "Miami-Dade Police Department", 0.0, 0.8),
    ("Hillsborough County Sheriff's Office", "Highlands County Sheriff's Office", 0.0, 0.85),
])
def test_organisation_names(a, b, low, high):
    assert low <= organisation(a, b) <= high


def test_dates_at_their_precision():
    assert interval("2019-07", "month") == (date(2019, 7, 1), date(2019, 7, 31))
    assert interval("2019-12", "month") == (date(2019, 12, 1), date(2019, 12, 31))
    assert interval("2017/2018", "range") == (date(2017, 1, 1), date(2018, 12, 31))
    within_month = dates(interval("2019-07-31", "day"), interval("2019-07", "month"), 31, 365)
    assert within_month == 1.0
    halfway = dates(interval("2020-01-01", "day"), interval("2020-07-01", "day"), 31, 365)
    assert halfway == pytest.approx(1 - (182 - 31) / (365 - 31))
    assert dates(interval("2019", "year"), interval("2023-02-16", "day"), 31, 365) == 0.0


# --- real pairs that are one event ---------------------------------------------------------


@pytest.mark.parametrize("left, right, subject", [
    ("arrest-aiid-515", "arrest-aiid-598", "person"),     # Randal Reid: the AIID lists him three times
    ("arrest-aiid-440", "arrest-aiid-598", "person"),
    ("arrest-aiid-440", "arrest-aiid-515", "person"),
    ("arrest-aiid-515", "arrest-us-jefferson-parish-2022", "person"),
    ("arrest-aiid-598", "arrest-us-jefferson-parish-2022", "person"),
    ("arrest-aiid-74", "arrest-us-detroit-2020", "person"),  # Robert Williams
    ("arrest-aiid-439", "arrest-us-detroit-2019", "person"),  # Michael Oliver
    ("arrest-aiid-592", "arrest-us-detroit-2023", "person"),  # Porcha Woodruff
    ("arrest-aiid-288", "arrest-us-woodbridge-2019", "person"),  # Nijeer Parks
    ("legal-aiid-781", "legal-nl-ap-clearview-2024", "target"),  # the Dutch DPA's Clearview fine
    ("dep-atlas-aos1097", "dep-us-miami-police-2020", "operator"),  # Miami PD's use of Clearview AI
    ("dep-atlas-aos2581", "dep-us-lockport-schools-2020", "operator"),  # Lockport schools
])
def test_one_event_from_several_sources_merges(matcher, left, right, subject):
    match = matcher.score(left, right)
    assert match is not None and match.automatic, match
    assert match.score >= AUTO_MERGE and match.fields[subject] >= 0.9
    assert (left, right) in matcher.pairs()


def test_the_three_reid_incidents_and_the_curated_row_are_all_found(matcher):
    reid = {"arrest-aiid-440", "arrest-aiid-515", "arrest-aiid-598", "arrest-us-jefferson-parish-2022"}
    automatic = {frozenset((m.left, m.right)) for m in matcher.matches() if m.automatic}
    joined = set()
    for pair in automatic:
        if pair & reid:
            joined |= pair
    assert joined == reid


# --- look-alikes that must not merge -------------------------------------------------------


@pytest.mark.parametrize("left, right", [
    # Three different wrongful arrests by the Detroit Police Department, each in the AIID and curated.
    ("arrest-us-detroit-2019", "arrest-us-detroit-2020"),
    ("arrest-us-detroit-2019", "arrest-us-detroit-2023"),
    ("arrest-us-detroit-2020", "arrest-us-detroit-2023"),
    ("arrest-aiid-439", "arrest-aiid-74"),
    ("arrest-aiid-439", "arrest-aiid-592"),
    ("arrest-aiid-592", "arrest-aiid-74"),
    ("arrest-aiid-74", "arrest-us-detroit-2023"),
    ("arrest-aiid-439", "arrest-us-detroit-2020"),
    # Clearview AI fined by the Dutch, French, Italian, Greek and UK regulators.
    ("legal-aiid-781", "legal-fr-cnil-clearview-2022"),
    ("legal-aiid-781", "legal-it-garante-clearview-2022"),
    ("legal-aiid-781", "legal-gr-hdpa-clearview-2022"),
    ("legal-aiid-781", "legal-gb-ico-clearview-2022"),
])
def test_look_alikes_are_refused(matcher, left, right):
    assert matcher.score(left, right) is None


def test_detroit_police_atlas_deployment_against_the_aiid_deployments(matcher):
    """The Atlas's Detroit PD row is one use of face recognition; no AIID deployment (shops in
    England, Buenos Aires) is the same, and the AIID's Detroit and Michigan arrests (a skating rink's
    wrongful ejection among them) are other events in another table."""
    atlas = "dep-atlas-aos0137"
    others = [i for i in matcher.sources if i.startswith("dep-aiid-") or i.startswith("arrest-aiid-")]
    assert "arrest-aiid-108" in others and "arrest-aiid-74" in others
    assert all(matcher.score(atlas, other) is None for other in others)
    assert not any(atlas in (m.left, m.right) for m in matcher.matches())


def test_rows_of_a_source_that_lists_each_event_once_are_never_paired(matcher):
    for left, right in matcher.pairs():
        sources = {matcher.sources[left], matcher.sources[right]}
        assert sources != {"curated"} and sources != {"atlas"}


def test_doubtful_pairs_are_left_for_review(matcher):
    found = {(m.left, m.right): m for m in matcher.matches()}
    murphy = found[("arrest-aiid-630", "arrest-us-houston-2023")]  # AIID dates the theft, not the arrest
    assert REVIEW <= murphy.score < AUTO_MERGE and murphy.fields["person"] == 1.0
    assert not murphy.automatic
    miami = found[("arrest-us-miami-2024", "dep-aiid-896")]  # a case and an incident about many, one report
    assert not miami.same_table and not miami.automatic and miami.fields["document"] == 1.0
    london = found[("arrest-aiid-692", "arrest-gb-london-2024")]  # the AIID files it as a detention too
    assert london.same_table and london.automatic and london.fields["person"] == 1.0


@pytest.mark.shared
def test_on_the_full_aiid_snapshot(tmp_path):
    """The whole real AIID snapshot: Miami's protester case cites the AIID's own page and merges;
    NYPD's other incidents (a 2016 camera report, the Woody Harrelson probe) do not."""
    snapshot = shared_file("aiid/aiid_snapshot_incidents_full.csv")
    # the spider's items through the crawl's pipeline into aiid.jsonl, in this process: the same
    # bytes as `scrapy crawl aiid -a start_url=<snapshot>` writes (test_spider_aiid.py crawls)
    spider = make_spider(AiidSpider, start_url=snapshot.as_uri())
    write_items(tmp_path, "aiid", list(spider.parse_incidents_csv(file_response(snapshot))), RUN_DATE)
    (tmp_path / "atlas.jsonl").write_bytes((DATA / "items" / "atlas.jsonl").read_bytes())
    full = matcher_for(tmp_path)
    miami = full.score("dep-aiid-557", "dep-us-miami-police-2020")
    assert miami.automatic and miami.fields["document"] == 1.0
    assert full.score("dep-aiid-558", "dep-us-nypd-hells-kitchen-2020").automatic
    assert not full.score("dep-aiid-472", "dep-aiid-518").automatic
    assert full.score("dep-aiid-310", "dep-gb-south-wales-police-2017").automatic is False
