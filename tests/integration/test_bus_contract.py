"""The bus contract (newswire.bus), run against both drivers: the embedded SQLite bus and a real Kafka broker.

Whatever a stage relies on is here: per-key order, flush then consume, committed positions surviving a restart,
uncommitted records coming back, groups independent of each other, idempotent topic creation, the dead-letter
topic, and starting at the end. A driver that passes these can replace the other under the pipeline.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newswire.bus import Bus, Consumer, Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.bus.partitioner import partition_for
from newswire.contract import article_id, decode_deadletter
from newswire.errors import BusError
from newswire.stage import Rejection, dead_letter

DRIVERS = ["embedded", pytest.param("kafka", marks=pytest.mark.kafka)]

OpenBus = Callable[[], Bus]


def wagner_key(n: int) -> bytes:
    return article_id(f"https://news.example.test/2023/06/24/wagner-mutiny-{n}").encode()


def wagner_value(n: int) -> bytes:
    return f"Wagner column nears Moscow; update {n} from Rostov-on-Don".encode()


@pytest.fixture(params=DRIVERS)
def open_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenBus]:
    """Opens the same bus (one file, or one cluster) each time it is called, as a restarted process would."""
    opened: list[Bus] = []
    if request.param == "embedded":

        def connect() -> Bus:
            opened.append(EmbeddedBus(tmp_path / "bus.sqlite3"))
            return opened[-1]

    else:
        from newswire.bus.kafka import KafkaBus

        servers = request.getfixturevalue("kafka_servers")

        def connect() -> Bus:
            opened.append(KafkaBus(servers, client_id=f"contract-{uuid.uuid4().hex[:6]}"))
            return opened[-1]

    yield connect
    for bus in opened:
        bus.close()


@pytest.fixture
def bus(open_bus: OpenBus) -> Bus:
    return open_bus()


@pytest.fixture
def topic(bus: Bus, unique_name: Callable[[str], str]) -> Callable[..., str]:
    """Creates a topic no other test uses and returns its name."""

    def make(base: str = "news.raw", partitions: int = 3) -> str:
        name = unique_name(base)
        bus.ensure_topics([TopicSpec(name, partitions, retention_ms=7 * 24 * 3_600_000)])
        return name

    return make


def read(consumer: Consumer, count: int, *, within: float = 30.0) -> list[Record]:
    """Polls until ``count`` records came (or ``within`` seconds passed, which the caller's assert then shows)."""
    records: list[Record] = []
    deadline = time.monotonic() + within
    while len(records) < count and time.monotonic() < deadline:
        records += consumer.poll(count - len(records), timeout=1.0)
    return records


def read_nothing_more(consumer: Consumer) -> list[Record]:
    """What arrives in a few quiet seconds; the tests expect nothing."""
    records: list[Record] = []
    for _ in range(3):
        records += consumer.poll(100, timeout=1.0)
    return records


def send_all(bus: Bus, topic: str, numbers: range) -> None:
    producer = bus.producer()
    for n in numbers:
        producer.send(topic, wagner_key(n), wagner_value(n))
    producer.flush()
    producer.close()


@pytest.mark.parametrize("partitions", [1, 4])
def test_what_was_flushed_is_read_back_with_key_value_and_timestamp(bus, topic, unique_name, partitions):
    name = topic(partitions=partitions)
    before_ms = time.time_ns() // 1_000_000 - 60_000
    send_all(bus, name, range(12))
    consumer = bus.consumer([name], unique_name("processor"))

    records = read(consumer, 12)

    assert sorted((r.key, r.value) for r in records) == sorted((wagner_key(n), wagner_value(n)) for n in range(12))
    assert all(r.topic == name for r in records)
    assert all(before_ms <= r.timestamp_ms <= time.time_ns() // 1_000_000 + 60_000 for r in records)
    assert read_nothing_more(consumer) == []
    consumer.close()


def test_poll_returns_at_most_max_records_in_partition_order(bus, topic, unique_name):
    name = topic(partitions=3)
    send_all(bus, name, range(30))
    consumer = bus.consumer([name], unique_name("processor"))

    batches: list[list[Record]] = []
    deadline = time.monotonic() + 30
    while sum(map(len, batches)) < 30 and time.monotonic() < deadline:
        batches.append(consumer.poll(4, timeout=1.0))

    assert all(len(batch) <= 4 for batch in batches)
    assert all(batch == sorted(batch, key=lambda r: (r.partition, r.offset)) for batch in batches)
    assert len({(r.partition, r.offset) for batch in batches for r in batch}) == 30
    consumer.close()


def test_a_lone_member_of_a_group_is_assigned_every_partition(bus, topic, unique_name):
    name = topic(partitions=3)
    send_all(bus, name, range(6))
    consumer = bus.consumer([name], unique_name("feed-poller"))

    read(consumer, 6)

    assert consumer.assignment() == {(name, partition) for partition in range(3)}
    consumer.close()


def test_one_key_keeps_its_order_and_its_partition_which_both_drivers_compute_alike(bus, topic, unique_name):
    name = topic(partitions=4)
    producer = bus.producer()
    keys = [wagner_key(n) for n in range(8)]
    for sequence in range(25):
        for key in keys:
            producer.send(name, key, f"{sequence}".encode())
        if sequence % 10 == 9:
            producer.flush()
    producer.close()
    consumer = bus.consumer([name], unique_name("processor"))

    records = read(consumer, 25 * len(keys))

    assert len(records) == 25 * len(keys)
    for key in keys:
        mine = [r for r in sorted(records, key=lambda r: r.offset) if r.key == key]
        assert [int(r.value) for r in mine] == list(range(25))
        assert {r.partition for r in mine} == {partition_for(key, 4)}
    consumer.close()


def test_a_restarted_consumer_continues_after_the_committed_position(open_bus, bus, topic, unique_name):
    name, group = topic(partitions=1), unique_name("processor")
    send_all(bus, name, range(10))
    first = bus.consumer([name], group)
    records = read(first, 10)
    first.commit(records[:6])
    first.close()
    bus.close()

    restarted = open_bus().consumer([name], group)
    again = read(restarted, 4)

    assert [r.value for r in again] == [wagner_value(n) for n in range(6, 10)]
    assert read_nothing_more(restarted) == []
    restarted.close()


def test_records_read_but_not_committed_go_to_the_next_consumer_of_the_group(bus, topic, unique_name):
    name, group = topic(partitions=3), unique_name("indexer")
    send_all(bus, name, range(9))
    crashed = bus.consumer([name], group)
    read_first = read(crashed, 9)
    crashed.commit([r for r in read_first if r.partition == 0])
    crashed.close()

    successor = bus.consumer([name], group)
    redelivered = read(successor, len([r for r in read_first if r.partition != 0]))

    assert sorted((r.partition, r.offset) for r in redelivered) == sorted(
        (r.partition, r.offset) for r in read_first if r.partition != 0
    )
    assert read_nothing_more(successor) == []
    successor.close()


def test_two_groups_read_the_same_topic_independently(bus, topic, unique_name):
    name = topic(partitions=2)
    send_all(bus, name, range(6))
    processor = bus.consumer([name], unique_name("processor"))
    processor.commit(read(processor, 6))
    processor.close()

    archiver = bus.consumer([name], unique_name("archiver"))
    records = read(archiver, 6)

    assert sorted(r.value for r in records) == sorted(wagner_value(n) for n in range(6))
    archiver.close()


def test_ensure_topics_twice_changes_nothing_and_keeps_the_first_partition_count(bus, unique_name):
    raw, feeds = unique_name("news.raw"), unique_name("news.feeds")
    specs = [TopicSpec(raw, 3, retention_ms=3_600_000), TopicSpec(feeds, 2, None, compacted=True)]
    bus.ensure_topics(specs)
    bus.ensure_topics(specs)
    bus.ensure_topics([TopicSpec(raw, 6, retention_ms=3_600_000)])
    send_all(bus, raw, range(20))
    consumer = bus.consumer([raw], unique_name("processor"))

    records = read(consumer, 20)

    assert len(records) == 20
    assert all(r.partition == partition_for(r.key, 3) for r in records if r.key is not None)
    consumer.close()


def test_dead_letters_travel_like_any_other_message(bus, topic, unique_name):
    raw, deadletter = topic("news.raw"), topic("news.deadletter")
    send_all(bus, raw, range(1))
    consumer = bus.consumer([raw], unique_name("processor"))
    (bad,) = read(consumer, 1)
    letter = dead_letter(
        "processor", Rejection(bad, "no entities: model refused the text", "EnrichmentError"), "news.deadletter"
    )
    producer = bus.producer()
    producer.send(deadletter, letter.key, letter.value)
    producer.flush()
    producer.close()

    letters = bus.consumer([deadletter], unique_name("deadletter-reader"))
    (stored,) = read(letters, 1)
    decoded = decode_deadletter(stored.value)

    assert stored.key == bad.key
    assert (decoded.origin.topic, decoded.origin.partition, decoded.origin.offset) == (raw, bad.partition, bad.offset)
    assert decoded.payload == bad.value.decode()
    consumer.close()
    letters.close()


def test_a_new_group_that_starts_at_the_end_skips_what_was_already_there(bus, topic, unique_name):
    name = topic(partitions=2)
    send_all(bus, name, range(5))
    consumer = bus.consumer([name], unique_name("live-tail"), from_beginning=False)
    producer = bus.producer()
    # Kafka places a new consumer only once it has joined its group; probe until a fresh message comes through.
    probes: list[Record] = []
    deadline = time.monotonic() + 30
    while not probes and time.monotonic() < deadline:
        producer.send(name, b"probe", b"probe")
        producer.flush()
        probes = consumer.poll(100, timeout=1.0)
    producer.send(name, wagner_key(99), wagner_value(99))
    producer.flush()
    producer.close()

    later = read(consumer, 1)
    seen = probes + later + read_nothing_more(consumer)

    assert probes, "the consumer never received a message sent after it started"
    assert wagner_value(99) in [r.value for r in seen]
    assert not {wagner_value(n) for n in range(5)} & {r.value for r in seen}
    consumer.close()


def test_sending_to_a_topic_never_created_fails_instead_of_creating_it(bus, unique_name):
    producer = bus.producer()
    try:
        with pytest.raises(BusError, match="wagner-typo"):
            producer.send(unique_name("wagner-typo"), wagner_key(1), wagner_value(1))
            producer.flush()
    finally:
        producer.close()


# --- inspection and replay: end offsets, committed positions, reading without a group ----------------------------


def test_end_offsets_and_committed_positions_give_the_lag_of_a_group(bus, topic, unique_name):
    name = topic(partitions=3)
    send_all(bus, name, range(20))
    group = unique_name("processor")
    consumer = bus.consumer([name], group)

    ends = bus.end_offsets(name)
    assert sorted(ends) == [0, 1, 2] and sum(ends.values()) == 20
    assert bus.committed(group, name) == {}  # a group that never committed is behind by everything

    records = read(consumer, 7)
    consumer.commit(records[:7])
    committed = bus.committed(group, name)
    assert sum(ends[p] - committed.get(p, 0) for p in ends) == 20 - 7
    consumer.close()


def test_read_gives_everything_up_to_the_end_and_moves_no_group(bus, topic, unique_name):
    name = topic(partitions=3)
    send_all(bus, name, range(25))

    batches = list(bus.read(name, batch=4))

    records = [r for batch in batches for r in batch]
    assert all(len(batch) <= 4 for batch in batches)
    assert sorted(r.value for r in records) == sorted(wagner_value(n) for n in range(25))
    assert len({(r.partition, r.offset) for r in records}) == 25
    # Nothing was committed anywhere: a new group still reads all of it.
    consumer = bus.consumer([name], unique_name("indexer"))
    assert len(read(consumer, 25)) == 25
    consumer.close()


def test_read_since_a_time_starts_at_the_first_message_written_at_or_after_it(bus, topic):
    name = topic(partitions=2)
    send_all(bus, name, range(6))
    time.sleep(1.1)  # the timestamps are in milliseconds; leave a clear gap between the two writes
    since_ms = time.time_ns() // 1_000_000
    send_all(bus, name, range(6, 10))

    later = [r.value for batch in bus.read(name, since_ms=since_ms) for r in batch]
    future = list(bus.read(name, since_ms=since_ms + 3_600_000))

    assert sorted(later) == sorted(wagner_value(n) for n in range(6, 10))
    assert future == []


def test_read_stops_at_the_end_it_saw_when_it_began(bus, topic):
    name = topic(partitions=1)
    send_all(bus, name, range(5))

    seen: list[Record] = []
    for batch in bus.read(name, batch=2):
        if not seen:
            send_all(bus, name, range(5, 8))  # written while reading: not part of this read
        seen += batch

    assert [r.value for r in seen] == [wagner_value(n) for n in range(5)]
