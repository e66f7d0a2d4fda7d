# ruff: noqa: RUF001 - typographic apostrophes and dashes are part of what these tests feed in
"""Entities read with the text around them and across articles: the rules of :func:`doc_spans` on documents whose
entity spans are set by hand (a blank spaCy pipeline, no model), the people, clubs, organisations and places of
:mod:`~newswire.processors.resolution`, and the :class:`EntityMemory` as the processor uses it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from newswire.errors import ConfigError
from newswire.processors.aliases import Place, parse_aliases, parse_places, shipped_given_names, shipped_places
from newswire.processors.entities import EntityMemory, dateline_name, doc_spans, extract_entities
from newswire.processors.service import ArticleProcessor
from newswire.processors.shapes import is_sports_story, shape_label
from newswire.processors.span_context import TITLE_WORDS
from newswire.settings import load_settings
from tests.unit.processors.entity_docs import BLANK, entity_doc

WANTED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})
NO_ALIASES = parse_aliases("")


def _read(doc: Any, memory: EntityMemory | None = None) -> dict[str, str]:
    entities = extract_entities(doc_spans(doc, memory), NO_ALIASES, WANTED, memory)
    return {entity.name: entity.label for entity in entities}


def _entities(spans: list[tuple[str, str, int]], memory: EntityMemory | None = None) -> dict[str, str]:
    return {e.name: e.label for e in extract_entities(spans, NO_ALIASES, WANTED, memory)}


# --- the text around a span ----------------------------------------------------------------------------------
def test_a_dateline_run_into_a_name_is_the_place_and_the_name():
    text = "Title line\nGENEVA - The World Health Organization (WHO) said on Monday that cases rose."
    doc = entity_doc(text, ("GENEVA - The World Health Organization (WHO", "WORK_OF_ART"))
    assert _read(doc) == {"Geneva": "GPE", "World Health Organization": "ORG"}


def test_a_dateline_the_model_did_not_mark_is_a_place():
    doc = entity_doc("A headline\nNEW DELHI, June 4 - Votes were counted.\nROSTOV-ON-DON - Tanks arrived.")
    assert _read(doc) == {"New Delhi": "GPE", "Rostov-on-Don": "GPE"}


@given(st.lists(st.sampled_from(["NEW", "DELHI", "ROSTOV-ON-DON", "ST", "MALMO", "O'HARE"]), min_size=1, max_size=3))
def test_a_dateline_name_reads_the_same_however_it_was_cased(words):
    place = " ".join(words)
    name = dateline_name(place)
    assert name.casefold() == place.casefold()
    assert dateline_name(name.upper()) == name


def test_an_acronym_in_parentheses_gets_the_expansion_the_model_missed():
    text = "Title\nThe British Medical Association (BMA) said pay fell. The BMA will vote."
    doc = entity_doc(text, ("British", "NORP"), ("BMA", "ORG", 2))
    assert _read(doc) == {"British Medical Association": "ORG"}


WORDS = st.sampled_from(["Harbour", "Medical", "Rail", "Kettle", "Workers", "Union", "Fund", "Trust", "Grain"])


@given(st.lists(WORDS, min_size=2, max_size=5), st.lists(st.sampled_from(["of", "and", "for"]), max_size=1))
def test_any_spelled_out_acronym_is_found_back(words, connector):
    name = " ".join([*words[:1], *connector, *words[1:]])
    acronym = "".join(word[0] for word in words)
    # An acronym that spells a title ("MR" of Medical Rail) is read as the title: a known limit, not this property.
    assume(acronym.lower() not in TITLE_WORDS)
    text = f"Headline\nOn Friday the {name} ({acronym}) met. Later the {acronym} spoke."
    entities = extract_entities(doc_spans(entity_doc(text, (acronym, "ORG", 2))), NO_ALIASES, WANTED)
    assert [(entity.name, entity.label, entity.count) for entity in entities] == [(name, "ORG", 2)]


def test_a_given_name_the_model_left_out_is_put_back():
    text = "Sinner wins\nMELBOURNE - Jannik Sinner won the final. Later Sinner said he was tired."
    doc = entity_doc(text, ("Sinner", "PERSON", 2), ("Sinner", "PERSON", 3))
    assert _read(doc) == {"Melbourne": "GPE", "Jannik Sinner": "PERSON"}


def test_the_headline_and_common_words_give_no_given_name():
    text = "Hope For Sinner\nThe Sinner story. When Sinner won, Monday Sinner fans cheered."
    doc = entity_doc(text, ("Sinner", "PERSON", 2), ("Sinner", "PERSON", 3), ("Sinner", "PERSON", 4))
    assert _read(doc) == {"Sinner": "PERSON"}


@pytest.mark.parametrize(
    ("text", "span", "label"),
    [
        ("Later substitute Kyle Dempsey scored twice.", ("Kyle Dempsey", "ORG"), "PERSON"),
        ("The leader, Priya Mistry, who sits on the council, spoke.", ("Priya Mistry", "ORG"), "PERSON"),
        ("He named Gabriel Attal, 34, as prime minister.", ("Gabriel Attal", "GPE"), "PERSON"),
        # a club is "who" too, and a name of one word is not read from "who"
        ("Then Arsenal, who play on Sunday, can go top.", ("Arsenal", "ORG"), "ORG"),
        ("The firm is based in Kettlesby and employs 640.", ("Kettlesby", "ORG"), "GPE"),
        ("The bill is stuck in Congress this week.", ("Congress", "ORG"), "ORG"),
        ("A rival bid from the drugmaker Pfizer failed.", ("Pfizer", "PERSON"), "ORG"),
        ("On Friday Tesla shares fell sharply.", ("Tesla", "NORP"), "ORG"),
    ],
)
def test_the_words_around_a_name_say_what_it_is(text, span, label):
    assert _read(entity_doc("Headline\n" + text, span)) == {span[0]: label}


def test_a_person_of_a_place_is_the_person_and_the_place():
    doc = entity_doc("Headline\nOn Saturday Aryna Sabalenka of Belarus won.", ("Aryna Sabalenka of Belarus", "PERSON"))
    assert _read(doc) == {"Aryna Sabalenka": "PERSON", "Belarus": "GPE"}


def test_an_agency_of_a_country_is_one_name():
    text = "Headline\nSaid the Public Health Agency of Sweden on Monday."
    doc = entity_doc(text, ("the Public Health Agency", "ORG"), ("Sweden", "GPE"))
    assert _read(doc) == {"Public Health Agency of Sweden": "ORG"}


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("AB Cd-–(),.\n'’XYZ12"), max_size=80))
def test_doc_spans_never_breaks_on_odd_text_and_keeps_offsets(text):
    doc = BLANK.make_doc(text)
    for span in doc_spans(doc, EntityMemory(5)):
        assert text[span.start : span.start + len(span.text)].casefold() == span.text.casefold()


# --- people, clubs, organisations and places -------------------------------------------------------------------
def test_a_full_name_called_by_its_surname_is_a_person_whatever_the_labels():
    spans = [("Pep Guardiola", "ORG", 0), ("Guardiola", "ORG", 40), ("Guardiola", "GPE", 90)]
    assert _entities(spans) == {"Pep Guardiola": "PERSON"}


def test_a_name_called_by_its_first_word_is_an_organisation():
    spans = [("Novo Nordisk", "PERSON", 0), ("Novo", "ORG", 60)]
    assert _entities(spans) == {"Novo Nordisk": "ORG"}


def test_a_name_that_starts_with_a_given_name_is_a_person():
    assert "simone" in shipped_given_names()
    assert _entities([("Simone Kettering", "GPE", 0)]) == {"Simone Kettering": "PERSON"}
    # a company named after its founder (a given name at both ends), which the model labelled as one, stays one
    assert _entities([("Simone Everett", "ORG", 0)]) == {"Simone Everett": "ORG"}


def test_clubs_are_organisations_wherever_the_model_put_them():
    spans = [("Manchester City", "GPE", 0), ("City", "GPE", 50), ("Manchester", "GPE", 90), ("FA Cup", "EVENT", 120)]
    assert _entities(spans) == {"Manchester City": "ORG", "Manchester": "GPE", "FA Cup": "EVENT"}
    assert _entities([("Aston Villa", "GPE", 0), ("Real Madrid", "PERSON", 20)]) == {
        "Aston Villa": "ORG",
        "Real Madrid": "ORG",
    }
    # "City" makes a club only in a sports story
    assert _entities([("Mexico City", "GPE", 0)]) == {"Mexico City": "GPE"}


def test_what_makes_a_sports_story_and_a_club():
    assert shape_label("Kirkwell Rovers") == "ORG"
    assert shape_label("Leicester City") is None
    assert shape_label("Leicester City", sports=True) == "ORG"
    assert shape_label("Storm Daniel") == "EVENT"
    assert shape_label("Halden General Hospital") == "FAC"


def test_the_gazetteer_corrects_places_the_model_took_for_people_or_organisations():
    assert _entities([("Mali", "PERSON", 0), ("Copenhagen", "ORG", 20), ("Europe", "GPE", 40)]) == {
        "Mali": "GPE",
        "Copenhagen": "GPE",
        "Europe": "LOC",
    }
    # in a sports story a city labelled as an organisation is the club
    spans = [("Barcelona", "ORG", 0), ("Champions League", "EVENT", 30)]
    assert _entities(spans)["Barcelona"] == "ORG"
    # a surname joined to a full name stays a person even if it is a city's name
    assert _entities([("Abe Lincoln", "PERSON", 0), ("Lincoln", "GPE", 30)]) == {"Abe Lincoln": "PERSON"}


def test_a_sports_story_is_known_by_its_competitions_and_clubs():
    assert is_sports_story(["Premier League"])
    assert is_sports_story(["Ashby Town", "Kirkwell Rovers"])
    assert not is_sports_story(["Ashby Town", "Harrowgate Borough Council"])


def test_the_gazetteer_file_is_read_and_checked():
    places = shipped_places()
    assert places["spain"] == Place("country", places["spain"].population)
    assert places["copenhagen"].kind == "city"
    assert parse_places("Kettlesby\tcity\t51000\n") == {"kettlesby": Place("city", 51000)}
    with pytest.raises(ConfigError, match="places:1"):
        parse_places("Kettlesby\ttown\t51000\n")


# --- the memory across articles --------------------------------------------------------------------------------
def test_an_acronym_gets_the_expansion_an_earlier_article_gave():
    memory = EntityMemory()
    first = "Headline\nThe Care Quality Commission (CQC) inspects hospitals."
    _read(entity_doc(first, ("The Care Quality Commission", "ORG"), ("CQC", "ORG")), memory)
    later = _read(entity_doc("Headline\nInspectors from the CQC rated the ward poor.", ("CQC", "ORG")), memory)
    assert later == {"Care Quality Commission": "ORG"}


def test_a_club_word_gets_the_club_an_earlier_article_named():
    memory = EntityMemory()
    _entities([("Manchester City", "GPE", 0), ("Premier League", "ORG", 40)], memory)
    assert _entities([("City", "GPE", 0), ("FA Cup", "EVENT", 20)], memory)["Manchester City"] == "ORG"
    # outside a sports story "City" is no club
    assert _entities([("City", "GPE", 0)], memory) == {"City": "GPE"}


def test_names_earlier_articles_established_are_found_where_the_model_missed_them():
    memory = EntityMemory()
    for _ in range(2):
        _read(entity_doc("Headline\nThe striker joined Arsenal on Monday.", ("Arsenal", "ORG")), memory)
    text = "Headline\nLater Arsenal play at Everton. Arsenal fans sang."
    assert _read(entity_doc(text, ("Everton", "ORG")), memory) == {"Arsenal": "ORG", "Everton": "ORG"}
    # a name seen once is not enough
    assert (
        _read(entity_doc("Headline\nThe fans of Ashby Town sang.", ("Ashby Town", "ORG")), memory)["Ashby Town"]
        == "ORG"
    )
    assert _read(entity_doc("Headline\nThen Ashby Town lost."), memory) == {}


def test_given_names_of_earlier_people_count_as_given_names():
    memory = EntityMemory()
    _entities([("Fikayo Okonjo", "PERSON", 0)], memory)
    assert memory.knows_given_name("fikayo")
    assert _entities([("Fikayo Tomori", "GPE", 0)], memory) == {"Fikayo Tomori": "PERSON"}
    memory.clear()
    assert not memory.knows_given_name("fikayo")
    assert len(memory) == 0


def test_the_given_names_of_the_memory_are_bounded_too():
    memory = EntityMemory(capacity=2)
    for given_name in ("Ada", "Bea", "Cleo"):
        _entities([(f"{given_name} Quill", "PERSON", 0)], memory)
    assert not memory.knows_given_name("ada")
    assert memory.knows_given_name("cleo")


# --- the processor ---------------------------------------------------------------------------------------------
def test_the_processor_remembers_what_earlier_articles_established(processor, article_factory):
    assert processor.entity_memory is not None
    first = article_factory(
        title="Agency warns on outbreak",
        content="The Halden Disease Control Agency (HDCA) warned on Monday that cases were rising in Port Halden.",
    )
    later = article_factory(title="Cases fall", content="The HDCA said on Friday that cases had started to fall.")
    [_, enriched] = processor.enrich([first, later])
    assert "Halden Disease Control Agency" in {entity.name for entity in enriched.entities}


def test_a_memory_of_no_capacity_is_no_memory(nlp_and_aliases):
    nlp, aliases = nlp_and_aliases
    settings = load_settings().model_copy(update={"entity_memory_capacity": 0})
    assert ArticleProcessor(settings, nlp=nlp, aliases=aliases).entity_memory is None
