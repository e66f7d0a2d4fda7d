"""Search parity: the embedded store (SQLite FTS5) and Elasticsearch answer the same queries alike.

Both stores index the parity corpus (``tests/data/parity_corpus.py``) and run every query of
``tests/data/parity_queries.py``. Totals, facet counts and histogram buckets must be identical; the top-10 hits
must share at least 8 ids (rankings are BM25 in both, computed differently); a query without text, or sorted by
date, must list the same ids in the same order; a query filtered on one entity must have the same first hit.
Story listings (:data:`STORY_QUERIES`) must be identical, and what :mod:`tests.story_model` says they should be.
:data:`MEANING_QUERIES` add stemmed words (which must find more than their exact form), quoted words and phrases
(exact words only) and filters by any case, surname or topic name (which must find what the canonical filter finds);
suggestions must be identical.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from newswire.errors import SearchError
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.embedded import EmbeddedStore
from newswire.query import tokenize
from newswire.search import SearchQuery, SearchResult, StoryQuery, story_articles
from tests.data.parity_corpus import parity_corpus
from tests.data.parity_queries import JUNE_25, JUNE_26, PARITY_QUERIES
from tests.story_model import expected_stories, matching_ids

pytestmark = pytest.mark.elasticsearch

TOP = 10
MIN_OVERLAP = 8


@pytest.fixture(scope="module")
def stores(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStore, ElasticsearchStore]]:
    corpus = parity_corpus()
    embedded = EmbeddedStore(Path(tmp_path_factory.mktemp("parity")) / "search.sqlite3")
    elastic = ElasticsearchStore(es_url, alias=f"test-parity-{uuid.uuid4().hex[:12]}")
    try:
        for store in (embedded, elastic):
            store.ensure_ready()
            result = store.upsert(corpus)
            assert (result.written, result.rejected) == (len(corpus), ())
            store.refresh()
        yield embedded, elastic
    finally:
        embedded.close()
        with contextlib.suppress(SearchError):  # a node that refused the set-up has nothing to drop
            elastic.drop()
        elastic.close()


def test_both_stores_hold_the_same_articles(stores: tuple[EmbeddedStore, ElasticsearchStore]):
    embedded, elastic = stores
    corpus = parity_corpus()
    assert embedded.count() == elastic.count() == len(corpus)
    for article in corpus[:5]:
        assert embedded.get(article.id) == elastic.get(article.id) == article


def _ids(result: SearchResult) -> list[str]:
    return [hit.article.id for hit in result.hits]


def _titles(result: SearchResult) -> list[str]:
    return [hit.article.title for hit in result.hits]


def _missing(stores: tuple[EmbeddedStore, ElasticsearchStore], query: SearchQuery) -> str:
    """Which titles only one store found, for the failure message."""
    everything = replace(query, size=100, offset=0, facets=False, histogram=None)
    mine, theirs = (set(_titles(store.search(everything))) for store in stores)
    return f"only embedded: {sorted(mine - theirs)}; only Elasticsearch: {sorted(theirs - mine)}"


@pytest.mark.parametrize("name", list(PARITY_QUERIES))
def test_same_answers(stores: tuple[EmbeddedStore, ElasticsearchStore], name: str):
    embedded, elastic = stores
    query: SearchQuery = PARITY_QUERIES[name]
    mine, theirs = embedded.search(query), elastic.search(query)
    assert mine.total > 0, "a parity query must match something"
    assert mine.total == theirs.total, _missing(stores, query)
    assert mine.facets == theirs.facets
    assert mine.histogram == theirs.histogram
    if not query.text or query.sort == "date":
        assert _ids(mine) == _ids(theirs)
    else:
        shared = set(_ids(mine)[:TOP]) & set(_ids(theirs)[:TOP])
        assert len(shared) >= min(MIN_OVERLAP, len(mine.hits)), (
            f"top {TOP} share {len(shared)}:\n embedded: {_titles(mine)}\n Elasticsearch: {_titles(theirs)}"
        )
    if len(query.entities) == 1:
        assert _ids(mine)[:1] == _ids(theirs)[:1], f"first hits: {_titles(mine)[:1]} vs {_titles(theirs)[:1]}"


def test_the_parity_queries_cover_the_features():
    queries = list(PARITY_QUERIES.values())
    assert len(queries) >= 25
    texts = " ".join(query.text for query in queries)
    for operator in ('"', " OR ", "-", " NOT ", "*", "("):
        assert operator in texts
    for feature in ("entities", "topics", "sources", "language", "since", "until", "story_id", "facets"):
        assert any(getattr(query, feature) for query in queries), feature
    assert {query.histogram for query in queries} >= {"hour", "day"}
    assert any(query.sort == "date" for query in queries)
    assert any(query.collapse_duplicates for query in queries)


STORY_QUERIES: dict[str, StoryQuery] = {
    "every story": StoryQuery(size=50),
    "by size": StoryQuery(sort="size", size=5),
    "second page by size": StoryQuery(sort="size", size=4, offset=4),
    "word": StoryQuery(text="prigozhin"),
    "phrase or word": StoryQuery(text='"armed mutiny" OR lukashenko', sort="size"),
    "without a word": StoryQuery(text="moscow -wagner"),
    "entity": StoryQuery(entities=("Alexander Lukashenko",)),
    "topic and source": StoryQuery(topics=("conflict_war_peace",), sources=("Northern Ledger", "Meridian Wire")),
    "language": StoryQuery(language="de"),
    "date range": StoryQuery(since=JUNE_25, until=JUNE_26, sort="size"),
    "one story": StoryQuery(story_id="rostov"),
}


@pytest.mark.parametrize("name", list(STORY_QUERIES))
def test_same_stories(stores: tuple[EmbeddedStore, ElasticsearchStore], name: str):
    embedded, elastic = stores
    query = STORY_QUERIES[name]
    mine, theirs = embedded.stories(query), elastic.stories(query)
    assert mine.stories, "a story parity query must list something"
    assert mine == theirs
    assert mine == expected_stories(parity_corpus(), matching_ids(embedded, query), query)


def test_same_articles_in_every_story(stores: tuple[EmbeddedStore, ElasticsearchStore]):
    embedded, elastic = stores
    listed = embedded.stories(StoryQuery(size=100)).stories
    assert any(story.size > 1 for story in listed) and any(story.size == 1 for story in listed)
    for story in listed:
        assert story_articles(embedded, story.story_id) == story_articles(elastic, story.story_id)
        assert story_articles(embedded, story.story_id)[0] == story.size


# Words by their stem, the exact words in quotes; filters folded. Each pairs a query with its exact or canonical twin.
MEANING_QUERIES: dict[str, tuple[SearchQuery, SearchQuery]] = {
    "stem flooded": (SearchQuery(text="flooded"), SearchQuery(text='"flooded"')),
    "stem accuses": (SearchQuery(text="accuses"), SearchQuery(text='"accuses"')),
    "stem closes with date sort": (SearchQuery(text="closes", sort="date"), SearchQuery(text='"closes"', sort="date")),
    "stem in an OR": (SearchQuery(text="demanded OR promised"), SearchQuery(text='"demanded" OR "promised"')),
    "stem with a phrase": (
        SearchQuery(text='calls "armed mutiny"'),
        SearchQuery(text='"calls" "armed mutiny"'),
    ),
    "stem without a word": (SearchQuery(text="says -wagner"), SearchQuery(text='"says" -wagner')),
    "surname": (SearchQuery(entities=("prigozhin",)), SearchQuery(entities=("Yevgeny Prigozhin",))),
    "entity in any case": (
        SearchQuery(entities=("alexander LUKASHENKO",), facets=True),
        SearchQuery(entities=("Alexander Lukashenko",), facets=True),
    ),
    "topic by name": (
        SearchQuery(topics=("Conflict, war and peace",), histogram="day"),
        SearchQuery(topics=("conflict_war_peace",), histogram="day"),
    ),
    "topic in upper case": (SearchQuery(topics=("SPORT",)), SearchQuery(topics=("sport",))),
    "sources in any case": (
        SearchQuery(text="putin", sources=("meridian wire", "BALTIC DISPATCH")),
        SearchQuery(text="putin", sources=("Meridian Wire", "Baltic Dispatch")),
    ),
}


def _words_in_titles_or_text(result: SearchResult) -> set[str]:
    return {
        token
        for hit in result.hits
        for token in tokenize(f"{hit.article.title} {hit.article.summary} {hit.article.content}")
    }


@pytest.mark.parametrize("name", list(MEANING_QUERIES))
def test_same_answers_for_stems_exact_words_and_folded_filters(
    stores: tuple[EmbeddedStore, ElasticsearchStore], name: str
):
    embedded, elastic = stores
    query, twin = MEANING_QUERIES[name]
    for asked in (query, twin):
        mine, theirs = embedded.search(asked), elastic.search(asked)
        assert mine.total > 0, f"{asked} must match something"
        assert mine.total == theirs.total, _missing(stores, asked)
        assert (mine.facets, mine.histogram) == (theirs.facets, theirs.histogram)
        assert set(_ids(mine)) == set(_ids(theirs)) or mine.total > TOP
        if asked.sort == "date":
            assert _ids(mine) == _ids(theirs)
    found, exact = embedded.search(replace(query, size=100)), embedded.search(replace(twin, size=100))
    if query.text != twin.text:
        # The stemmed word finds every article of its exact form, and more (its other forms).
        assert set(_ids(exact)) < set(_ids(found)), f"{query.text!r} finds no more than {twin.text!r}"
    else:
        assert _ids(found) == _ids(exact)


def test_an_exact_word_is_not_found_in_its_other_forms(stores: tuple[EmbeddedStore, ElasticsearchStore]):
    for store in stores:
        result = store.search(SearchQuery(text='"flooded"', size=100))
        assert "flooded" in _words_in_titles_or_text(result)
        for hit in result.hits:
            assert "flooded" in tokenize(f"{hit.article.title} {hit.article.summary} {hit.article.content}")


@pytest.mark.parametrize(
    ("field", "prefix"),
    [("entity", "pri"), ("entity", "S"), ("entity", "bank"), ("topic", "con"), ("topic", "war"), ("source", "m")],
)
def test_same_suggestions(stores: tuple[EmbeddedStore, ElasticsearchStore], field: str, prefix: str):
    embedded, elastic = stores
    mine = embedded.suggest(field, prefix, size=8)
    assert mine, f"{field} {prefix!r} must suggest something"
    assert mine == elastic.suggest(field, prefix, size=8)
