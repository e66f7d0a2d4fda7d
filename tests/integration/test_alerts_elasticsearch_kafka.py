"""Saved searches on a real Elasticsearch node, and the indexer's alerts on a real Kafka topic, read back with a
plain kafka-python consumer as any subscriber would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import jsonschema
import pytest
from kafka import KafkaConsumer

from newswire.alerts import SavedSearch
from newswire.bus import Bus, TopicSpec, open_bus
from newswire.contract import encode_enriched, json_schema
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.service import build_index_stage
from newswire.settings import Settings, load_settings
from tests.factories import article_factory, enriched_factory
from tests.integration.test_indexer_stage import Running, publish, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch]


@pytest.fixture
def settings(kafka_servers: str, es_url: str, unique_name) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        es=es_url,
        topic_enriched=unique_name("news.enriched"),
        topic_deadletter=unique_name("news.deadletter"),
        topic_alerts=unique_name("news.alerts"),
        topic_partitions=2,
        indexer_group=unique_name("indexer"),
        index_alias=unique_name("news"),
        alerts_reload_seconds=0.5,
        batch_size=8,
    )


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="test-alerts")
    bus.ensure_topics(
        [
            TopicSpec(settings.topic_enriched, settings.topic_partitions),
            TopicSpec(settings.topic_deadletter, 1),
            TopicSpec(settings.topic_alerts, settings.topic_partitions),
        ]
    )
    yield bus
    bus.close()


@pytest.fixture
def store(settings: Settings) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(settings.es_url, alias=settings.index_alias)
    store.ensure_ready()
    yield store
    store.drop()
    store.close()


def test_saved_searches_are_kept_on_the_node_oldest_first_and_deleted(store, settings):
    first = SavedSearch(id="first", name="First", text="wagner")
    time.sleep(0.01)
    second = SavedSearch(id="second", name="Second", entities=("Yevgeny Prigozhin",), kind="new_story")
    store.save_search(second)
    store.save_search(first)
    other = ElasticsearchStore(settings.es_url, alias=settings.index_alias)  # another process, such as the indexer
    try:
        assert [saved.id for saved in other.saved_searches()] == ["first", "second"]
        assert other.saved_searches()[1] == second
        assert other.delete_saved_search("first") is True
        assert other.delete_saved_search("first") is False
        assert [saved.id for saved in store.saved_searches()] == ["second"]
    finally:
        other.close()


def test_a_never_readied_store_has_no_saved_searches(settings):
    fresh = ElasticsearchStore(settings.es_url, alias=settings.index_alias + "-none")
    try:
        assert fresh.saved_searches() == ()
    finally:
        fresh.close()


def test_the_indexer_sends_an_alert_for_each_new_match_to_the_alerts_topic(settings, bus, store):
    store.save_search(SavedSearch(id="mutiny", name="The mutiny", text="mutineers"))
    store.save_search(SavedSearch(id="putin", name="Putin", entities=("Putin",)))
    matching = enriched_factory(article_factory(title="Mutineer column turns back at Yelets"))
    others = [
        enriched_factory(article_factory(title=f"Rates held ({n})", summary="Banks.", content="Rates."), entities=[])
        for n in range(5)
    ]
    publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in [*others, matching]])
    stage = build_index_stage(settings, bus, store)
    with Running(stage):
        wait_until(lambda: stage.counters["consumed"] >= 6, "the indexer to commit every article")
    consumer = KafkaConsumer(
        settings.topic_alerts,
        bootstrap_servers=settings.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    try:
        messages = list(consumer)
    finally:
        consumer.close()
    assert [message.key for message in messages] == [b"mutiny"]
    alert = json.loads(messages[0].value)
    jsonschema.validate(alert, json_schema("alert"))
    assert alert["article"]["id"] == matching.id and alert["saved_search"]["name"] == "The mutiny"
    assert store.get(matching.id) is not None
