# ruff: noqa: RUF001 - typographic apostrophes are part of what these tests feed in
"""Entity resolution within an article and across articles: one label per entity, short forms joined to the full
name, acronyms to their expansion, scores and plurals normalised, and the bounded :class:`EntityMemory`.

The spans are written by hand as ``(text, label, start offset)``, the labels deliberately the wrong ones spaCy's
small model gives, so the rules are tested without loading a model.
"""

from __future__ import annotations

from typing import Any

import pytest
import spacy
from hypothesis import given
from hypothesis import strategies as st
from spacy.tokens import Span as DocSpan

from newswire.processors.aliases import AliasTable, parse_aliases
from newswire.processors.cleaning import label_by_shape, singular_norp, strip_trailing_numbers
from newswire.processors.entities import EntityMemory, Span, doc_spans, extract_entities, initials

WANTED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})
NO_ALIASES = parse_aliases("")
NAME_WORDS = st.sampled_from(["Inter", "Milan", "Kirkwell", "Rovers", "Anna", "Petrova", "G7", "O'Brien", "Zoë"])
NAMES = st.lists(NAME_WORDS, min_size=1, max_size=4).map(" ".join)
TAILS = st.lists(
    st.sampled_from([" 1-0", " 2–1", " 66", ", 58", " (3-2)", ".", ",", " :", " 10-9"]), min_size=0, max_size=3
).map("".join)


def _entities(spans: list[tuple[str, str, int]], memory: EntityMemory | None = None) -> dict[str, str]:
    return {e.name: e.label for e in extract_entities(spans, NO_ALIASES, WANTED, memory)}


# --- normalisers -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("surface", "name"),
    [
        ("Kirkwell Rovers 1-0", "Kirkwell Rovers"),
        ("Inter Milan 2–1 (4-3)", "Inter Milan"),
        ("Dana Holt 66", "Dana Holt"),
        ("Dana Holt, 58", "Dana Holt"),
        ("U.S.", "U.S."),
        ("G7", "G7"),
    ],
)
def test_trailing_scores_and_numbers_are_dropped(surface, name):
    assert strip_trailing_numbers(surface) == name


def test_a_bare_number_can_stay_where_names_end_in_one():
    assert strip_trailing_numbers("Channel 4", bare_numbers=False) == "Channel 4"
    assert strip_trailing_numbers("Kirkwell Rovers 3-1", bare_numbers=False) == "Kirkwell Rovers"


@given(NAMES, TAILS, st.booleans())
def test_stripping_trailing_numbers_is_idempotent_and_never_empties_a_name(name, tail, bare):
    stripped = strip_trailing_numbers(name + tail, bare_numbers=bare)
    assert stripped
    assert strip_trailing_numbers(stripped, bare_numbers=bare) == stripped
    if bare:
        assert stripped == name


@given(st.text(max_size=30))
def test_stripping_trailing_numbers_keeps_any_text_non_empty(text):
    stripped = strip_trailing_numbers(text)
    assert (stripped == "") == (text == "")
    assert strip_trailing_numbers(stripped) == stripped


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("Russians", "Russian"),
        ("Ukrainians", "Ukrainian"),
        ("Tories", "Tory"),
        ("Greeks", "Greek"),
        ("Torres Strait Islanders", "Torres Strait Islander"),
        ("Swiss", "Swiss"),
        ("Belarus", "Belarus"),
        ("Texas", "Texas"),
        ("Paris", "Paris"),
        ("Russian", "Russian"),
    ],
)
def test_plural_nationalities_become_singular_and_names_ending_in_s_stay(plural, singular):
    assert singular_norp(plural) == singular


def test_an_is_plural_is_made_singular_only_when_the_article_attests_the_singular():
    assert singular_norp("Israelis") == "Israelis"
    assert singular_norp("Israelis", frozenset({"israeli"})) == "Israeli"


