"""Highlights: the fast tokenisation of a whole text gives the tokens, at the places, that tokenize() gives."""

from __future__ import annotations

import re
import sys

from hypothesis import example, given
from hypothesis import strategies as st

from newswire.highlight import Highlighter, _tokens
from newswire.query import parse_query, tokenize, word_tokens
from tests.factories import article_factory, enriched_factory

_PIECE = st.sampled_from([*"abcXYZ _-'.,İıßẞΣσςǅÅ\u0307\u0301éÉ0123", "Prigozhin", "Wagner", " MUTINY "])
_TEXT = st.lists(_PIECE, max_size=40).map("".join) | st.text(max_size=40)


@example("AΣ a ΟΔΟΣ Σ")  # a capital sigma lowers by where its word ends
@example("İstanbul İ")  # a capital dotted I lowers into two characters
@given(_TEXT)
def test_the_tokens_of_a_text_are_tokenizes_each_in_its_word(text):
    tokens, words = _tokens(text)
    assert tokens == tokenize(text)
    if words is None:  # one token a word, at the same places
        words = list(re.finditer(r"\w+", text))
    for word, token in zip(words, tokens, strict=True):
        assert token in word_tokens(word.group())


def test_lower_casing_a_character_into_one_keeps_whether_it_is_a_word_character():
    # What lets the highlighter find the words of a text in its lower case (see _tokens), for every code point.
    word = re.compile(r"\w")
    changed = [
        f"U+{point:04X}"
        for point in range(sys.maxunicode + 1)
        if len(lower := chr(point).lower()) == 1 and bool(word.match(chr(point))) != bool(word.match(lower))
    ]
    assert changed == []


def test_phrases_are_marked_wherever_all_their_words_follow_each_other():
    article = enriched_factory(
        article_factory(
            title="Wagner fighters leave Rostov",
            summary="The fighters of Wagner left; Wagner fighters, then Wagner, then fighters.",
            content="Nothing more was said.",
        )
    )
    fragments = Highlighter(parse_query('"wagner fighters" rostov'))(article)
    assert fragments == (
        "<em>Wagner</em> <em>fighters</em> leave <em>Rostov</em>",
        "The fighters of Wagner left; <em>Wagner</em> <em>fighters</em>, then Wagner, then fighters.",
    )


def test_a_hit_is_marked_by_stem_exact_word_and_prefix_and_its_own_markup_is_escaped():
    article = enriched_factory(
        article_factory(title="Mutineers <em>march</em> on Moscow", summary="Wagner's mutineer columns mobilised.")
    )
    fragments = Highlighter(parse_query('mutineers "columns" mobil*'))(article)
    assert fragments == (
        "<em>Mutineers</em> &lt;em&gt;march&lt;/em&gt; on Moscow",
        "Wagner&#x27;s <em>mutineer</em> <em>columns</em> <em>mobilised</em>.",
    )
