"""The query language: what users type, what the stores are asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.errors import InvalidQuery
from newswire.query import And, Or, Phrase, Term, parse_query, positive_tokens, tokenize


def test_words_are_all_required():
    assert parse_query("Wagner mutiny") == And((Term("wagner"), Term("mutiny")))


def test_a_single_word_is_a_term_lower_cased():
    assert parse_query("PRIGOZHIN") == Term("prigozhin")


def test_empty_query_matches_everything():
    assert parse_query("") is None
    assert parse_query("   ") is None


def test_phrase_and_or_and_exclusion():
    tree = parse_query('"private military company" OR wagner -sport')
    assert tree == Or((Phrase(("private", "military", "company")), And((Term("wagner"),), (Term("sport"),))))


def test_not_keyword_and_explicit_and():
    assert parse_query("putin AND NOT shoigu") == And((Term("putin"),), (Term("shoigu"),))


def test_grouping():
    tree = parse_query("(putin OR kremlin) rostov")
    assert tree == And((Or((Term("putin"), Term("kremlin"))), Term("rostov")))


def test_a_hyphenated_name_is_a_phrase():
    assert parse_query("Rostov-on-Don") == Phrase(("rostov", "on", "don"))


def test_prefix():
    assert parse_query("mobili*") == Term("mobili", prefix=True)


def test_lower_case_or_is_a_word():
    assert parse_query("war or peace") == And((Term("war"), Term("or"), Term("peace")))


def test_positive_tokens_leave_out_exclusions():
    assert positive_tokens(parse_query('wagner "rostov on don" -football')) == ["wagner", "rostov", "on", "don"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("-sport", "only excludes"),
        ("NOT sport", "only excludes"),
        ("(wagner", "missing ')'"),
        ("wagner)", "unexpected ')'"),
        ("OR wagner", "OR needs something"),
        ("wagner OR", "OR needs something"),
        ("AND wagner", "AND needs something"),
        ("()", "empty parentheses"),
        ("a*", "prefix needs"),
        ("wagner OR -sport", "only excludes"),
    ],
)
def test_invalid_queries_say_what_and_where(query, message):
    with pytest.raises(InvalidQuery, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(query)


def test_a_very_long_query_is_refused():
    with pytest.raises(InvalidQuery, match="characters long"):
        parse_query("wagner " * 500)


def test_too_many_words_are_refused():
    with pytest.raises(InvalidQuery, match="more than 64 words"):
        parse_query(" ".join(f"w{i}" for i in range(70)))


def test_tokenize_matches_the_stores_rule():
    assert tokenize("Prigozhin's men took Rostov-on-Don, 24 June") == [
        "prigozhin",
        "s",
        "men",
        "took",
        "rostov",
        "on",
        "don",
        "24",
        "june",
    ]


def _walk(node):
    yield node
    if isinstance(node, And):
        for part in node.positive + node.negative:
            yield from _walk(part)
    elif isinstance(node, Or):
        for part in node.parts:
            yield from _walk(part)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_an_invalid_query(text):
    try:
        tree = parse_query(text)
    except InvalidQuery as exc:
        assert str(exc)
        return
    if tree is None:
        return
    for node in _walk(tree):
        if isinstance(node, Term):
            assert node.text and node.text == node.text.lower()
            assert tokenize(node.text) == [node.text]
        elif isinstance(node, Phrase):
            assert len(node.tokens) >= 2
        elif isinstance(node, And):
            assert node.positive or node.negative
        else:
            assert len(node.parts) >= 2
    assert positive_tokens(tree)


@given(st.lists(st.from_regex(r"[a-z]{2,10}", fullmatch=True), min_size=1, max_size=8))
def test_plain_words_always_parse_to_their_tokens(words):
    words = [w for w in words if w not in ("and", "or", "not")] or ["wagner"]
    assert positive_tokens(parse_query(" ".join(words))) == words