@given(
    st.lists(st.sampled_from(["Russian", "Anna", "Texas", "Islander", "Swiss", "Tory", "Pole"]), min_size=1).map(
        lambda words: " ".join(words) + "s"
    )
)
def test_singular_norp_is_idempotent_and_never_empties(name):
    singular = singular_norp(name)
    assert singular and singular_norp(singular) == singular


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Kerch Strait", "LOC"),
        ("Port Halden Bridge", "FAC"),
        ("Sea of Azov", "LOC"),
        ("Harrowgate Borough Council", "ORG"),
        ("Security Service of Ukraine", "ORG"),
        ("Kirkwell Music Festival", "EVENT"),
        ("Central African Republic", "GPE"),
        ("King Felipe VI", "PERSON"),
        ("Pope Francis", "PERSON"),
        ("Manchester City", None),
        ("Kirkwell", None),
    ],
)
def test_the_head_word_gives_the_label(name, label):
    assert label_by_shape(name) == label


# --- one label per entity in an article --------------------------------------------------------------------------
def test_a_surname_is_the_person_whatever_label_it_got():
    spans = [
        ("Pep Guardiola", "PERSON", 0),
        ("Guardiola", "ORG", 40),
        ("Guardiola", "GPE", 90),
        ("Guardiola", "ORG", 120),
    ]
    assert _entities(spans) == {"Pep Guardiola": "PERSON"}


def test_the_majority_label_wins_and_a_tie_goes_to_the_fullest_mention():
    spans = [("Halden", "ORG", 0), ("Halden", "GPE", 30), ("Halden", "GPE", 60)]
    assert _entities(spans) == {"Halden": "GPE"}
    # (a name whose form gives no label: "Kirkwell Rovers" would be a club by its form)
    spans = [("Harrow Vale", "GPE", 0), ("the\nHarrow Vale", "ORG", 50)]
    assert _entities(spans) == {"Harrow Vale": "ORG"}
    spans = [("Harrow Vale", "GPE", 0), ("Harrow Vale", "ORG", 50)]
    assert _entities(spans) == {"Harrow Vale": "GPE"}  # then the first mention


def test_a_first_name_joins_the_only_full_name_it_starts():
    spans = [("Marta Lindqvist", "PERSON", 0), ("Marta", "PERSON", 50)]
    assert _entities(spans) == {"Marta Lindqvist": "PERSON"}


def test_a_title_before_a_span_makes_it_a_person_in_doc_spans_terms():
    # doc_spans turns "Chancellor Olaf Scholz" into a PERSON span; the bare surnames then join it.
    spans = [Span("Olaf Scholz", "PERSON", 11), ("Scholz", "GPE", 60), ("Scholz", "ORG", 90)]
    assert _entities(spans) == {"Olaf Scholz": "PERSON"}


def test_titles_and_post_nominals_are_dropped_from_people():
    spans = [
        ("Councillor Dave Pritchard", "PERSON", 0),
        ("Andrew Green KC", "PERSON", 40),
        ("Councillor", "PERSON", 80),
    ]
    assert _entities(spans) == {"Dave Pritchard": "PERSON", "Andrew Green": "PERSON"}


# --- short forms and acronyms ------------------------------------------------------------------------------------
def test_an_acronym_in_parentheses_joins_its_expansion():
    spans = [Span("Social Democratic Party", "ORG", 10, abbreviation="SPD"), ("SPD", "ORG", 200)]
    assert _entities(spans) == {"Social Democratic Party": "ORG"}


def test_an_acronym_matching_the_initials_joins_the_organisation():
    spans = [("the World Health Organization", "ORG", 0), ("WHO", "ORG", 120), ("WHO", "GPE", 300)]
    [entity] = extract_entities(spans, NO_ALIASES, WANTED)
    assert (entity.name, entity.label, entity.count) == ("World Health Organization", "ORG", 3)


def test_an_acronym_two_names_share_is_left_alone():
    spans = [("Port Halden Authority", "ORG", 0), ("Pembury Housing Association", "ORG", 40), ("PHA", "ORG", 90)]
    assert "PHA" in _entities(spans)


def test_the_first_words_of_an_organisation_join_it_but_a_place_does_not():
    spans = [("Halvorsen Seafood", "ORG", 0), ("Halvorsen", "ORG", 50), ("Manchester United", "ORG", 90)]
    spans += [("Manchester", "GPE", 130)]
    assert _entities(spans) == {"Halvorsen Seafood": "ORG", "Manchester United": "ORG", "Manchester": "GPE"}


