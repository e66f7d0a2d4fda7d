"""The embedded store finds what people mean: stems, exact phrases, folded filters, suggestions, and old stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from newswire.contract import EnrichedArticle, Entity, Topic
from newswire.errors import InvalidQuery
from newswire.indexer.embedded import SCHEMA_VERSION, EmbeddedStore
from newswire.search import FacetCount, SearchQuery
from tests.factories import article_factory, enriched_factory


def make(title: str, content: str = "", *, entities: tuple[tuple[str, str], ...] = (), **fields: Any):
    topics = fields.pop("topics", ())
    return enriched_factory(
        article_factory(title=title, content=content, **fields),
        entities=[Entity(name=name, label=label, count=1) for name, label in entities],
        topics=[Topic(label=label, score=0.7) for label in topics],
    )


ARTICLES = [
    make(
        "Mutineer column marched north",
        "The mutineer said Prigozhin led them.",
        entities=(("Yevgeny Prigozhin", "PERSON"), ("Wagner Group", "ORG")),
        topics=("conflict_war_peace",),
        source="Harbour Post",
    ),
    make(
        "Mutineers stop short of Moscow",
        "Marching ended at night; Priests prayed.",
        entities=(("Yevgeny Prigozhin", "PERSON"), ("Moscow", "GPE")),
        topics=("conflict_war_peace", "politics"),
        source="Steppe Herald",
    ),
    make("Parliament debates the budget", "Pricing of grain.", topics=("politics",), source="Harbour Post"),
]


@pytest.fixture
def store(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    store.upsert(ARTICLES)
    yield store
    store.close()


def titles(store: EmbeddedStore, text: str = "", **filters: Any) -> list[str]:
    return sorted(hit.article.title for hit in store.search(SearchQuery(text=text, size=50, **filters)).hits)


def test_a_word_finds_its_inflections(store: EmbeddedStore):
    both = ["Mutineer column marched north", "Mutineers stop short of Moscow"]
    assert titles(store, "mutineers") == both
    assert titles(store, "marching") == both


def test_a_quoted_word_or_phrase_finds_the_exact_words_only(store: EmbeddedStore):
    assert titles(store, '"mutineers"') == ["Mutineers stop short of Moscow"]
    assert titles(store, '"column marched"') == ["Mutineer column marched north"]
    assert titles(store, '"column marching"') == []


def test_a_prefix_is_matched_on_the_exact_words(store: EmbeddedStore):
    assert titles(store, "mutineers*") == ["Mutineers stop short of Moscow"]


def test_filters_ignore_case_and_find_a_person_by_surname(store: EmbeddedStore):
    both = ["Mutineer column marched north", "Mutineers stop short of Moscow"]
    assert titles(store, entities=("prigozhin",)) == both
    assert titles(store, entities=("YEVGENY PRIGOZHIN",)) == both
    assert titles(store, entities=("wagner group",)) == ["Mutineer column marched north"]
    assert titles(store, entities=("wagner",)) == []  # an organisation has no surname
    assert titles(store, topics=("Politics",)) == ["Mutineers stop short of Moscow", "Parliament debates the budget"]
    assert titles(store, topics=("conflict, WAR and peace",)) == both
    assert titles(store, sources=("harbour post",)) == [
        "Mutineer column marched north",
        "Parliament debates the budget",
    ]


def test_suggestions_match_the_start_of_any_word_most_articles_first(store: EmbeddedStore):
    assert store.suggest("entity", "pri") == (FacetCount("Yevgeny Prigozhin", 2),)
    assert store.suggest("entity", "YEV") == (FacetCount("Yevgeny Prigozhin", 2),)
    assert store.suggest("entity", "m") == (FacetCount("Moscow", 1),)
    assert store.suggest("topic", "war") == (FacetCount("conflict_war_peace", 2),)
    assert store.suggest("topic", "pol") == (FacetCount("politics", 2),)
    assert store.suggest("source", "h") == (FacetCount("Harbour Post", 2), FacetCount("Steppe Herald", 1))
    assert store.suggest("source", "h", size=1) == (FacetCount("Harbour Post", 2),)
    assert store.suggest("entity", "zz") == ()


def test_a_name_no_article_has_any_more_is_not_suggested(store: EmbeddedStore):
    first = ARTICLES[0]
    store.upsert([first.model_copy(update={"entities": [], "revision": first.revision + 1})])
    assert store.suggest("entity", "wag") == ()
    assert store.suggest("entity", "pri") == (FacetCount("Yevgeny Prigozhin", 1),)


@pytest.mark.parametrize(
    ("field", "prefix", "size", "message"),
    [("story", "a", 10, "suggestions are for"), ("entity", "  ", 10, "a prefix has"), ("entity", "a", 0, "size")],
)
def test_a_suggestion_request_it_cannot_answer_is_an_invalid_query(
    store: EmbeddedStore, field: str, prefix: str, size: int, message: str
):
    with pytest.raises(InvalidQuery, match=message):
        store.suggest(field, prefix, size)


def _make_schema_2(path: Path, articles: list[EnrichedArticle]) -> None:
    """A store as schema version 2 left it: three FTS columns of exact tokens, no key tables."""
    store = EmbeddedStore(path)
    store.ensure_ready()
    store.upsert(articles)
    store.close()
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            DROP TABLE article_text; DROP TABLE filter_keys; DROP TABLE suggest_keys;
            DROP INDEX articles_by_indexed; ALTER TABLE articles DROP COLUMN indexed_seq;
            CREATE VIRTUAL TABLE article_text USING fts5(title, summary, content,
                tokenize = "unicode61 remove_diacritics 0 tokenchars '_'", prefix = '2 3');
            INSERT INTO article_text (rowid, title, summary, content) SELECT article, lower(id), '', '' FROM articles;
            PRAGMA user_version = 2;
            """
        )


def test_a_store_of_schema_2_is_reindexed_from_its_documents_when_opened(tmp_path: Path):
    path = tmp_path / "search.sqlite3"
    _make_schema_2(path, ARTICLES)
    store = EmbeddedStore(path)
    try:
        store.ensure_ready()
        assert store.count() == len(ARTICLES)
        assert titles(store, "mutineers") == ["Mutineer column marched north", "Mutineers stop short of Moscow"]
        assert titles(store, entities=("prigozhin",), topics=("Politics",)) == ["Mutineers stop short of Moscow"]
        assert store.suggest("entity", "pri") == (FacetCount("Yevgeny Prigozhin", 2),)
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        store.close()
