"""Names the words around them declare: the organisations of :mod:`~newswire.processors.organisations`, the people
of :mod:`~newswire.processors.surnames`, and the roles, places and companies the span rules read, on documents whose
entity spans are set by hand (a blank spaCy pipeline, no model). Every sentence is written for these tests.
"""

from __future__ import annotations

from newswire.processors.aliases import parse_aliases
from newswire.processors.cleaning import label_by_shape
from newswire.processors.entities import doc_spans, extract_entities
from tests.unit.processors.entity_docs import entity_doc

WANTED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})
NO_ALIASES = parse_aliases("")


def _read(text: str, *ents: tuple[str, str] | tuple[str, str, int]) -> dict[str, str]:
    entities = extract_entities(doc_spans(entity_doc(text, *ents)), NO_ALIASES, WANTED)
    return {entity.name: entity.label for entity in entities}


# --- the kind of body before or after a name -------------------------------------------------------------------
def test_a_kind_of_body_before_a_name_the_model_missed_makes_it_an_organisation():
    text = "Headline\nFares rose after the ferry operator Marlow Line cut its sailings."
    assert _read(text) == {"Marlow Line": "ORG"}


def test_a_place_inside_the_name_of_a_body_gives_way_to_the_body():
    text = "Headline\nThe tenants' charity Dunmore Homes Watch said rents doubled."
    assert _read(text, ("Dunmore", "GPE")) == {"Dunmore Homes Watch": "ORG"}


def test_a_kind_of_body_before_a_name_the_model_took_for_a_person_makes_it_an_organisation():
    assert _read("Headline\nViewers left the streaming site Vidlo in May.", ("Vidlo", "PERSON")) == {"Vidlo": "ORG"}
    text = "Headline\nFour were saved, said the national weather agency, Meteorna."
    assert _read(text, ("Meteorna", "PERSON")) == {"Meteorna": "ORG"}


def test_an_apposition_that_names_a_trade_makes_an_organisation():
    text = "Headline\nTarnwell, the Belgian maker of ferry engines, said orders rose."
    assert _read(text, ("Belgian", "NORP")) == {"Tarnwell": "ORG", "Belgian": "NORP"}
    text = "Headline\nFlemish Turbines, the Dutch maker of pumps, said orders fell."
    assert _read(text, ("Flemish", "NORP"), ("Dutch", "NORP")) == {"Flemish Turbines": "ORG", "Dutch": "NORP"}


def test_an_apposition_about_a_person_makes_no_organisation():
    text = "Headline\nOla Brandt, the group leader in the council, said no."
    assert "Ola Brandt" not in {name for name, label in _read(text).items() if label == "ORG"}


def test_a_party_or_group_after_a_name_makes_the_name_an_organisation():
    text = "Headline\nVoters backed the Green Dawn party, and Vane's Castellan group lost seats."
    assert _read(text, ("Green", "PERSON"), ("Vane", "PERSON")) == {
        "Green Dawn": "ORG",
        "Castellan": "ORG",
        "Vane": "PERSON",
    }


def test_a_nationality_a_feast_or_a_day_before_group_or_party_is_no_organisation():
    text = "Headline\nThe Carlist bloc met at a Christmas party, the group Monday said."
    assert _read(text, ("Carlist", "NORP")) == {"Carlist": "NORP"}


def test_an_institution_for_two_things_is_one_name():
    text = "Headline\nThe Council for Rivers and Wetlands said the dam must go."
    assert _read(text, ("Rivers", "ORG"), ("Wetlands", "PERSON")) == {"Council for Rivers and Wetlands": "ORG"}


def test_a_one_word_person_listed_with_an_organisation_is_an_organisation():
    text = "Headline\nThe depot supplies Brindle and Harlow Foods across the north."
    assert _read(text, ("Brindle", "PERSON"), ("Harlow Foods", "ORG")) == {"Brindle": "ORG", "Harlow Foods": "ORG"}


def test_a_surname_of_a_full_name_listed_with_an_organisation_stays_a_person():
    text = "Headline\nRuth Brindle sued. Brindle and Harlow Foods settled."
    entities = _read(text, ("Ruth Brindle", "PERSON"), ("Brindle", "PERSON", 2), ("Harlow Foods", "ORG"))
    assert entities == {"Ruth Brindle": "PERSON", "Harlow Foods": "ORG"}


def test_company_suffixes_make_organisations():
    assert label_by_shape("Castor Holdings") == "ORG"
    assert label_by_shape("Brightwater Airways") == "ORG"
    assert label_by_shape("Ostler Pharmaceuticals") == "ORG"


# --- people and places by the words around them ------------------------------------------------------------------
def test_a_full_name_whose_surname_the_article_repeats_is_a_person():
    text = "Headline\nZdenek Halabrin told the hearing he was innocent. Halabrin denied all charges."
    assert _read(text) == {"Zdenek Halabrin": "PERSON"}


def test_a_full_name_before_who_is_a_person():
    assert _read("Headline\nAnouk Brel, who runs the bakery, said prices rose.") == {"Anouk Brel": "PERSON"}


def test_a_capitalised_pair_said_once_and_without_who_is_left_alone():
    assert _read("Headline\nLater Halabrin told the hearing. Zdenek Rostal was absent.") == {}


def test_a_role_in_an_apposition_makes_a_person():
    text = "Headline\nAnouk Marr, named player of the match, limped off."
    assert _read(text, ("Anouk Marr", "ORG")) == {"Anouk Marr": "PERSON"}
    text = "Headline\nZdenek Quill, a senator from the north, voted no."
    assert _read(text, ("Zdenek Quill", "ORG")) == {"Zdenek Quill": "PERSON"}


def test_said_before_a_full_name_makes_a_person():
    text = "Headline\nThe boat sank at dawn, said Anouk Olenko of the rescue service."
    assert _read(text, ("Anouk Olenko", "ORG")) == {"Anouk Olenko": "PERSON"}


def test_a_region_noun_or_in_before_a_two_word_name_makes_a_place():
    text = "Headline\nFighters moved to the Tarvos region, and she lives in Ostra Vela now."
    assert _read(text, ("Tarvos", "PERSON"), ("Ostra Vela", "PERSON")) == {"Tarvos": "GPE", "Ostra Vela": "GPE"}


def test_in_before_a_persons_possessive_or_a_given_name_makes_no_place():
    text = "Headline\nThey had faith in Rafe Doyle's plan and in Jeremy Stone."
    entities = _read(text, ("Rafe Doyle", "PERSON"), ("Jeremy Stone", "PERSON"))
    assert entities == {"Rafe Doyle": "PERSON", "Jeremy Stone": "PERSON"}
