# ruff: noqa: RUF001 - typographic apostrophes are part of what these tests feed in
"""Entity resolution within an article and across articles: one label per entity, short forms joined to the full
name, acronyms to their expansion, scores and plurals normalised, and the bounded :class:`EntityMemory`.

The spans are written by hand as ``(text, label, start offset)``, the labels deliberately the wrong ones spaCy's
small model gives, so the rules are tested without loading a model.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.processors.aliases import parse_aliases
from newswire.processors.cleaning import label_by_shape, singular_norp, strip_trailing_numbers
from newswire.processors.entities import EntityMemory, Span, extract_entities, initials

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
