"""``newswire reindex`` on a real Kafka topic into a real Elasticsearch node: a new versioned index, the alias moved
atomically while a thread searches in a loop (0 failed searches asserted), then ``--since``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newswire.app.cli import main
from newswire.bus import Bus, open_bus, pipeline_topics
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.settings import Settings, load_settings
from tests import recovery_scenarios as scenarios
from tests.conftest import pipeline_names
from tests.factories import enriched_factory

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]


@pytest.fixture
def settings(kafka_servers: str, es_url: str, unique_name, data_dir) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        es=es_url,
        data_dir=data_dir,
        topic_partitions=3,
        **pipeline_names(unique_name),
    )


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="test-reindex")
    bus.ensure_topics(pipeline_topics(settings))
    yield bus
    bus.close()


@pytest.fixture
def store(settings: Settings) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(settings.es_url, alias=settings.index_alias)
    store.ensure_ready()
    yield store
    store.drop()
    store.close()


def behind_alias(store: ElasticsearchStore) -> list[str]:
    return sorted(store._client.indices.get_alias(name=store.alias).body)


def test_reindex_moves_the_alias_to_a_new_index_while_searches_run(settings, bus, store):
    reader = ElasticsearchStore(settings.es_url, alias=settings.index_alias)
    try:
        scenarios.reindex_rebuilds_from_the_topic_while_searches_run(settings, bus, store, reader)
    finally:
        reader.close()
    (current,) = behind_alias(store)
    assert current.startswith(f"{store.index}-")  # a rebuilt index of the current layout
    store.ensure_ready()  # a restarted indexer takes the rebuilt index as it is, no migration
    assert behind_alias(store) == [current]


def test_the_reindex_command_names_the_index_it_left(settings, bus, store, capsys, monkeypatch):
    article = enriched_factory()
    scenarios.publish(bus, settings.topic_enriched, [(article.id.encode(), scenarios.encode_enriched(article))])
    monkeypatch.setenv("NEWSWIRE_TOPIC_ENRICHED", settings.topic_enriched)
    monkeypatch.setenv("NEWSWIRE_INDEX_ALIAS", settings.index_alias)

    assert main(["reindex", "--kafka", settings.kafka_servers, "--es", settings.es_url]) == 0

    out = capsys.readouterr().out
    assert "1 articles written" in out and f"the alias left {store.index}" in out
    store.refresh()
    assert store.get(article.id) == article


def test_reprocess_re_enriches_what_came_since_a_time_and_elasticsearch_takes_it(settings, bus, store):
    scenarios.reprocess_re_enriches_what_came_since_a_time_and_the_index_takes_it(settings, bus, store)