def test_scores_are_dropped_and_the_names_joined():
    spans = [("Kirkwell Rovers 2-1", "ORG", 0), ("Kirkwell Rovers", "ORG", 60), ("Dana Holt 66", "PERSON", 90)]
    assert _entities(spans) == {"Kirkwell Rovers": "ORG", "Dana Holt": "PERSON"}


def test_plural_and_singular_nationality_are_one_entity():
    spans = [("Russians", "NORP", 0), ("Russian", "NORP", 30), ("Norwegians", "NORP", 60)]
    entities = {e.name: e.count for e in extract_entities(spans, NO_ALIASES, WANTED)}
    assert entities == {"Russian": 2, "Norwegian": 1}


def test_a_span_holding_two_names_is_split():
    spans = [("Federer, Rafael Nadal", "PERSON", 0), ("Marine Le Pen.\n\nAttal", "PERSON", 40)]
    spans += [("Gabriel Attal", "PERSON", 80), ("Roger Federer", "PERSON", 100)]
    entities = {e.name: e for e in extract_entities(spans, NO_ALIASES, WANTED)}
    assert set(entities) == {"Rafael Nadal", "Marine Le Pen", "Gabriel Attal", "Roger Federer"}
    assert entities["Rafael Nadal"].first_offset == len("Federer, ")
    assert entities["Gabriel Attal"].first_offset == 40 + len("Marine Le Pen.\n\n")


# --- memory across articles --------------------------------------------------------------------------------------
def test_memory_carries_full_names_and_labels_to_a_later_article():
    memory = EntityMemory(capacity=100)
    first = [("Pep Guardiola", "PERSON", 0), ("the World Health Organization", "ORG", 40), ("WHO", "ORG", 90)]
    first += [("Manchester City", "ORG", 120), ("Manchester City", "ORG", 160)]
    extract_entities(first, NO_ALIASES, WANTED, memory)
    later = [("Guardiola", "ORG", 0), ("WHO", "GPE", 30), ("Manchester City", "GPE", 60)]
    assert _entities(later, memory) == {
        "Pep Guardiola": "PERSON",
        "World Health Organization": "ORG",
        "Manchester City": "ORG",
    }


def test_without_memory_a_later_article_stands_alone():
    assert _entities([("Guardiola", "ORG", 0)]) == {"Guardiola": "ORG"}


def test_an_articles_own_evidence_outweighs_the_memory():
    memory = EntityMemory()
    extract_entities([("Barcelona", "ORG", 0)], NO_ALIASES, WANTED, memory)
    spans = [("Barcelona", "GPE", 0), ("Barcelona", "GPE", 40), ("Barcelona", "GPE", 80)]
    assert _entities(spans, memory) == {"Barcelona": "GPE"}


def test_a_surname_two_people_share_is_not_learned():
    memory = EntityMemory()
    spans = [("Anna Petrova", "PERSON", 0), ("Ivan Petrova", "PERSON", 30)]
    extract_entities(spans, NO_ALIASES, WANTED, memory)
    assert memory.recall("Petrova") is None
    assert memory.recall("anna petrova") is not None


def test_memory_is_bounded_and_forgets_the_least_recently_used():
    memory = EntityMemory(capacity=2)
    for number, name in enumerate(["Ada Kerr", "Bo Lind", "Cy Moss"]):
        extract_entities([(name, "PERSON", number)], NO_ALIASES, WANTED, memory)
    assert len(memory) == 2
    assert memory.recall("Ada Kerr") is None
    assert memory.recall("Moss") is not None and memory.recall("Moss").name == "Cy Moss"


def test_memory_needs_room():
    with pytest.raises(ValueError, match="capacity"):
        EntityMemory(capacity=0)


def test_initials_skip_lower_case_words():
    assert initials("Organization of the Petroleum Exporting Countries") == "OPEC"
    assert initials("Kirkwell") == ""


# --- the rules of issue 13: the text around a span, and one entity per name ---------------------------------------
BLANK = spacy.blank("en")


