"""The indexer service while Elasticsearch is busy or out of reach (issue 14): it backs off, holds its offsets,
resumes, and loses nothing.

The service command of docker-compose.yml (``newswire index``) runs against the real Kafka broker, with its
Elasticsearch URL pointing at :class:`tests.faultproxy.FaultProxy` in front of the real node. Articles are published,
indexed, then the proxy turns to a fault (429 or 503 answers, 429 for some items of a 200 ``_bulk`` answer, a cut by
reset or by black hole; and all of these one after another) for :data:`STEP_SECONDS` each (8 s;
``INDEXER_FAULT_SECONDS`` sets it) while more articles arrive, and is restored. Checked on the real
node and with plain kafka-python clients, not through newswire: while the fault holds the group's committed offsets
pass no record that is not in the index; afterwards every article is searchable exactly once, the dead-letter topic is
empty, and the service never stopped. The time from the restore until every article is searchable is printed (run
with ``-s``); no test asserts it.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from newswire.contract import encode_enriched
from newswire.errors import SearchUnavailable
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.service import RETRY_SECONDS
from tests.conftest import pipeline_names
from tests.e2e.conftest import Service, base_env, compose_command, wait_until
from tests.factories import enriched_factory
from tests.faultproxy import FaultProxy

pytestmark = [pytest.mark.kafka, pytest.mark.elasticsearch, pytest.mark.slow]

BEFORE = 24  # articles indexed before the fault
DURING = 24  # articles published while it holds, half at its start and half midway
STEP_SECONDS = float(os.environ.get("INDEXER_FAULT_SECONDS", "8"))  # how long each fault of a run holds
PARTITIONS = 2
RETRY_AFTER = 10  # what the 429 answers ask for, longer than the stage's own back-off

Fault = Callable[[FaultProxy], None]
FAULTS: dict[str, list[Fault]] = {
    f"429 with Retry-After {RETRY_AFTER}": [lambda proxy: proxy.answer(429, retry_after=RETRY_AFTER)],
    "503": [lambda proxy: proxy.answer(503)],
    "503 on _bulk only": [lambda proxy: proxy.answer(503, only_bulk=True)],
    "429 for items of a 200 _bulk": [FaultProxy.reject_items],
    "cut: connections reset": [FaultProxy.reset],
    "cut: black hole, connections lost": [FaultProxy.blackhole],
    "cut: black hole, connections kept": [lambda proxy: proxy.blackhole(resume=True)],
    "429, 503, reset, black hole in a row": [
        lambda proxy: proxy.answer(429, retry_after=2),
        lambda proxy: proxy.answer(503),
        FaultProxy.reset,
        FaultProxy.blackhole,
    ],
}

Position = tuple[int, int]  # partition, offset


class Cluster:
    """What the real node and the real broker hold, read with plain clients (never through newswire)."""

    def __init__(self, es_url: str, kafka_servers: str, names: dict[str, str]) -> None:
        self.names = names
        self.kafka_servers = kafka_servers
        self.es = Elasticsearch(es_url)
        self.admin = KafkaAdminClient(bootstrap_servers=kafka_servers, client_id="test-indexer-faults")
        self.producer = KafkaProducer(bootstrap_servers=kafka_servers, client_id="test-indexer-faults")
        self.published: dict[Position, str] = {}  # article id by position on the enriched topic

    def publish(self, count: int) -> set[str]:
        """``count`` new enriched articles onto the enriched topic, keyed by id; their ids."""
        sent = []
        for _ in range(count):
            article = enriched_factory()
            future = self.producer.send(
                self.names["topic_enriched"], key=article.id.encode(), value=encode_enriched(article)
            )
            sent.append((article.id, future))
        self.producer.flush()
        for article_id, future in sent:
            metadata = future.get(timeout=30)
            self.published[(metadata.partition, metadata.offset)] = article_id
        return {article_id for article_id, _ in sent}

    def ready(self) -> bool:
        """Whether the indexer has made its index and its topics (it makes the index first)."""
        if not self.es.indices.exists_alias(name=self.names["index_alias"]):
            return False
        return {self.names["topic_enriched"], self.names["topic_deadletter"]} <= set(self.admin.list_topics())

    def indexed(self) -> tuple[int, set[str]]:
        """How many documents the alias holds, and their ids."""
        alias = self.names["index_alias"]
        self.es.indices.refresh(index=alias)
        total = int(self.es.count(index=alias)["count"])
        hits = self.es.search(index=alias, size=1000, source=False, query={"match_all": {}})["hits"]["hits"]
        return total, {hit["_id"] for hit in hits}

    def committed(self) -> dict[int, int]:
        """The indexer group's committed offset of each partition of the enriched topic (none: not there)."""
        offsets = self.admin.list_group_offsets({self.names["indexer_group"]: None}).get(
            self.names["indexer_group"], {}
        )
        topic = self.names["topic_enriched"]
        return {
            tp.partition: int(meta.offset) for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
        }

    def ends(self) -> dict[int, int]:
        """The offset after the last published record of each partition published to."""
        ends: dict[int, int] = {}
        for partition, offset in self.published:
            ends[partition] = max(ends.get(partition, 0), offset + 1)
        return ends

    def committed_but_unindexed(self) -> list[Position]:
        """Records below the group's committed offsets whose article the index does not hold."""
        committed = self.committed()
        _, ids = self.indexed()
        return sorted(
            position
            for position, article_id in self.published.items()
            if position[1] < committed.get(position[0], 0) and article_id not in ids
        )

    def dead_letters(self) -> list[bytes]:
        consumer = KafkaConsumer(
            self.names["topic_deadletter"],
            bootstrap_servers=self.kafka_servers,
            auto_offset_reset="earliest",
            group_id=f"plain-{uuid.uuid4().hex}",
            consumer_timeout_ms=6_000,
        )
        try:
            return [message.value for message in consumer]
        finally:
            consumer.close()

    def close(self) -> None:
        self.producer.close()
        self.admin.close()
        self.es.close()


