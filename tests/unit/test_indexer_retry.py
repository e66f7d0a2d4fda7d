"""How the indexer backs off when Elasticsearch is busy: the node's ``Retry-After`` is read (the header itself:
tests/unit/test_retry_after.py) and
the stage waits that long, never less than its own back-off and never more than its ``max_backoff``.

The store is driven through :class:`tests.faultproxy.FaultProxy` on loopback, in the modes that answer without asking
the node behind it, so nothing needs to run.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from newswire.bus import Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.contract import EnrichedArticle, encode_enriched
from newswire.errors import RetryAfter, SearchUnavailable
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.service import RETRY_SECONDS, index_handler
from newswire.stage import BatchOutcome, Stage
from tests.factories import enriched_factory
from tests.faultproxy import FaultProxy

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


# --- the store and the handler -----------------------------------------------------------------------------------


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy("http://127.0.0.1:9") as running:  # nothing behind it: only its own answers are used
        yield running


@pytest.fixture
def store(proxy: FaultProxy) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(proxy.url, alias="news", request_timeout=5.0)
    yield store
    store.close()


def record(article: EnrichedArticle, offset: int = 0) -> Record:
    return Record("news.enriched", 0, offset, article.id.encode(), encode_enriched(article), 0)


@pytest.mark.parametrize("retry_after", [12, 45])  # the stage caps the wait at its max_backoff (30 s)
def test_a_busy_node_s_retry_after_reaches_the_stage_as_its_wait(proxy, store, retry_after):
    proxy.answer(429, retry_after=retry_after)
    with pytest.raises(SearchUnavailable) as raised:
        store.upsert([enriched_factory()])
    assert raised.value.retry_after == retry_after
    with pytest.raises(RetryAfter) as retry:
        index_handler(store)([record(enriched_factory())])
    assert retry.value.seconds == retry_after


@pytest.mark.parametrize("retry_after", [None, 1])
def test_a_busy_node_never_makes_the_stage_wait_less_than_its_own_back_off(proxy, store, retry_after):
    proxy.answer(503, retry_after=retry_after)
    with pytest.raises(RetryAfter) as retry:
        index_handler(store)([record(enriched_factory())])
    assert retry.value.seconds == RETRY_SECONDS


def test_a_cut_connection_is_a_retry_after_the_stage_s_own_back_off(proxy, store):
    proxy.reset()
    with pytest.raises(SearchUnavailable) as raised:
        store.upsert([enriched_factory()])
    assert raised.value.retry_after is None
    with pytest.raises(RetryAfter) as retry:
        index_handler(store)([record(enriched_factory())])
    assert retry.value.seconds == RETRY_SECONDS


def test_the_stage_waits_no_longer_than_its_max_backoff_whatever_the_node_asks(tmp_path, caplog):
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec(name, 1) for name in ("news.enriched", "dead")])
    calls: list[int] = []
    stop = threading.Event()

    def handle(records: Sequence[Record]) -> BatchOutcome:
        calls.append(len(records))
        if len(calls) == 1:
            raise RetryAfter(3600.0, "the node asked for an hour")
        stop.set()
        return BatchOutcome()

    stage = Stage(
        name="indexer", bus=bus, topics=["news.enriched"], group="g", handle=handle, deadletter_topic="dead",
        poll_timeout=0.05, max_backoff=0.05,
    )  # fmt: skip
    try:
        producer = bus.producer()
        producer.send("news.enriched", b"k", encode_enriched(enriched_factory()))
        producer.flush()
        with caplog.at_level(logging.WARNING, logger="newswire.stage"):
            stage.run(stop)
    finally:
        bus.close()
    assert calls == [1, 1]  # the same batch again, after the capped wait
    (wait,) = re.findall(r"retrying in ([0-9.]+)s", caplog.text)
    assert float(wait) <= 0.1
    assert stage.counters["consumed"] == 1