def _doc(text: str, *ents: tuple[str, str] | tuple[str, str, str]) -> Any:
    """A document of ``text`` with the given (surface, label[, the entity ruler's id]) spans, each at its first
    occurrence after the one before."""
    doc = BLANK.make_doc(text)
    spans, at = [], 0
    for ent in ents:
        start = text.index(ent[0], at)
        at = start + len(ent[0])
        span = doc.char_span(start, at, label=ent[1])
        assert span is not None, ent[0]
        spans.append(DocSpan(doc, span.start, span.end, label=ent[1], span_id=ent[2] if len(ent) > 2 else ""))
    doc.ents = spans
    return doc


def _read(doc: Any, memory: EntityMemory | None = None, aliases: AliasTable = NO_ALIASES) -> dict[str, str]:
    return {e.name: e.label for e in extract_entities(doc_spans(doc, memory), aliases, WANTED, memory)}


def test_a_dateline_the_model_marked_as_an_organisation_is_the_place_in_the_case_of_a_name():
    text = "Storm floods the quay\n\nPORT ELLIS, Wexmoor - Water rose through Port Ellis overnight."
    assert _read(_doc(text, ("PORT ELLIS", "ORG"), ("Port Ellis", "GPE"))) == {"Port Ellis": "GPE"}


def test_a_headline_name_run_into_the_dateline_is_cut_before_it():
    text = "Fire reaches Ardmoor Point\n\nARDMOOR, Wexmoor - Crews fought the fire."
    assert _read(_doc(text, ("Ardmoor Point\n\nARDMOOR", "ORG"))) == {"Ardmoor Point": "ORG", "Ardmoor": "GPE"}


def test_a_role_in_an_apposition_makes_a_person_before_or_after_the_comma():
    text = "Odile Marchetti, the Harbour coach, left. A rise was backed by its leader, Tamsin Achebe."
    doc = _doc(text, ("Odile Marchetti", "ORG"), ("Harbour", "ORG"), ("Tamsin Achebe", "GPE"))
    assert _read(doc) == {"Odile Marchetti": "PERSON", "Harbour": "ORG", "Tamsin Achebe": "PERSON"}


def test_a_trade_in_an_apposition_is_no_role():
    doc = _doc("Ostrava Fisheries, the salmon farmer, grew.", ("Ostrava Fisheries", "ORG"))
    assert _read(doc) == {"Ostrava Fisheries": "ORG"}


def test_a_full_name_coordinated_with_a_person_is_a_person():
    text = "Goals came from Tariq Olowe and Niels Brandvold before the break."
    doc = _doc(text, ("Tariq Olowe", "GPE"), ("Niels Brandvold", "PERSON"))
    assert _read(doc) == {"Tariq Olowe": "PERSON", "Niels Brandvold": "PERSON"}


def test_an_acronym_gets_the_expansion_the_article_gives_without_parentheses():
    text = "The Coastal Water Authority said on Monday it would act. The CWA fined two firms."
    doc = _doc(text, ("CWA", "ORG"))
    assert _read(doc) == {"Coastal Water Authority": "ORG"}


def test_an_acronym_in_parentheses_is_left_to_its_own_expansion():
    text = "The Hill Farmers Union (HFU) met. Then the HFU voted, and Hill Farmers spoke."
    doc = _doc(text, ("Hill Farmers Union", "ORG"), ("HFU", "ORG"), ("Hill Farmers", "NORP"))
    assert _read(doc)["Hill Farmers Union"] == "ORG"
    assert "HFU" not in _read(doc)


def test_a_royal_the_model_missed_is_found_by_the_title():
    text = "Crowds cheered as King Aldric IV was in Castlebridge for the final."
    assert _read(_doc(text, ("Castlebridge", "GPE"))) == {"King Aldric IV": "PERSON", "Castlebridge": "GPE"}


def test_a_numbered_unit_keeps_its_number():
    text = "Soldiers of the 9th Mountain Brigade held the ridge."
    assert _read(_doc(text, ("9th", "ORDINAL"), ("Mountain Brigade", "ORG"))) == {"9th Mountain Brigade": "ORG"}


