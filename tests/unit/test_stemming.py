"""Words are found by their stem, quoted words and phrases by the exact words: the query language and highlights."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newswire.errors import InvalidQuery
from newswire.highlight import Highlighter, highlight_text
from newswire.query import MAX_DEPTH, Phrase, Term, parse_query, positive_tokens, stem, stems, tokenize
from tests.factories import article_factory, enriched_factory

words = st.text(st.characters(categories=("L", "N", "Pc", "M")), min_size=1, max_size=20)
texts = st.text(max_size=200)


@pytest.mark.parametrize(
    ("query", "document"),
    [("mutineers", "mutineer"), ("marching", "marched"), ("mutinies", "mutinied"), ("Mercenaries", "mercenary")],
)
def test_a_word_and_its_inflections_share_a_stem(query: str, document: str):
    assert stem(tokenize(query)[0]) == stem(document)


def test_a_quoted_word_is_exact_and_a_bare_word_is_not():
    assert parse_query('"mutineers"') == Term("mutineers", exact=True)
    assert parse_query("mutineers") == Term("mutineers")
    assert parse_query('"Rostov on Don"') == Phrase(("rostov", "on", "don"))


@given(texts)
def test_tokenizing_is_idempotent(text: str):
    tokens = tokenize(text)
    assert tokenize(" ".join(tokens)) == tokens


@given(st.lists(words, max_size=30))
def test_stems_are_single_tokens_that_survive_the_stores_whitespace_split(items: list[str]):
    tokens = tokenize(" ".join(items))
    stemmed = stems(tokens)
    assert len(stemmed) == len(tokens)
    assert all(stemmed_token for stemmed_token in stemmed)
    # The stores index " ".join(stems): each stem must come back as one token, unchanged.
    assert tokenize(" ".join(stemmed)) == stemmed
    assert stemmed == [stem(token) for token in tokens]


@given(texts, st.integers(min_value=0, max_value=40))
def test_every_word_of_a_document_is_found_by_the_query_of_that_word(text: str, pick: int):
    tokens = tokenize(text)
    if not tokens:
        return
    word = tokens[pick % len(tokens)]
    node = parse_query(word)
    assert isinstance(node, Term)
    assert stem(node.text) in stems(tokens)  # the query's stem is among the document's indexed stems
    quoted = parse_query(f'"{word}"')
    assert isinstance(quoted, Term) and quoted.text in tokens


@given(texts)
def test_stemming_a_normalised_text_again_gives_the_same_stems(text: str):
    tokens = tokenize(text)
    assert stems(tokenize(" ".join(tokens))) == stems(tokens)


def article(title: str, summary: str = "", content: str = ""):
    return enriched_factory(article_factory(title=title, summary=summary, content=content))


def test_highlights_mark_inflections_of_a_word_but_only_the_exact_quoted_word():
    hit = article("Mutineers march on Moscow", "A mutineer said the marching went on.")
    assert Highlighter(parse_query("mutineer marched"))(hit) == (
        "<em>Mutineers</em> <em>march</em> on Moscow",
        "A <em>mutineer</em> said the <em>marching</em> went on.",
    )
    assert Highlighter(parse_query('"mutineer"'))(hit) == ("A <em>mutineer</em> said the marching went on.",)


def test_highlights_are_escaped_html_with_only_em_tags_of_their_own():
    hit = article('Wagner <script>alert("x")</script> & <em>not a match</em>')
    (fragment,) = Highlighter(parse_query("wagner"))(hit)
    assert fragment == (
        "<em>Wagner</em> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;em&gt;not a match&lt;/em&gt;"
    )
    assert highlight_text(fragment) == '[Wagner] <script>alert("x")</script> & <em>not a match</em>'


@given(st.text(max_size=120), words)
def test_a_highlight_never_holds_a_tag_the_article_wrote(text: str, word: str):
    assume(tokenize(word))
    for fragment in Highlighter(parse_query(word.replace("*", "")))(article(f"{text} {word} {text}")):
        assert "<" not in fragment.replace("<em>", "").replace("</em>", "")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"private military', "the quote at character 1 is not closed"),
        ('wagner "rostov', "the quote at character 8 is not closed"),
        ("OR wagner", "OR needs something on its left at character 1"),
        ("wagner OR", "OR needs something on its right at character 8"),
        ("(" * 325 + "wagner" + ")" * 325, f"more than {MAX_DEPTH} nested parentheses at character {MAX_DEPTH + 1}"),
    ],
)
def test_mistakes_in_a_query_say_what_and_where(query: str, message: str):
    with pytest.raises(InvalidQuery, match=message.replace("(", r"\(")):
        parse_query(query)


def test_parentheses_nested_up_to_the_limit_are_fine():
    assert positive_tokens(parse_query("(" * MAX_DEPTH + "wagner" + ")" * MAX_DEPTH)) == ["wagner"]


@given(st.text(alphabet='()"wagner OR-*', max_size=400))
def test_any_mix_of_operators_parses_or_is_an_invalid_query(query: str):
    with contextlib.suppress(InvalidQuery):
        parse_query(query)
