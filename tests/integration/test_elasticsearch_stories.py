"""Listing stories on the real Elasticsearch node: the definition, key paging, old indexes, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

import newswire.indexer.elasticsearch.stories as es_stories
from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery, SearchUnavailable
from newswire.indexer.elasticsearch import MAPPINGS, ElasticsearchStore
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, StoriesResult, StoryQuery, story_articles
from tests.story_model import T0, Mutiny, Storylines, expected_stories, make, matching_ids

pytestmark = pytest.mark.elasticsearch


@pytest.fixture(scope="module")
def mutiny() -> Mutiny:
    return Mutiny()


@contextmanager
def filled_store(es_url: str, prefix: str, articles: list[EnrichedArticle]) -> Iterator[ElasticsearchStore]:
    """A store under an alias of its own holding ``articles``, dropped afterwards."""
    store = ElasticsearchStore(es_url, alias=f"{prefix}-{uuid.uuid4().hex[:12]}")
    try:
        store.ensure_ready()
        if articles:
            assert store.upsert(articles).written == len(articles)
        store.refresh()
        yield store
    finally:
        store.drop()
        store.close()


@pytest.fixture(scope="module")
def store(es_url: str, mutiny: Mutiny) -> Iterator[ElasticsearchStore]:
    with filled_store(es_url, "test-stories", mutiny.articles) as filled:
        yield filled


QUERIES: dict[str, dict[str, Any]] = {
    "everything": {},
    "by size": {"sort": "size"},
    "second page": {"size": 2, "offset": 2},
    "one word in one article of a story": {"text": "gerasimov"},
    "entity": {"entities": ("Yevgeny Prigozhin",), "sort": "size"},
    "source": {"sources": ("Wire Relay",)},
    "range": {"since": T0 + timedelta(hours=3), "until": T0 + timedelta(hours=29)},
    "one story without its first article": {"story_id": "story-deal"},
    "no story id": {"text": "moscow"},
    "nothing": {"text": "football"},
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_stories_follow_the_definition(store: ElasticsearchStore, mutiny: Mutiny, name: str):
    query = StoryQuery(**QUERIES[name])
    assert store.stories(query) == expected_stories(mutiny.articles, matching_ids(store, query), query)


def test_the_mutiny_stories_as_a_user_sees_them(store: ElasticsearchStore, mutiny: Mutiny):
    result = store.stories(StoryQuery(text="gerasimov"))
    (rostov,) = result.stories
    assert (rostov.story_id, rostov.title, rostov.size, rostov.copies, rostov.sources) == (
        mutiny.rostov.id,
        mutiny.shoigu.title,  # the earliest article names the story
        3,
        1,
        3,
    )
    assert rostov.top_entities[0].name == "Yevgeny Prigozhin"
    assert story_articles(store, mutiny.rostov.id) == (3, [mutiny.shoigu, mutiny.rostov, mutiny.rostov_copy])
    assert story_articles(store, mutiny.moscow.id) == (1, [mutiny.moscow])


def test_matching_keys_are_read_page_by_page(store: ElasticsearchStore, monkeypatch: pytest.MonkeyPatch):
    query = StoryQuery(text="wagner OR putin OR lukashenko OR prigozhin OR moscow", sort="size", size=10)
    whole = store.stories(query)
    monkeypatch.setattr(es_stories, "KEYS_PAGE", 2)
    assert store.stories(query) == whole
    assert whole.total == 4


def test_too_many_matching_stories_ask_for_a_narrower_query(store: ElasticsearchStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(es_stories, "MAX_MATCHING_STORIES", 2)
    monkeypatch.setattr(es_stories, "KEYS_PAGE", 2)
    with pytest.raises(InvalidQuery, match="matches more than 2 stories; narrow it"):
        store.stories(StoryQuery(since=T0))
    assert store.stories(StoryQuery()).total == 4  # without a condition no key is listed


def test_an_index_made_before_stories_gets_the_new_fields(es_url: str, unique_name, mutiny: Mutiny):
    alias = unique_name("news")
    old_mappings = {**MAPPINGS, "properties": dict(MAPPINGS["properties"])}
    del old_mappings["properties"]["story"], old_mappings["properties"]["entity_keys"]
    client = Elasticsearch(es_url)
    store = ElasticsearchStore(es_url, alias=alias)
    try:
        client.indices.create(index=f"{alias}-v1", mappings=old_mappings, aliases={alias: {"is_write_index": True}})
        store.ensure_ready()
        assert store.upsert(mutiny.articles).written == len(mutiny.articles)
        store.refresh()
        query = StoryQuery(sort="size")
        assert store.stories(query) == expected_stories(mutiny.articles, matching_ids(store, query), query)
    finally:
        store.drop()
        store.close()
        client.close()


def test_an_invalid_text_is_an_invalid_query(store: ElasticsearchStore):
    with pytest.raises(InvalidQuery, match="missing"):
        store.stories(StoryQuery(text="(wagner"))


@pytest.fixture
def empty_store(es_url: str, unique_name) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(es_url, alias=unique_name("news"))
    try:
        store.ensure_ready()
        yield store
    finally:
        store.drop()
        store.close()


def test_an_empty_store_has_no_stories(empty_store: ElasticsearchStore):
    assert empty_store.stories(StoryQuery()) == StoriesResult(total=0, stories=())
    assert empty_store.stories(StoryQuery(text="wagner")) == StoriesResult(total=0, stories=())


def test_equal_stories_are_ordered_by_id(empty_store: ElasticsearchStore):
    empty_store.upsert([make(f"Story {n}", story_id=f"story-{n}") for n in "cab"])
    empty_store.refresh()
    for sort in ("latest", "size"):
        listed = empty_store.stories(StoryQuery(sort=sort, size=2, offset=1)).stories
        assert [story.story_id for story in listed] == ["story-b", "story-c"]


def test_an_unreachable_node_is_unavailable_with_its_url_named():
    store = ElasticsearchStore("http://127.0.0.1:1", request_timeout=2)
    try:
        with pytest.raises(SearchUnavailable, match=r"127\.0\.0\.1:1"):
            store.stories(StoryQuery())
    finally:
        store.close()


# --- storylines and their events ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def storylines() -> Storylines:
    return Storylines()


@pytest.fixture(scope="module")
def storyline_store(es_url: str, storylines: Storylines) -> Iterator[ElasticsearchStore]:
    with filled_store(es_url, "test-storylines", storylines.articles) as filled:
        yield filled


@pytest.mark.parametrize("level", ["storyline", "event"])
@pytest.mark.parametrize("query", [{}, {"text": "prigozhin"}, {"sort": "size", "size": 2}, {"text": "radio"}])
def test_storylines_and_events_follow_the_definition(storyline_store, storylines, level, query):
    story_query = StoryQuery(level=level, **query)
    expected = expected_stories(storylines.articles, matching_ids(storyline_store, story_query), story_query)
    assert storyline_store.stories(story_query) == expected


def test_a_storyline_reads_the_same_as_on_the_embedded_store(storyline_store, storylines, tmp_path):
    embedded = EmbeddedStore(tmp_path / "search.sqlite3")
    try:
        embedded.ensure_ready()
        embedded.upsert(storylines.articles)
        for level in ("storyline", "event"):
            assert storyline_store.stories(StoryQuery(level=level)) == embedded.stories(StoryQuery(level=level))
        search = SearchQuery(storyline_id=storylines.mutiny, sort="date", size=20)
        assert [hit.article for hit in storyline_store.search(search).hits] == [
            hit.article for hit in embedded.search(search).hits
        ]
        assert story_articles(storyline_store, storylines.mutiny, level="storyline") == story_articles(
            embedded, storylines.mutiny, level="storyline"
        )
    finally:
        embedded.close()


@pytest.mark.parametrize("order", ["in order", "merge first"])
def test_a_storyline_merge_keeps_both_ids_reading_the_merged_storyline(es_url: str, order: str):
    from tests.unit.test_storyline_merges_store import check_merged, merged_storylines

    articles = merged_storylines()
    if order == "merge first":
        articles = [articles[2], articles[0], articles[1], articles[3]]
    with filled_store(es_url, "test-merges", []) as store:
        for article in articles:
            assert store.upsert([article]).written == 1
        store.refresh()
        check_merged(store, articles)