def test_a_person_named_by_a_known_given_name_is_found_where_the_model_missed_them():
    text = "Late winner\nMarcus Okonjo headed in after an hour, then Peter van Roon scored a second."
    assert _read(_doc(text)) == {"Marcus Okonjo": "PERSON", "Peter van Roon": "PERSON"}


def test_a_given_name_the_model_cut_before_a_particle_gets_the_rest_of_the_name():
    text = "The manager Helen ter Borg complained about the referee."
    assert _read(_doc(text, ("Helen", "PERSON"))) == {"Helen ter Borg": "PERSON"}


def test_words_that_open_sentences_or_name_places_make_no_person():
    text = "Quiet day\nWill Castlebridge vote? May Harbour. The river ran high in Ruth Street."
    assert _read(_doc(text)) == {}


def test_a_given_name_before_a_name_the_entity_ruler_marked_is_one_person():
    aliases = parse_aliases("Ostrava Group\tORG\tOstrava")
    text = "The director Carla Ostrava opened the season."
    doc = _doc(text, ("Carla", "NORP"), ("Ostrava", "ORG", "Ostrava Group"))
    assert _read(doc, aliases=aliases) == {"Carla Ostrava": "PERSON"}
    unmarked = _doc(text, ("Carla", "NORP"), ("Ostrava", "ORG"))
    assert "Carla Ostrava" not in _read(unmarked)


def test_a_name_after_the_town_of_is_a_place():
    text = "Fighting went on in the town of Verenka after dark."
    assert _read(_doc(text, ("Verenka", "PERSON"))) == {"Verenka": "GPE"}


def test_what_a_person_owns_is_an_organisation():
    text = "Investors in Diane Okoro's Harwick Holdings sold."
    doc = _doc(text, ("Diane Okoro's", "PERSON"), ("Harwick Holdings", "PERSON"))
    assert _read(doc) == {"Diane Okoro": "PERSON", "Harwick Holdings": "ORG"}


def test_a_lower_case_common_noun_makes_a_facility_or_a_geographic_place():
    text = "Water poured over the Velmar dam below the Orrin mountains. Near the Orrin, mud closed roads."
    doc = _doc(text, ("Velmar", "GPE"), ("Orrin", "PERSON"), ("Orrin", "PERSON"))
    assert _read(doc) == {"Velmar dam": "FAC", "Orrin": "LOC"}


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("Sales of the weight-loss drug Calvera rose.", "Calvera"),
        ("The regulator approved Nexolan, the first drug shown to work.", "Nexolan"),
        ("Buyers queued for a headset called Optra Vue on Friday.", "Optra Vue"),
        ("The choir sang the opera Lindmoor in Castlebridge.", "Lindmoor"),
    ],
)
def test_products_and_works_named_by_their_kind_are_no_entities(text, surface):
    assert surface not in _read(_doc(text, (surface, "ORG")))


def test_a_maker_in_an_apposition_stays_an_organisation():
    doc = _doc("Brakwell, the drug maker, rose.", ("Brakwell", "ORG"))
    assert _read(doc) == {"Brakwell": "ORG"}


def test_a_possessive_and_the_word_of_a_building_are_one_facility():
    text = "A rest centre opened at St Aidan's Church on Sunday."
    assert _read(_doc(text, ("St Aidan's", "ORG"), ("Church", "ORG"))) == {"St Aidan's Church": "FAC"}


def test_a_person_the_memory_knows_is_found_in_the_possessive_after_one_mention():
    memory = EntityMemory()
    _read(_doc("Coach Tomas Verlaine spoke.", ("Tomas Verlaine", "PERSON")), memory)
    later = _doc("Arsenal beat Tomas Verlaine's side on Sunday.", ("Arsenal", "ORG"))
    assert _read(later, memory) == {"Arsenal": "ORG", "Tomas Verlaine": "PERSON"}


def test_the_acronym_of_an_organisation_the_memory_knows_is_found_where_the_model_missed_it():
    memory = EntityMemory()
    first = _doc("The Wexmoor Coast Trust (WCT) met.", ("Wexmoor Coast Trust", "ORG"))
    _read(first, memory)
    _read(first, memory)
    later = _doc("Inspectors visited. WCT runs two sites.")
    assert _read(later, memory) == {"Wexmoor Coast Trust": "ORG"}


