"""The faster ways the indexers build documents give exactly what the slower ways gave.

Each shortcut is compared with the way it replaced, written out here: :func:`tokenize`'s ASCII and one-pass paths
with tokenising word by word, the kept stems with the stemmer's, the kept name keys with computing them afresh, the
Elasticsearch document with the document as it was built before, key order included (so the JSON bytes are the
same), and the orjson ``_bulk`` lines with the client's standard-library ones.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import Stemmer
from elasticsearch.serializer import NdjsonSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.contract import EnrichedArticle, Entity, Topic
from newswire.indexer.elasticsearch import document
from newswire.indexer.elasticsearch.ndjson import OrjsonNdjsonSerializer
from newswire.names import TOPIC_NAMES, entity_keys, fold, source_key, suggestion_keys, topic_key, topic_name
from newswire.query import STEMMER, stems, tokenize, word_tokens
from newswire.search import FIELD_WEIGHTS, entity_key
from tests.factories import article_factory, enriched_factory

_WORD = re.compile(r"\w+")
_SIGMA = "\u03a3"


def word_by_word(text: str) -> list[str]:
    """Tokens as :func:`tokenize` gave them before its shortcuts: each word run lower-cased on its own."""
    return [part for word in _WORD.findall(text) for part in word_tokens(word)]


# Letters whose lower case is unusual (the capital sigma's final form, the dotted I's combining dot, dotless i),
# apostrophes, digits, marks and separators, mixed with ASCII: the cases where lowering a whole text could differ.
_TRICKY = "aAzZ09_ .,-'\u2019\u201c\u03a3\u03c3\u03c2\u0391\u03b1\u0130\u0131Ii\u0307\u00e9\u00c9\u00df\u1e9e\u212a\t\n"
texts = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=120),
    st.text(alphabet=_TRICKY, max_size=60),
)


@given(texts)
@settings(max_examples=600)
def test_tokenize_gives_the_tokens_of_tokenising_word_by_word(text):
    assert tokenize(text) == word_by_word(text)


def test_every_ascii_character_tokenizes_as_word_by_word():
    every = "".join(chr(code) for code in range(128))
    for text in (every, every[::-1], every * 3, "Prigozhin's men: 3.5 km_away\x1fOK"):
        assert tokenize(text) == word_by_word(text)


def test_a_capital_sigma_lowers_by_its_neighbours_so_its_text_goes_word_by_word():
    # Lower-cased whole, the sigma before "." and a letter is not word-final; lowered as its word, it is.
    text = "\u039f\u0394\u039f\u03a3.A"
    assert text.lower() != "".join(word.lower() if _WORD.fullmatch(word) else word for word in re.split(r"(\W+)", text))
    assert tokenize(text) == word_by_word(text) == ["\u03bf\u03b4\u03bf\u03c2", "a"]


def test_lowering_is_the_same_in_any_company_and_never_turns_a_non_word_into_a_word():
    """The two facts the one-pass path of tokenize rests on, checked over every code point of this Python."""
    word = re.compile(r"\w")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        lowered = char.lower()
        if not word.match(char):
            assert not word.search(lowered), f"U+{code:04X} lowers to a word character"
        if char != _SIGMA:
            assert ("A" + char + "A").lower() == "a" + lowered + "a", f"U+{code:04X} lowers by its neighbours"


token_lists = st.lists(
    st.one_of(
        st.sampled_from(["running", "runs", "ran", "mutineers", "marching", "marched", "generously", "3", "_"]),
        st.text(alphabet=st.characters(categories=["Ll", "Nd"]), min_size=1, max_size=12),
        st.text(alphabet="ab", min_size=60, max_size=70),  # around the length beyond which stems are not kept
    ),
    max_size=30,
)


@given(token_lists)
def test_kept_stems_are_the_stemmers_stems(tokens):
    stemmer = Stemmer.Stemmer(STEMMER)
    expected = [stemmer.stemWord(token) or token for token in tokens]
    assert stems(tokens) == expected
    assert stems(tokens) == expected  # the second time from what was kept
    assert stems(iter(tokens)) == expected


def fresh_fold(text: str) -> str:
    return fold.__wrapped__(text)


def fresh_entity_keys(entity: Entity) -> set[str]:
    keys = {fresh_fold(entity.name), *(fresh_fold(form) for form in entity.surface_forms)}
    words = fresh_fold(entity.name).split(" ")
    if entity.label == "PERSON" and len(words) > 1 and len(words[-1]) > 1:
        keys.add(words[-1])
    keys.discard("")
    return keys


def fresh_suggestion_keys(field: str, value: str) -> set[str]:
    names = [value.replace("_", " "), topic_name(value)] if field == "topic" else [value]
    keys: set[str] = set()
    for name in names:
        words = fresh_fold(name).split(" ")
        keys.update(" ".join(words[start:]) for start in range(len(words)) if words[start])
    return keys


def fresh_topic_key(value: str) -> str:
    by_name = {fresh_fold(name): slug for slug, name in TOPIC_NAMES.items()}
    folded = fresh_fold(value)
    return fresh_fold(by_name.get(folded, folded))


def document_as_before(article: EnrichedArticle) -> dict[str, Any]:
    """The document as translation.document built it before the shortcuts, from the slow pieces above."""
    source = article.model_dump(mode="json", by_alias=True)
    source["entity_names"] = sorted({entity.name for entity in article.entities})
    source["topic_labels"] = sorted({topic.label for topic in article.topics})
    source["entity_keys"] = sorted({entity_key(entity.name, entity.label) for entity in article.entities})
    source["story"] = article.story_id or article.id
    source["storyline"] = article.storyline or source["story"]
    tokens = {name: word_by_word(getattr(article, name)) for name in FIELD_WEIGHTS}
    stemmer = Stemmer.Stemmer(STEMMER)
    source["tokens"] = {name: " ".join(words) for name, words in tokens.items()}
    source["stems"] = {
        name: " ".join(stemmer.stemWord(word) or word for word in words) for name, words in tokens.items()
    }
    source["entity_match"] = sorted({key for entity in article.entities for key in fresh_entity_keys(entity)})
    source["topic_match"] = sorted({fresh_topic_key(topic.label) for topic in article.topics})
    source["source_match"] = fresh_fold(article.source)
    if not article.published_estimated:
        source["dated"] = source["published"]
    suggested = (("entity", source["entity_names"]), ("topic", source["topic_labels"]), ("source", [article.source]))
    source["suggest_keys"] = sorted(
        "\x1f".join((field, key, value))
        for field, values in suggested
        for value in values
        for key in fresh_suggestion_keys(field, value)
    )
    return source


# Names that repeat across examples (so kept keys are read back) and names made up for one example.
_NAMES = ["Yevgeny Prigozhin", "Wagner Group", "Rostov-on-Don", "Sergei  Shoigu", "\uff37agner", "\u0130stanbul"]
names = st.one_of(st.sampled_from(_NAMES), st.text(min_size=1, max_size=20))
entities = st.builds(
    Entity,
    name=names,
    label=st.sampled_from(["PERSON", "ORG", "GPE", "NORP"]),
    count=st.integers(min_value=1, max_value=9),
    surface_forms=st.lists(names, max_size=3),
    first_offset=st.integers(min_value=0, max_value=500),
)
topics = st.builds(
    Topic,
    label=st.one_of(st.sampled_from(sorted(TOPIC_NAMES)), st.text(min_size=1, max_size=15)),
    score=st.floats(min_value=0.0, max_value=1.0),
)


@st.composite
def enriched_articles(draw: st.DrawFn) -> EnrichedArticle:
    published = datetime(2023, 6, 24, tzinfo=UTC) + timedelta(milliseconds=draw(st.integers(0, 10**10)))
    article = article_factory(
        title=draw(texts),
        summary=draw(texts),
        content=draw(texts),
        source=draw(st.one_of(st.sampled_from(["Harbour Post", "HARBOUR  post", "Bench Wire 7"]), st.text())),
        published=published,
        published_estimated=draw(st.booleans()),
    )
    event = draw(st.one_of(st.none(), st.sampled_from(["e1", "e2"])))
    return enriched_factory(
        article,
        entities=draw(st.lists(entities, max_size=6)),
        topics=draw(st.lists(topics, max_size=3)),
        event_id=event,
        story_id=event,
        storyline_id=draw(st.one_of(st.none(), st.just("s1"))),
    )


@given(enriched_articles())
@settings(max_examples=300)
def test_a_document_is_byte_for_byte_the_document_built_the_slow_way(article):
    expected = json.dumps(document_as_before(article))
    assert json.dumps(document(article)) == expected
    assert json.dumps(document(article)) == expected  # again, from the kept keys and stems


@given(enriched_articles())
def test_the_name_keys_kept_are_the_keys_computed_afresh(article):
    for entity in article.entities:
        assert entity_keys(entity) == fresh_entity_keys(entity)
        assert suggestion_keys("entity", entity.name) == fresh_suggestion_keys("entity", entity.name)
    for topic in article.topics:
        assert topic_key(topic.label) == fresh_topic_key(topic.label)
        assert suggestion_keys("topic", topic.label) == fresh_suggestion_keys("topic", topic.label)
    assert source_key(article.source) == fresh_fold(article.source)


@given(enriched_articles())
def test_orjson_bulk_lines_read_back_as_the_standard_librarys(article):
    lines = [{"index": {"_id": article.id, "version": article.revision}}, document(article)]
    ours, theirs = OrjsonNdjsonSerializer().dumps(lines), NdjsonSerializer().dumps(lines)
    assert [json.loads(line) for line in ours.splitlines()] == [json.loads(line) for line in theirs.splitlines()]


def test_orjson_bulk_lines_are_the_standard_librarys_bytes_for_a_typical_article():
    article = enriched_factory(article_factory(title="Kämpfer in Rostov \u2014 \u201cwe stay\u201d\x1f\n\t\\ \u2028"))
    lines = [{"index": {"_id": article.id}}, document(article)]
    assert OrjsonNdjsonSerializer().dumps(lines) == NdjsonSerializer().dumps(lines)


def test_what_orjson_refuses_is_written_by_the_standard_library_as_before():
    article = enriched_factory(article_factory(title="a lone \ud800 surrogate"))
    lines: list[Any] = [
        document(article),
        {"revision": 2**70},
        {"at": datetime(2023, 6, 24, 6, 0, 1, 5, tzinfo=UTC)},
        {1: "a key that is not a string"},
    ]
    assert OrjsonNdjsonSerializer().dumps(lines) == NdjsonSerializer().dumps(lines)
