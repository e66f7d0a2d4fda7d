"""The processor stage against the real Kafka broker: raw topic in, enriched topic and dead letters out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from newswire.bus import Bus, Consumer, Producer, Record, open_bus, pipeline_topics
from newswire.contract import decode_deadletter, decode_enriched, encode_raw
from newswire.errors import BusError
from newswire.processors.service import build_process_stage
from newswire.settings import Settings, load_settings
from newswire.stage import Stage

pytestmark = pytest.mark.kafka

WAIT = 90.0  # seconds a test waits for messages before it gives up (a group join alone takes a few seconds)


@pytest.fixture
def settings(kafka_servers, unique_name, data_dir) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        data_dir=data_dir,
        topic_raw=unique_name("raw"),
        topic_enriched=unique_name("enriched"),
        topic_deadletter=unique_name("dead"),
        topic_feeds=unique_name("feeds"),
        topic_partitions=2,
        processor_group=unique_name("processor"),
        batch_size=4,
    )


@pytest.fixture
def bus(settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="newswire-test")
    bus.ensure_topics(pipeline_topics(settings))
    yield bus
    bus.close()


def _publish(bus: Bus, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    producer = bus.producer()
    for key, value in messages:
        producer.send(topic, key, value)
    producer.close()


def _read(bus: Bus, topic: str, group: str, want: int, wait: float = WAIT) -> list[Record]:
    consumer = bus.consumer([topic], group)
    records: list[Record] = []
    deadline = time.monotonic() + wait
    try:
        while len(records) < want and time.monotonic() < deadline:
            records += consumer.poll(100, 1.0)
    finally:
        consumer.close()
    return records


class _Running:
    """A stage running in a thread until the block ends."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.stop = threading.Event()
        self.thread = threading.Thread(target=stage.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Stage:
        self.thread.start()
        return self.stage

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def test_stage_enriches_raw_articles_and_dead_letters_bad_ones(settings, bus, processor, article_factory, unique_name):
    articles = [article_factory(title=f"Prigozhin halts march on Moscow, day {n}") for n in range(6)]
    messages = [(a.id.encode(), encode_raw(a)) for a in articles]
    messages.insert(2, (b"bad-1", b"{not json"))
    messages.insert(5, (b"bad-2", b'{"schema": "newswire.raw/1"}'))
    _publish(bus, settings.topic_raw, messages)

    with _Running(build_process_stage(settings, bus, processor=processor)):
        enriched = _read(bus, settings.topic_enriched, unique_name("reader"), len(articles))
        dead = _read(bus, settings.topic_deadletter, unique_name("dead-reader"), 2)

    assert sorted(decode_enriched(r.value).id for r in enriched) == sorted(a.id for a in articles)
    assert all(r.key == decode_enriched(r.value).id.encode() for r in enriched)
    prigozhin = [e for e in decode_enriched(enriched[0].value).entities if e.name == "Yevgeny Prigozhin"]
    assert prigozhin and prigozhin[0].label == "PERSON"
    letters = [decode_deadletter(r.value) for r in dead]
    assert sorted(letter.origin.key or "" for letter in letters) == ["bad-1", "bad-2"]
    assert all(letter.stage == "processor" and letter.origin.topic == settings.topic_raw for letter in letters)

    # Everything handled was committed: the group has nothing left to read.
    # (a new member needs a few seconds to join the group and be given its partitions)
    assert _read(bus, settings.topic_raw, settings.processor_group, 1, wait=15.0) == []


class _UnackedProducer(Producer):
    def __init__(self, inner: Producer) -> None:
        self.inner = inner

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.inner.send(topic, key, value)

    def flush(self, timeout: float = 30.0) -> None:
        raise BusError("the broker did not acknowledge (simulated)")

    def close(self) -> None:
        self.inner.close()


class _UnackedBus(Bus):
    """The real bus, except that no flush is ever acknowledged."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner

    def ensure_topics(self, topics):  # type: ignore[no-untyped-def]
        self.inner.ensure_topics(topics)

    def producer(self) -> Producer:
        return _UnackedProducer(self.inner.producer())

    def consumer(self, topics, group, *, from_beginning=True) -> Consumer:  # type: ignore[no-untyped-def]
        return self.inner.consumer(topics, group, from_beginning=from_beginning)

    def close(self) -> None:
        self.inner.close()


def test_offsets_are_committed_only_after_the_enriched_messages_are_acknowledged(
    settings, bus, processor, article_factory, unique_name
):
    articles = [article_factory(title=f"Lukashenko brokers a deal, report {n}") for n in range(5)]
    _publish(bus, settings.topic_raw, [(a.id.encode(), encode_raw(a)) for a in articles])

    unacked = build_process_stage(settings, _UnackedBus(bus), processor=processor)
    with _Running(unacked):
        deadline = time.monotonic() + WAIT
        while unacked.counters["retries"] < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert unacked.counters["retries"] >= 2
    assert unacked.counters["consumed"] == 0

    # A new replica in the same group gets every article again, because nothing was committed.
    with _Running(build_process_stage(settings, bus, processor=processor)) as stage:
        deadline = time.monotonic() + WAIT
        while stage.counters["consumed"] < len(articles) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert stage.counters["consumed"] == len(articles)
    enriched = _read(bus, settings.topic_enriched, unique_name("reader"), len(articles))
    assert {decode_enriched(r.value).id for r in enriched} == {a.id for a in articles}


WIRE_COPY = (
    "Wagner fighters took control of the headquarters of the Southern Military District in Rostov-on-Don early on "
    "Saturday, and the group's founder said in a video filmed inside the compound that his men held the military "
    "sites of the city, including the airfield, while armoured vehicles stood in the streets."
)


def test_a_new_replica_knows_the_stories_and_first_copies_of_earlier_ones(settings, bus, article_factory, unique_name):
    first = article_factory(title="Wagner seizes Rostov HQ", content=WIRE_COPY)
    copy = article_factory(title="Mercenaries hold army base in Rostov", content=WIRE_COPY + " (Wire One)")
    _publish(bus, settings.topic_raw, [(first.id.encode(), encode_raw(first))])
    with _Running(build_process_stage(settings, bus)):  # replica 1, with its own story state
        assert len(_read(bus, settings.topic_enriched, unique_name("reader"), 1)) == 1

    _publish(bus, settings.topic_raw, [(copy.id.encode(), encode_raw(copy))])
    with _Running(build_process_stage(settings, bus)):  # replica 2 starts from the shared state only
        records = _read(bus, settings.topic_enriched, unique_name("reader"), 2)

    enriched = {article.id: article for article in (decode_enriched(record.value) for record in records)}
    enriched_first, enriched_copy = enriched[first.id], enriched[copy.id]
    assert enriched_first.story_id == first.id and enriched_first.duplicate_of is None
    assert enriched_copy.duplicate_of == first.id
    assert enriched_copy.story_id == enriched_first.story_id