def test_the_first_word_of_a_long_name_stands_for_it_in_a_later_article():
    memory = EntityMemory()
    extract_entities([("Tesfaye Alemu Berhane", "PERSON", 0)], NO_ALIASES, WANTED, memory)
    assert _entities([("Tesfaye", "PERSON", 0)], memory) == {"Tesfaye Alemu Berhane": "PERSON"}
    extract_entities([("Diane Kaspar Morrow", "PERSON", 0)], NO_ALIASES, WANTED, memory)
    assert _entities([("Diane", "PERSON", 0)], memory) == {"Diane": "PERSON"}  # a common given name


# --- resolution within the article ---------------------------------------------------------------------------
def test_an_acronym_before_other_words_is_no_short_form_of_them():
    memory = EntityMemory()
    extract_entities([("Harbour Health Service", "ORG", 0, "HHS")], NO_ALIASES, WANTED, memory)
    spans = [Span("HHS Alliance", "ORG", 0), Span("HHS", "ORG", 30)]
    assert _entities(spans, memory) == {"HHS Alliance": "ORG", "Harbour Health Service": "ORG"}


def test_the_acronym_of_a_multi_word_abbreviation_joins_the_expansion_too():
    spans = [
        Span("Northern Centres for Disease Control", "ORG", 0, "Northern CDC"),
        Span("Northern", "LOC", 60),
        Span("CDC", "ORG", 69),
    ]
    assert _entities(spans)["Northern Centres for Disease Control"] == "ORG"
    assert "CDC" not in _entities(spans)


def test_a_state_is_also_called_by_the_words_after_of():
    spans = [("Democratic Republic of Verania", "GPE", 0), ("Verania", "GPE", 50)]
    assert _entities(spans) == {"Democratic Republic of Verania": "GPE"}


def test_a_given_name_makes_a_person_of_a_name_the_model_took_for_an_organisation():
    spans = [("Marcus Okonjo", "ORG", 0), ("Helen Marcus", "ORG", 30)]
    assert _entities(spans) == {"Marcus Okonjo": "PERSON", "Helen Marcus": "ORG"}


def test_a_name_the_article_calls_a_person_by_its_first_word_is_a_person():
    spans = [("Tavinho Junior", "ORG", 0), ("Tavinho", "PERSON", 40)]
    assert _entities(spans) == {"Tavinho Junior": "PERSON"}


def test_a_word_that_reads_as_no_nationality_is_no_nationality_when_the_model_also_says_otherwise():
    spans = [("Corvella", "NORP", 0), ("Corvella", "NORP", 20), ("Corvella", "ORG", 40), ("Veranian", "NORP", 60)]
    assert _entities(spans) == {"Corvella": "ORG", "Veranian": "NORP"}


@pytest.mark.parametrize(("word", "singular"), [("Lithuanian", "Lithuanian"), ("Kenyans", "Kenyan")])
def test_a_word_made_from_a_country_is_a_nationality_whatever_the_model_said(word, singular):
    assert _entities([(word, "PERSON", 0)]) == {singular: "NORP"}


def test_a_big_city_the_model_took_for_a_facility_is_a_place():
    assert _entities([("Kaliningrad", "FAC", 0)]) == {"Kaliningrad": "GPE"}


@pytest.mark.parametrize(("name", "label"), [("Piazza Navona", "FAC"), ("Wadi Harran", "LOC")])
def test_more_words_that_lead_a_name_give_its_label(name, label):
    assert label_by_shape(name) == label


def test_an_unknown_given_name_opening_a_sentence_joins_the_person_after_it_but_an_adverb_does_not():
    text = "Drones struck the port.\nStrikes went on. Bohdan Kravets, the head of the unit, spoke. Later Kravets left."
    doc = _doc(text, ("Kravets", "PERSON"), ("Kravets", "PERSON"))
    assert _read(doc) == {"Bohdan Kravets": "PERSON"}
    assert _read(_doc("Late goal\nIt ended. Later Kravets scored.", ("Kravets", "PERSON"))) == {"Kravets": "PERSON"}
