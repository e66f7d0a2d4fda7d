# ruff: noqa: RUF001 - typographic apostrophes and quotes are what these tests are about
"""Cleaning of article text and normalisation of entity names, with hypothesis for the normalisers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.errors import ConfigError
from newswire.processors.aliases import load_aliases, parse_aliases
from newswire.processors.cleaning import canonical_form, is_junk, mask_boilerplate
from newswire.processors.entities import extract_entities

WANTED = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "FAC"})
NAMEISH = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .-'’\"“”,\n\tàéöПригожин")),
    max_size=40,
)


@pytest.mark.parametrize(
    ("surface", "canonical"),
    [
        ("Prigozhin’s", "Prigozhin"),
        ("Prigozhin's", "Prigozhin"),
        ("Yevgeny\nPrigozhin", "Yevgeny Prigozhin"),
        ("“Wagner”", "Wagner"),
        ("the Kremlin", "Kremlin"),
        ("Rostov-on-Don,", "Rostov-on-Don"),
        ("U.S.", "U.S."),
        ("Reuters’", "Reuters"),
        ("O'Brien", "O'Brien"),
        ("  Shoigu .", "Shoigu"),
    ],
)
def test_canonical_form_cleans_names(surface, canonical):
    assert canonical_form(surface) == canonical


@given(NAMEISH)
def test_canonical_form_is_idempotent_and_tidy(surface):
    name = canonical_form(surface)
    assert canonical_form(name) == name
    assert "\n" not in name and "\t" not in name and "  " not in name
    assert name == name.strip()
    assert not name.endswith(("’s", "'s"))


@pytest.mark.parametrize("junk", ["n’t", "n't", "’s", "A", "2023", "24", "twenty", "week", "the", "-", "1.5m"])
def test_junk_spans_are_recognised(junk):
    assert is_junk(canonical_form(junk))


@pytest.mark.parametrize("name", ["FSB", "Wagner Group", "Rostov-on-Don", "Yevgeny Prigozhin", "Пригожин", "G7"])
def test_names_are_not_junk(name):
    assert not is_junk(name)


@pytest.mark.parametrize(
    "line",
    [
        "READ MORE: Wagner chief says he will go to Belarus",
        "Most read in World News",
        "Share this article",
        "Subscribe to our free newsletter",
        "Follow us on Twitter",
        "Photo: Getty Images",
        "Click here to sign up",
        "Advertisement",
    ],
)
def test_boilerplate_lines_are_blanked(line):
    text = f"Putin spoke on television.\n{line}\nPrigozhin turned back."
    masked = mask_boilerplate(text)
    assert line not in masked
    assert "Putin spoke on television." in masked and "Prigozhin turned back." in masked


def test_inline_photo_credits_are_blanked_and_sentences_kept():
    text = "Prigozhin (Photo: Reuters) left Rostov. Shoigu was not seen (AFP via Getty Images) in public."
    masked = mask_boilerplate(text)
    assert "Reuters" not in masked and "Getty" not in masked
    assert masked.startswith("Prigozhin") and "left Rostov." in masked


@given(st.text(max_size=400))
def test_masking_keeps_length_and_every_character_it_does_not_blank(text):
    masked = mask_boilerplate(text)
    assert len(masked) == len(text)
    assert all(m == t or m == " " for m, t in zip(masked, text, strict=True))


def test_a_news_sentence_that_mentions_reading_is_kept():
    text = "Read more about it, he told the court.\nMost of the fighters returned to their camps."
    assert mask_boilerplate(text) == text


def test_surnames_map_to_the_full_name_within_the_article():
    spans = [("Yevgeny Prigozhin", "PERSON", 10), ("Prigozhin", "GPE", 80), ("Prigozhin’s", "PERSON", 120)]
    [entity] = extract_entities(spans, load_aliases(), WANTED)
    assert (entity.name, entity.label, entity.count, entity.first_offset) == ("Yevgeny Prigozhin", "PERSON", 3, 10)
    assert entity.surface_forms == ["Yevgeny Prigozhin", "Prigozhin", "Prigozhin’s"]


def test_alias_table_maps_across_articles_and_overrides_labels():
    spans = [("PMC Wagner", "ORG", 0), ("Bakhmut", "ORG", 30), ("Wagner", "PERSON", 50), ("n’t", "GPE", 70)]
    entities = {e.name: e for e in extract_entities(spans, load_aliases(), WANTED)}
    assert set(entities) == {"Wagner Group", "Bakhmut"}
    assert entities["Wagner Group"].label == "ORG" and entities["Wagner Group"].count == 2
    assert entities["Bakhmut"].label == "GPE"


def test_ambiguous_surname_is_left_alone():
    spans = [("Anna Petrova", "PERSON", 0), ("Ivan Petrova", "PERSON", 20), ("Petrova", "PERSON", 40)]
    names = {e.name for e in extract_entities(spans, parse_aliases(""), WANTED)}
    assert names == {"Anna Petrova", "Ivan Petrova", "Petrova"}


def test_unwanted_labels_are_left_out():
    spans = [("Monday", "DATE", 0), ("Moscow", "GPE", 10)]
    assert [e.name for e in extract_entities(spans, parse_aliases(""), frozenset({"GPE"}))] == ["Moscow"]


@pytest.mark.parametrize("line", ["Wagner", "Wagner\tSHIP\tPMC Wagner", "\tORG\tx"])
def test_malformed_alias_lines_name_the_line(line):
    with pytest.raises(ConfigError, match=r"aliases:1"):
        parse_aliases(line)


def test_shipped_alias_table_loads_and_feeds_the_ruler():
    table = load_aliases()
    patterns = table.ruler_patterns()
    assert {"label": "ORG", "pattern": "FSB", "id": "FSB"} in patterns
    assert table.lookup("pmc wagner").name == "Wagner Group"


@pytest.mark.parametrize(
    ("surface", "canonical"),
    [
        ("St Aidan’s Hospital", "St Aidan’s Hospital"),
        ("Harbour Pilots' Association", "Harbour Pilots' Association"),
        ("the Dockers’ Union", "Dockers’ Union"),
        ("Lowther's", "Lowther"),
        ("'Brightwater' Trust", "Brightwater Trust"),
    ],
)
def test_a_plural_possessive_inside_a_name_stays_and_other_quotes_go(surface, canonical):
    assert canonical_form(surface) == canonical
    assert canonical_form(canonical) == canonical


def test_a_score_before_a_name_goes_and_makes_it_a_team():
    spans = [("Castlebridge", "ORG", 0), ("2-1 Wexmoor Athletic", "PRODUCT", 20), ("3-0 Orrin", "WORK_OF_ART", 50)]
    assert {e.name: e.label for e in extract_entities(spans, parse_aliases(""), WANTED)} == {
        "Castlebridge": "ORG",
        "Wexmoor Athletic": "ORG",
        "Orrin": "ORG",
    }


def test_the_word_party_after_a_party_name_is_no_part_of_it():
    spans = [("the Green Harbour party", "ORG", 0), ("Green Harbour", "ORG", 40)]
    assert [e.name for e in extract_entities(spans, parse_aliases(""), WANTED)] == ["Green Harbour"]
