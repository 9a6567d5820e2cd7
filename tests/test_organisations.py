"""Organisations: every spelling gives one canonical name and one stable id; kinds; several per field."""

import pytest

from pipelines.clean.organisations import (
    alias_ids,
    canonical_name,
    canonicalise,
    named_organisations,
    names_in,
    organisation_id,
    organisation_kind,
    registry,
)

# The main vendors, each with spellings sources use, and the id all of them must give.
VENDOR_SPELLINGS = [
    ("org-clearview-ai", ["Clearview AI", "Clearview", "clearview-ai"]),
    ("org-nec", ["NEC", "NEC Corporation", "nec", "NeoFace"]),
    ("org-idemia", ["IDEMIA", "Idemia", "OT-Morpho", "Morpho", "MorphoTrust", "Morphotrak"]),
    ("org-dataworks-plus", ["DataWorks Plus", "Dataworks Plus", "dataworks-plus", "Dataworks"]),
    ("org-amazon", ["Amazon", "Amazon Rekognition", "Rekognition", "AWS"]),
    ("org-microsoft", ["Microsoft", "Microsoft Corporation", "Azure Cognitive Services"]),
    ("org-ibm", ["IBM", "International Business Machines"]),
    ("org-cognitec", ["Cognitec", "Cognitec Systems"]),
    ("org-vigilant-solutions", ["Vigilant Solutions", "Vigilant", "vigilant-solutions"]),
    ("org-facewatch", ["Facewatch", "FaceWatch", "facewatch"]),
    ("org-hikvision", ["Hikvision", "Hangzhou Hikvision Digital Technology"]),
    ("org-dahua", ["Dahua", "Dahua Technology"]),
    ("org-sensetime", ["SenseTime", "Sensetime"]),
    ("org-megvii", ["Megvii", "Face++", "Megvii Face++"]),
    ("org-corsight-ai", ["Corsight AI", "Corsight", "corsight-ai"]),
    ("org-oosto", ["Oosto", "AnyVision", "anyvision"]),
]


@pytest.mark.parametrize("expected, spellings", VENDOR_SPELLINGS)
def test_every_spelling_of_a_main_vendor_gives_its_id(expected, spellings):
    assert {organisation_id(spelling) for spelling in spellings} == {expected}
    assert len({canonical_name(spelling) for spelling in spellings}) == 1


def test_police_forces_spelled_differently_by_the_aiid_and_the_curated_files():
    assert organisation_id("New York Police Department") == organisation_id("NYPD") \
        == "org-new-york-city-police-department"
    assert organisation_id("Southern Co Op") == "org-southern-co-operative"
    assert organisation_id("Companhia Do Metropolitano De Sao Paulo") == \
        "org-companhia-do-metropolitano-de-sao-paulo"


def test_an_unlisted_name_keeps_its_own_id():
    assert organisation_id("Example Police Department") == "org-example-police-department"


def test_every_other_spelling_is_an_alias_of_the_real_id():
    aliases = alias_ids()
    assert aliases["org-anyvision"] == ("org-oosto", "Oosto")
    assert aliases["org-amazon-rekognition"] == ("org-amazon", "Amazon")
    assert "org-dataworks-plus" not in aliases  # the slug of a spelling that is the real id
    real_ids = {organisation_id(org["name"]) for org in registry()}
    assert not set(aliases) & real_ids


@pytest.mark.parametrize("text, names", [
    ("Jefferson Parish Sheriff's Office (warrant); held in the DeKalb County jail",
     ["Jefferson Parish Sheriff's Office"]),
    ("Macy's; EssilorLuxottica", ["Macy's", "EssilorLuxottica"]),
    ("Gobierno de la Ciudad de Buenos Aires (Ministerio de Justicia y Seguridad; Policía de la Ciudad)",
     ["Gobierno de la Ciudad de Buenos Aires"]),
    ("New York City Police Department (Facial Identification Section)", ["New York City Police Department"]),
    ("Dataworks Plus", ["DataWorks Plus"]),
    ("eBay", ["eBay"]),
    ("(unknown)", []),
    (None, []),
])
def test_the_organisations_a_field_names(text, names):
    assert list(names_in(text)) == names


@pytest.mark.parametrize("name, role, kind", [
    ("DataWorks Plus", "vendor", "vendor"),
    ("Detroit Police Department", "agency", "police"),
    ("Example County Sheriff's Office", "agency", "police"),
    ("Ohio Bureau of Criminal Investigation", "operator", "police"),
    ("Tribunal de Justiça de São Paulo", "target", "court"),
    ("Example Data Protection Authority", "target", "regulator"),
    ("Lockport City School District", "operator", "authority"),
    ("Example Supermarkets", "operator", "company"),
    ("Example Analytics", "vendor", "vendor"),
    ("Southern Co-op", "operator", "company"),
])
def test_kinds(name, role, kind):
    assert organisation_kind(name, role) == kind


def test_named_organisations_include_those_of_merged_rows():
    record = {"agency": "Example Police Department (warrant); held in the Example County jail",
              "vendors": ["Clearview AI"],
              "merged_organisations": [["Example Sheriff's Office", "agency"], ["Clearview AI", "vendor"]]}
    assert named_organisations(record) == [("Example Police Department", "agency"),
                                           ("Clearview AI", "vendor"),
                                           ("Example Sheriff's Office", "agency")]


def test_deployers_and_developers_are_canonical_and_named_in_their_roles():
    record = canonicalise({"operator": "Example Police Department", "vendors": ["dataworks-plus"],
                           "deployers": ["Example Police Department"],
                           "developers": ["Dataworks Plus", "dataworks-plus"]})
    assert record["developers"] == ["DataWorks Plus"]
    assert named_organisations(record) == [("Example Police Department", "operator"),
                                           ("DataWorks Plus", "vendor"),
                                           ("Example Police Department", "deployer"),
                                           ("DataWorks Plus", "developer")]
    assert canonicalise({"vendors": []}) == {"vendors": []}  # a list the record lacks stays absent
