"""The indexer through an Elasticsearch outage longer than its consumer's max poll interval: it leaves its group,
rejoins, and loses nothing.

While the search node is out, the stage retries its batch without polling Kafka; after
``consumer_max_poll_seconds`` kafka-python's heartbeat thread makes the consumer leave its group. Once the node is
back the batch is written, its commit is refused (the member is no longer in the group), the next poll rejoins and
reads the batch again from the committed position, and the idempotent writes absorb the repeat. The real indexer stage
runs in a thread on the real broker, its Elasticsearch behind :class:`tests.faultproxy.FaultProxy`; the outage holds
three times the poll interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from newswire.bus import Bus, TopicSpec, open_bus
from newswire.contract import encode_enriched
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.service import build_index_stage
from newswire.settings import Settings, load_settings
from tests.factories import enriched_factory
from tests.faultproxy import FaultProxy
from tests.integration.test_indexer_stage import Running, publish, wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch, pytest.mark.slow]

MAX_POLL_SECONDS = 8.0
SESSION_SECONDS = 6.0  # the broker's group.min.session.timeout.ms
OUTAGE_SECONDS = 3 * MAX_POLL_SECONDS
ARTICLES = 40
PARTITIONS = 2

Fault = Callable[[FaultProxy], None]
FAULTS: dict[str, Fault] = {
    "503": lambda proxy: proxy.answer(503),
    "black hole": FaultProxy.blackhole,
}


@pytest.fixture
def settings(kafka_servers: str, es_url: str, unique_name) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        es=es_url,
        topic_enriched=unique_name("news.enriched"),
        topic_deadletter=unique_name("news.deadletter"),
        topic_alerts=unique_name("news.alerts"),
        topic_partitions=PARTITIONS,
        indexer_group=unique_name("indexer"),
        index_alias=unique_name("news"),
        batch_size=8,
        group_session_seconds=SESSION_SECONDS,
        consumer_max_poll_seconds=MAX_POLL_SECONDS,
    )


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="test-long-outage")
    bus.ensure_topics(
        [
            TopicSpec(settings.topic_enriched, PARTITIONS),
            TopicSpec(settings.topic_deadletter, 1),
            TopicSpec(settings.topic_alerts, 1),
        ]
    )
    yield bus
    bus.close()


@pytest.fixture
def node(settings: Settings) -> Iterator[ElasticsearchStore]:
    """The index, read directly (not through the proxy)."""
    store = ElasticsearchStore(settings.es_url, alias=settings.index_alias)
    store.ensure_ready()
    yield store
    store.drop()
    store.close()


@pytest.fixture
def proxy(es_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(es_url) as running:
        yield running


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_outage_longer_than_the_poll_interval_loses_nothing_and_the_group_catches_up(
    fault, settings, bus, node, proxy
):
    store = ElasticsearchStore(proxy.url, alias=settings.index_alias, request_timeout=5.0)
    stage = build_index_stage(settings, bus, store)
    articles = [enriched_factory() for _ in range(ARTICLES)]
    try:
        running = Running(stage)
        with running:
            FAULTS[fault](proxy)
            publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in articles])
            wait_until(lambda: running.alive() and stage.counters["retries"] >= 1, "the stage to meet the fault", 60)
            time.sleep(OUTAGE_SECONDS)
            assert running.alive()
            assert bus.committed(settings.indexer_group, settings.topic_enriched) == {}  # nothing committed yet
            proxy.restore()

            ends = bus.end_offsets(settings.topic_enriched)
            wait_until(
                lambda: running.alive() and bus.committed(settings.indexer_group, settings.topic_enriched) == ends,
                "the group's committed positions to reach the end of the topic (lag 0)",
                120,
            )
            # The path under test was taken: the member had left its group and its first commit was refused.
            assert stage.counters["commit_failures"] >= 1
            assert running.alive()
    finally:
        store.close()

    node.refresh()
    assert node.count() == ARTICLES  # each article once
    assert {article.id for article in articles} == {article.id for article in articles if node.get(article.id)}
    assert stage.counters["deadlettered"] == 0
    print(
        f"\n{fault} for {OUTAGE_SECONDS:.0f}s (max poll interval {MAX_POLL_SECONDS:.0f}s): "
        f"{stage.counters['retries']} retries, {stage.counters['commit_failures']} commit failures, "
        f"{stage.counters['consumed']} records committed for {ARTICLES} articles"
    )
