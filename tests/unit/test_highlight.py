"""Highlights: the fast tokenisation of a whole text gives the tokens, at the places, that tokenize() gives."""

from __future__ import annotations

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
    words, tokens = _tokens(text)
    assert tokens == tokenize(text)
    for word, token in zip(words, tokens, strict=True):
        assert token in word_tokens(word.group())


def test_a_hit_is_marked_by_stem_exact_word_and_prefix_and_its_own_markup_is_escaped():
    article = enriched_factory(
        article_factory(title="Mutineers <em>march</em> on Moscow", summary="Wagner's mutineer columns mobilised.")
    )
    fragments = Highlighter(parse_query('mutineers "columns" mobil*'))(article)
    assert fragments == (
        "<em>Mutineers</em> &lt;em&gt;march&lt;/em&gt; on Moscow",
        "Wagner&#x27;s <em>mutineer</em> <em>columns</em> <em>mobilised</em>.",
    )
