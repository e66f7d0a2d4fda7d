"""Elasticsearch finds what people mean: stems, folded filters and suggestions, also after an index of layout 1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from newswire.contract import Entity, Topic
from newswire.indexer.elasticsearch import LAYOUT, MAPPINGS, ElasticsearchStore, document
from newswire.search import FacetCount, SearchQuery
from tests.factories import article_factory, enriched_factory

pytestmark = pytest.mark.elasticsearch

ARTICLES = [
    enriched_factory(
        article_factory(title="Mutineer column marched north", source="Harbour Post"),
        entities=[Entity(name="Yevgeny Prigozhin", label="PERSON", count=1)],
        topics=[Topic(label="conflict_war_peace", score=0.8)],
    ),
    enriched_factory(
        article_factory(title="Mutineers stop short of Moscow", source="Steppe Herald"),
        entities=[Entity(name="Yevgeny Prigozhin", label="PERSON", count=1)],
        topics=[Topic(label="politics", score=0.6)],
    ),
]
NEW_FIELDS = ("stems", "entity_match", "topic_match", "source_match", "suggest_keys", "dated")


@pytest.fixture
def layout_1(es_url: str, unique_name) -> Iterator[tuple[str, Elasticsearch]]:
    """An alias on ``{alias}-v1`` made by a newswire before stems: its mapping and documents lack the new fields."""
    alias = unique_name("news")
    client = Elasticsearch(es_url)
    mappings = {key: value for key, value in MAPPINGS.items() if key != "_meta"}
    mappings["properties"] = {name: kind for name, kind in MAPPINGS["properties"].items() if name not in NEW_FIELDS}
    mappings["_source"] = {"excludes": ["tokens"]}
    client.indices.create(index=f"{alias}-v1", mappings=mappings, aliases={alias: {"is_write_index": True}})
    operations: list[dict] = []
    for article in ARTICLES:
        operations.append({"index": {"_id": article.id, "version": article.revision, "version_type": "external_gte"}})
        operations.append({name: value for name, value in document(article).items() if name not in NEW_FIELDS})
    client.bulk(index=alias, operations=operations, refresh=True)
    try:
        yield alias, client
    finally:
        ElasticsearchStore(es_url, alias=alias).drop()
        client.close()


def test_an_index_of_layout_1_is_copied_into_the_current_layout_and_the_alias_moves(es_url: str, layout_1):
    alias, client = layout_1
    old = ElasticsearchStore(es_url, alias=alias)
    assert old.search(SearchQuery(text="mutineers")).total == 0  # an old index has no stems to search
    store = ElasticsearchStore(es_url, alias=alias)
    try:
        store.ensure_ready()
        assert dict(client.indices.get_alias(name=alias)) == {
            f"{alias}-v{LAYOUT}": {"aliases": {alias: {"is_write_index": True}}}
        }
        assert client.indices.exists(index=f"{alias}-v1")  # kept for the operator
        assert store.count() == len(ARTICLES)
        assert store.get(ARTICLES[0].id) == ARTICLES[0]
        assert store.search(SearchQuery(text="mutineers")).total == 2
        assert store.search(SearchQuery(entities=("prigozhin",), topics=("Politics",))).total == 1
        assert store.suggest("entity", "pri") == (FacetCount("Yevgeny Prigozhin", 2),)
        store.ensure_ready()  # again: nothing more to do
        assert store.count() == len(ARTICLES)
    finally:
        store.close()
        old.close()


@pytest.fixture
def store(es_url: str, unique_name) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(es_url, alias=unique_name("news"))
    try:
        store.ensure_ready()
        store.upsert(ARTICLES)
        store.refresh()
        yield store
    finally:
        store.drop()
        store.close()


def test_suggestions_escape_what_the_user_typed(store: ElasticsearchStore):
    assert store.suggest("source", "h") == (FacetCount("Harbour Post", 1), FacetCount("Steppe Herald", 1))
    assert store.suggest("source", "ha") == (FacetCount("Harbour Post", 1),)
    assert store.suggest("source", "steppe h") == (FacetCount("Steppe Herald", 1),)
    for hostile in (".*", "h.*", "(", "\\", '"', "[a-z]", "@", "~", "#", "<>"):
        assert store.suggest("source", hostile) == ()