@pytest.fixture
def names(unique_name) -> dict[str, str]:
    return pipeline_names(unique_name)


@pytest.fixture
def cluster(es_url: str, kafka_servers: str, names: dict[str, str]) -> Iterator[Cluster]:
    cluster = Cluster(es_url, kafka_servers, names)
    yield cluster
    cluster.close()
    store = ElasticsearchStore(es_url, alias=names["index_alias"])
    store.drop()
    store.close()


@pytest.fixture
def proxy(es_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(es_url) as running:
        yield running


@pytest.fixture
def indexer(proxy: FaultProxy, kafka_servers: str, names: dict[str, str], tmp_path: Path) -> Iterator[Service]:
    """``newswire index`` as docker-compose.yml runs it, its Elasticsearch behind the proxy."""
    env = base_env(
        kafka=kafka_servers,
        es=proxy.url,
        data_dir=str(tmp_path / "data"),
        topic_partitions=str(PARTITIONS),
        batch_size="8",
        **names,
    )
    service = Service("index", compose_command("indexer"), env, tmp_path / "index.log").start()
    yield service
    service.stop()


def retry_waits(log: str) -> list[float]:
    """The back-offs the stage logged, in seconds."""
    return [float(wait) for wait in re.findall(r"batch of \d+ failed, retrying in ([0-9.]+)s", log)]


@pytest.mark.timeout(240 + 8 * STEP_SECONDS)  # the longest run holds four faults, then waits out a timeout
@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_indexer_holds_its_offsets_through_the_fault_and_loses_nothing(fault, proxy, indexer, cluster):
    def alive() -> bool:
        assert indexer.alive(), f"the indexer stopped:\n{indexer.log()[-3000:]}"
        return True

    wait_until(lambda: alive() and cluster.ready(), 60, "the indexer to create its index and topics")
    expected = cluster.publish(BEFORE)
    wait_until(lambda: alive() and cluster.indexed()[1] == expected, 90, f"the first {BEFORE} articles indexed")
    wait_until(lambda: cluster.committed() == cluster.ends(), 30, "the first articles committed")
    before_fault = cluster.ends()

    steps = FAULTS[fault]
    hold = STEP_SECONDS * len(steps)
    started = time.monotonic()

    def at(seconds: float) -> None:
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))

    during: set[str] = set()
    for number, step in enumerate(steps):
        at(STEP_SECONDS * number)
        step(proxy)
        if number == 0:
            during |= cluster.publish(DURING // 2)
            wait_until(lambda: sum(proxy.faulted.values()) >= 1, 30, "the indexer to meet the fault")
        if STEP_SECONDS * number <= hold / 2 < STEP_SECONDS * (number + 1):
            at(hold / 2)
            during |= cluster.publish(DURING - DURING // 2)
    at(hold)

    # While the fault holds: nothing committed past what the index holds, nothing of the new batches committed.
    assert alive()
    assert cluster.committed_but_unindexed() == []
    assert cluster.committed() == before_fault
    if fault != "429 for items of a 200 _bulk":  # there the node did store the items the proxy let through
        assert cluster.indexed()[1] == expected
    faulted = sum(proxy.faulted.values())

    proxy.restore()
    restored = time.monotonic()
    expected |= during
    wait_until(lambda: alive() and cluster.indexed()[1] == expected, 120, "every article indexed after the restore")
    recovery = time.monotonic() - restored
    wait_until(lambda: cluster.committed() == cluster.ends(), 60, "every article committed after the restore")

    total, ids = cluster.indexed()
    assert total == len(ids) == BEFORE + DURING  # each exactly once
    assert cluster.dead_letters() == []
    assert alive()
    waits = retry_waits(indexer.log())
    if fault != "cut: black hole, connections kept":  # there the held request is answered late: nothing to retry
        assert waits, "the indexer never logged a retry"
    # It backed off before every retry (its own back-off, jittered by 20%), as long as a busy node asked if longer.
    asked = RETRY_AFTER if fault.startswith("429 with Retry-After") else RETRY_SECONDS
    assert min(waits, default=asked) >= 0.8 * asked
    assert indexer.stop() == 0
    assert "Traceback" not in indexer.log()
    print(
        f"\nfault {fault!r} for {hold:.0f}s: {faulted} requests faulted, {len(waits)} retries "
        f"(waits {min(waits, default=0):.1f}-{max(waits, default=0):.1f}s); all {total} articles searchable "
        f"{recovery:.1f}s after the restore"
    )


def test_items_refused_with_429_inside_a_200_bulk_answer_are_retried_never_refused(proxy, cluster, names):
    """The store itself: a 200 ``_bulk`` answer whose items are partly 429 is a busy node (the batch is retried), not
    a refusal of those articles (which would dead-letter them)."""
    store = ElasticsearchStore(proxy.url, alias=names["index_alias"])
    try:
        store.ensure_ready()
        articles = [enriched_factory() for _ in range(6)]
        proxy.reject_items()
        with pytest.raises(SearchUnavailable):
            store.upsert(articles)
        held = cluster.indexed()[1]
        assert held == {article.id for article in articles[1::2]}  # the node stored what the proxy let through
        proxy.restore()
        result = store.upsert(articles)
        assert result.rejected == ()
        assert result.written == len(articles)
        assert cluster.indexed() == (len(articles), {article.id for article in articles})
    finally:
        store.close()
