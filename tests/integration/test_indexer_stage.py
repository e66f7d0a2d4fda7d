"""The indexer stage: enriched messages on a real Kafka topic into a real Elasticsearch index.

The batch handler is tested first on its own (no services): what becomes a document, a dead letter or a retry.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from newswire.bus import Bus, Record, TopicSpec, open_bus
from newswire.contract import EnrichedArticle, decode_deadletter, encode_enriched, encode_raw
from newswire.errors import RetryAfter, SearchUnavailable
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.indexer.service import build_index_stage, index_handler
from newswire.search import SearchQuery, SearchResult, SearchStore, StoriesResult, StoryQuery, UpsertResult
from newswire.settings import Settings, load_settings
from newswire.stage import Stage
from tests.factories import article_factory, enriched_factory

# --- the handler alone -----------------------------------------------------------------------------------------


class RecordingStore(SearchStore):
    """Remembers what it was asked to write; refuses the ids in ``refuse``; is down while ``down`` is set."""

    def __init__(self, refuse: Sequence[str] = (), down: bool = False) -> None:
        self.batches: list[list[EnrichedArticle]] = []
        self.refuse = set(refuse)
        self.down = down

    def ensure_ready(self) -> None:
        pass

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        if self.down:
            raise SearchUnavailable("cannot reach the test store")
        self.batches.append(list(articles))
        rejected = tuple((a.id, "refused by the test store") for a in articles if a.id in self.refuse)
        return UpsertResult(written=len(articles) - len(rejected), rejected=rejected)

    def search(self, query: SearchQuery) -> SearchResult:
        raise NotImplementedError

    def stories(self, query: StoryQuery) -> StoriesResult:
        raise NotImplementedError

    def get(self, article_id: str) -> EnrichedArticle | None:
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def record(value: bytes, offset: int) -> Record:
    return Record(topic="news.enriched", partition=0, offset=offset, key=None, value=value, timestamp_ms=0)


def test_the_handler_writes_valid_articles_in_one_call_and_rejects_the_rest():
    articles = [enriched_factory() for _ in range(3)]
    records = [record(encode_enriched(article), offset) for offset, article in enumerate(articles)]
    records.insert(1, record(b"{not json", 10))
    records.append(record(encode_raw(article_factory()), 11))  # a raw article on the enriched topic
    store = RecordingStore(refuse=[articles[2].id])
    outcome = index_handler(store)(records)
    assert [[a.id for a in batch] for batch in store.batches] == [[a.id for a in articles]]
    assert outcome.outputs == []
    rejected = {r.record.offset: (r.error_type, r.reason) for r in outcome.rejections}
    assert set(rejected) == {10, 11, 2}
    assert rejected[10][0] == "ContractError" and "not JSON" in rejected[10][1]
    assert rejected[11][0] == "ContractError" and "not a valid enriched message" in rejected[11][1]
    assert rejected[2] == ("SearchRejected", "refused by the test store")


def test_the_handler_writes_only_the_highest_revision_of_an_article_in_a_batch():
    first = enriched_factory()
    second = first.model_copy(update={"title": "Prigozhin turns back", "revision": 2})
    store = RecordingStore()
    index_handler(store)([record(encode_enriched(second), 0), record(encode_enriched(first), 1)])
    assert store.batches == [[second]]


def test_the_handler_asks_for_a_retry_when_the_store_is_down():
    store = RecordingStore(down=True)
    with pytest.raises(RetryAfter):
        index_handler(store)([record(encode_enriched(enriched_factory()), 0)])


def test_a_batch_with_nothing_valid_does_not_call_the_store():
    store = RecordingStore(down=True)
    outcome = index_handler(store)([record(b"[]", 0)])
    assert len(outcome.rejections) == 1


# --- the stage on Kafka and Elasticsearch ----------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.3)


@pytest.fixture
def settings(kafka_servers: str, es_url: str, unique_name) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        es=es_url,
        topic_enriched=unique_name("news.enriched"),
        topic_deadletter=unique_name("news.deadletter"),
        topic_partitions=2,
        indexer_group=unique_name("indexer"),
        index_alias=unique_name("news"),
        batch_size=4,
    )


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="test-indexer")
    bus.ensure_topics(
        [TopicSpec(settings.topic_enriched, settings.topic_partitions), TopicSpec(settings.topic_deadletter, 1)]
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


class Running:
    """A stage in a thread, stopped and joined on exit."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.failure: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.stage.run(self.stop)
        except BaseException as exc:
            self.failure = exc

    def alive(self) -> bool:
        """True while the stage runs; fails the test, with the stage's error, once it crashed or stopped."""
        assert self.failure is None, f"the stage crashed: {self.failure!r}"
        assert self.thread.is_alive(), "the stage stopped"
        return True

    def __enter__(self) -> Stage:
        self.thread.start()
        return self.stage

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        assert self.failure is None, self.failure


def publish(bus: Bus, topic: str, values: Sequence[tuple[bytes | None, bytes]]) -> None:
    producer = bus.producer()
    for key, value in values:
        producer.send(topic, key, value)
    producer.flush()
    producer.close()


def read_all(bus: Bus, topic: str, group: str, expected: int, settle: float = 3.0) -> list[Record]:
    """Everything ``group`` gets from ``topic``: waits for ``expected`` records, then ``settle`` s for any more."""
    consumer = bus.consumer([topic], group)
    records: list[Record] = []
    try:
        deadline = time.monotonic() + 60
        while len(records) < expected and time.monotonic() < deadline:
            records += consumer.poll(100, 1.0)
        quiet_until = time.monotonic() + settle
        while time.monotonic() < quiet_until:
            records += consumer.poll(100, 0.5)
    finally:
        consumer.close()
    return records


def indexed_ids(store: ElasticsearchStore) -> set[str]:
    store.refresh()
    return {hit.article.id for hit in store.search(SearchQuery(size=100)).hits}


@pytest.mark.kafka
@pytest.mark.elasticsearch
def test_enriched_messages_become_documents_and_bad_ones_dead_letters(settings, bus, store, unique_name):
    articles = [enriched_factory() for _ in range(6)]
    messages = [(article.id.encode(), encode_enriched(article)) for article in articles]
    messages.insert(2, (b"broken", b'{"schema": "newswire.enriched/1", "id": '))  # cut off mid-message
    messages.insert(5, (b"raw", encode_raw(article_factory())))  # valid JSON, wrong schema
    # A valid message whose link is too long for the node to index: the store refuses it for good.
    refused = enriched_factory(article_factory(url="https://harbourpost.example/" + "x" * 40_000))
    messages.append((b"refused", encode_enriched(refused)))
    publish(bus, settings.topic_enriched, messages)

    stage = build_index_stage(settings, bus, store)
    with Running(stage):
        wait_until(lambda: stage.counters["consumed"] >= len(messages), "the stage to commit every message")
    assert stage.counters["deadlettered"] == 3
    assert indexed_ids(store) == {article.id for article in articles}
    assert store.get(articles[3].id) == articles[3]

    letters = [decode_deadletter(r.value) for r in read_all(bus, settings.topic_deadletter, unique_name("dl"), 3)]
    assert sorted(letter.origin.key or "" for letter in letters) == ["broken", "raw", "refused"]
    for letter in letters:
        assert letter.stage == "indexer"
        assert letter.origin.topic == settings.topic_enriched
        assert letter.origin.offset is not None
    by_key = {letter.origin.key: letter for letter in letters}
    assert by_key["broken"].error_type == by_key["raw"].error_type == "ContractError"
    assert by_key["refused"].error_type == "SearchRejected"
    assert "immense term" in by_key["refused"].reason
    assert len(by_key["refused"].reason) < 2000  # the node quotes the value; the reason stays readable
    assert "not JSON" in by_key["broken"].reason
    assert by_key["broken"].payload == '{"schema": "newswire.enriched/1", "id": '
    assert "not a valid enriched message" in by_key["raw"].reason

    # Everything was committed: the group has nothing more to read.
    assert read_all(bus, settings.topic_enriched, settings.indexer_group, 0) == []

    # A replay of the whole topic by a fresh group changes nothing in the index.
    replay = build_index_stage(settings.model_copy(update={"indexer_group": unique_name("replay")}), bus, store)
    with Running(replay):
        wait_until(lambda: replay.counters["consumed"] >= len(messages), "the replay to commit every message")
    store.refresh()
    assert store.count() == len(articles)
    assert indexed_ids(store) == {article.id for article in articles}


@pytest.mark.kafka
@pytest.mark.elasticsearch
def test_nothing_is_committed_while_the_search_node_is_down(settings, bus, store):
    articles = [enriched_factory() for _ in range(3)]
    publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in articles])

    down = ElasticsearchStore("http://127.0.0.1:9", alias=settings.index_alias, request_timeout=2.0, max_retries=0)
    stalled = build_index_stage(settings, bus, down)
    with Running(stalled):
        wait_until(lambda: stalled.counters["retries"] >= 1, "the stage to retry the batch")
    down.close()
    assert stalled.counters["consumed"] == 0

    # The same group, once the node is back, reads the batch again and indexes it.
    resumed = build_index_stage(settings, bus, store)
    with Running(resumed):
        wait_until(lambda: resumed.counters["consumed"] >= len(articles), "the stage to index the batch")
    assert indexed_ids(store) == {article.id for article in articles}


@pytest.mark.kafka
@pytest.mark.elasticsearch
def test_the_index_command_indexes_until_sigterm_then_exits_cleanly(settings, bus, store):
    articles = [enriched_factory() for _ in range(4)]
    publish(bus, settings.topic_enriched, [(a.id.encode(), encode_enriched(a)) for a in articles])
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSWIRE_")}
    for name in ("kafka", "es", "topic_enriched", "topic_deadletter", "indexer_group", "index_alias"):
        env[f"NEWSWIRE_{name.upper()}"] = str(getattr(settings, name))
    command = subprocess.Popen(
        [sys.executable, "-m", "newswire.app.cli", "index"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: len(indexed_ids(store)) == len(articles), "the command to index the articles")
        command.send_signal(signal.SIGTERM)
        _, stderr = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    assert command.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert indexed_ids(store) == {article.id for article in articles}


def test_the_index_command_names_an_unreachable_node_in_one_line():
    env = {name: value for name, value in os.environ.items() if not name.startswith("NEWSWIRE_")}
    env["NEWSWIRE_ES"] = "http://127.0.0.1:9"
    done = subprocess.run(
        [sys.executable, "-m", "newswire.app.cli", "index"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("newswire index:")]
    assert "http://127.0.0.1:9" in line
