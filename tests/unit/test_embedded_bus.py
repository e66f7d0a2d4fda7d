"""The embedded bus on its own: crash safety, consumer groups in one process and across processes, retention,
compaction, and the partitioner it shares with Kafka. The behaviour both drivers share is in
tests/integration/test_bus_contract.py."""

from __future__ import annotations

import gc
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.bus import Consumer, Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.bus.partitioner import murmur2, partition_for
from newswire.errors import BusError, BusUnavailable

# --- the partitioner -------------------------------------------------------------------------------------------


def java_murmur2(data: bytes) -> int:
    """org.apache.kafka.common.utils.Utils.murmur2 transcribed with Java's 32-bit int arithmetic, as a reference."""

    def to_int(value: int) -> int:
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value

    def unsigned_shift(value: int, bits: int) -> int:  # Java's >>>
        return (value & 0xFFFFFFFF) >> bits

    length = len(data)
    m, r = 0x5BD1E995, 24
    h = to_int(to_int(0x9747B28C) ^ length)
    for i in range(length // 4):
        i4 = i * 4
        k = to_int(data[i4] + (data[i4 + 1] << 8) + (data[i4 + 2] << 16) + (data[i4 + 3] << 24))
        k = to_int(k * m)
        k = to_int(k ^ unsigned_shift(k, r))
        k = to_int(k * m)
        h = to_int(h * m)
        h = to_int(h ^ k)
    rest = length % 4
    last = length & ~3
    if rest == 3:
        h = to_int(h ^ (data[last + 2] << 16))
    if rest >= 2:
        h = to_int(h ^ (data[last + 1] << 8))
    if rest >= 1:
        h = to_int(h ^ data[last])
        h = to_int(h * m)
    h = to_int(h ^ unsigned_shift(h, 13))
    h = to_int(h * m)
    return to_int(h ^ unsigned_shift(h, 15))


# The vectors of Kafka's own UtilsTest.testMurmur2.
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "expected"), KAFKA_VECTORS.items())
def test_murmur2_gives_the_java_clients_values(key, expected):
    assert murmur2(key) == expected == java_murmur2(key)


@given(st.binary(max_size=200))
def test_murmur2_matches_the_java_algorithm_for_any_key(key):
    assert murmur2(key) == java_murmur2(key)


@given(st.binary(max_size=100), st.integers(min_value=1, max_value=1000))
def test_a_key_lands_where_kafkas_default_partitioner_puts_it(key, partitions):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python's own import-time deprecations
        from kafka.partitioner.default import murmur2 as kafka_python_murmur2

    partition = partition_for(key, partitions)

    assert 0 <= partition < partitions
    assert partition == (java_murmur2(key) & 0x7FFFFFFF) % partitions
    assert partition == (kafka_python_murmur2(key) & 0x7FFFFFFF) % partitions


def test_a_topic_without_partitions_is_refused():
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(b"Prigozhin", 0)


# --- the embedded bus ------------------------------------------------------------------------------------------


@pytest.fixture
def bus_path(data_dir: Path) -> Path:
    return data_dir / "bus.sqlite3"


@pytest.fixture
def bus(bus_path: Path) -> Iterator[EmbeddedBus]:
    bus = EmbeddedBus(bus_path)
    yield bus
    bus.close()


def read(consumer: Consumer, count: int, *, within: float = 10.0) -> list[Record]:
    records: list[Record] = []
    deadline = time.monotonic() + within
    while len(records) < count and time.monotonic() < deadline:
        records += consumer.poll(count - len(records), timeout=0.5)
    return records


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


WRITER = """
    import sys
    from pathlib import Path
    from newswire.bus.embedded import EmbeddedBus

    producer = EmbeddedBus(Path(sys.argv[1])).producer()
    batch = 0
    while True:
        for n in range(50):
            producer.send("news.raw", f"{batch}:{n}".encode(), f"{batch}:{n}:".encode() + b"Rostov-on-Don " * 40)
        producer.flush()
        print(batch, flush=True)
        batch += 1
"""


def test_a_writer_killed_mid_stream_leaves_every_flush_whole_and_nothing_half_written(bus, bus_path):
    bus.ensure_topics([TopicSpec("news.raw", 3)])
    writer = run_python(WRITER, str(bus_path))
    assert writer.stdout is not None
    acknowledged = -1
    for line in writer.stdout:
        acknowledged = int(line)
        if acknowledged >= 30:
            break
    time.sleep(random.uniform(0, 0.005))  # land the kill anywhere in a batch, not just after a flush returned
    writer.send_signal(signal.SIGKILL)
    printed_before_the_kill = writer.communicate()[0].split()
    acknowledged = max([acknowledged, *map(int, printed_before_the_kill)])
    assert acknowledged >= 30, "the writer never got going"

    reopened = EmbeddedBus(bus_path)
    records = read(reopened.consumer(["news.raw"], "audit"), 10**6, within=0.5)
    reopened.close()

    batches: dict[int, set[int]] = defaultdict(set)
    for record in records:
        batch, n, _ = record.value.split(b":", 2)
        batches[int(batch)].add(int(n))
    assert set(range(acknowledged + 1)) <= set(batches), "an acknowledged flush is missing"
    assert all(numbers == set(range(50)) for numbers in batches.values()), "a flush was half written"
    offsets: dict[int, list[int]] = defaultdict(list)
    for record in records:
        offsets[record.partition].append(record.offset)
    assert all(sorted(found) == list(range(len(found))) for found in offsets.values())
    with sqlite3.connect(bus_path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_offsets_are_dense_per_partition_from_zero_across_flushes(bus):
    bus.ensure_topics([TopicSpec("news.raw", 2)])
    producer = bus.producer()
    for n in range(30):
        producer.send("news.raw", f"wagner-{n}".encode(), b"Lukashenko brokers a deal")
        if n % 7 == 0:
            producer.flush()
    producer.close()

    records = read(bus.consumer(["news.raw"], "processor"), 30)

    for partition in (0, 1):
        assert [r.offset for r in records if r.partition == partition] == list(
            range(sum(r.partition == partition for r in records))
        )


def test_messages_without_a_key_are_spread_over_the_partitions(bus):
    bus.ensure_topics([TopicSpec("news.raw", 3)])
    producer = bus.producer()
    for _ in range(9):
        producer.send("news.raw", None, b"unkeyed bulletin")
    producer.close()

    records = read(bus.consumer(["news.raw"], "processor"), 9)

    assert Counter(r.partition for r in records) == {0: 3, 1: 3, 2: 3}


def test_a_consumer_waiting_in_poll_wakes_for_a_flush_in_another_thread(bus):
    bus.ensure_topics([TopicSpec("news.raw", 1)])
    consumer = bus.consumer(["news.raw"], "processor")

    def publish_later() -> None:
        time.sleep(0.2)
        producer = bus.producer()
        producer.send("news.raw", b"putin-address", b"Putin speaks of treason")
        producer.close()

    thread = threading.Thread(target=publish_later)
    thread.start()
    records = consumer.poll(10, timeout=30)
    thread.join()

    assert [r.value for r in records] == [b"Putin speaks of treason"]


def test_a_flush_that_cannot_write_raises_and_stores_none_of_its_messages(bus, bus_path):
    bus.ensure_topics([TopicSpec("news.raw", 1)])
    producer = bus.producer()
    producer.send("news.raw", b"shoigu", b"Shoigu out?")
    blocker = sqlite3.connect(bus_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BusError, match="cannot write 1 messages"):
            producer.flush(timeout=0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    producer.close()

    assert read(bus.consumer(["news.raw"], "processor"), 1, within=1.0) == []


def test_unknown_topics_are_refused_with_the_topic_name(bus):
    with pytest.raises(BusError, match=r"'news\.rwa' does not exist"):
        bus.producer().send("news.rwa", b"k", b"v")
    with pytest.raises(BusError, match=r"'news\.rwa' does not exist"):
        bus.consumer(["news.rwa"], "processor")


@pytest.mark.parametrize("content", [b"this is not a database, it is a Wagner press release" * 100])
def test_a_file_that_is_not_a_bus_is_unavailable_with_one_line(bus_path, content):
    bus_path.write_bytes(content)

    with pytest.raises(BusUnavailable) as error:
        EmbeddedBus(bus_path)

    assert str(bus_path) in str(error.value)
    assert "\n" not in str(error.value)


def test_a_bus_under_a_regular_file_is_unavailable(data_dir):
    (data_dir / "plain-file").write_text("Gerasimov")

    with pytest.raises(BusUnavailable, match="plain-file"):
        EmbeddedBus(data_dir / "plain-file" / "bus.sqlite3")


def test_retention_deletes_old_messages_whether_or_not_a_group_read_them(bus):
    bus.ensure_topics([TopicSpec("news.raw", 1, retention_ms=60_000), TopicSpec("news.archive", 1)])
    producer = bus.producer()
    for n in range(3):
        producer.send("news.raw", b"mutiny", f"{n}".encode())
        producer.send("news.archive", b"mutiny", f"{n}".encode())
    producer.flush()

    deleted = bus.maintain(now_ms=time.time_ns() // 1_000_000 + 3_600_000)
    producer.send("news.raw", b"mutiny", b"after")
    producer.close()

    assert deleted == 3
    assert [(r.offset, r.value) for r in read(bus.consumer(["news.raw"], "late"), 1)] == [(3, b"after")]
    assert len(read(bus.consumer(["news.archive"], "late"), 3)) == 3


def test_a_compacted_topic_keeps_the_latest_value_of_each_key(bus):
    bus.ensure_topics([TopicSpec("news.feeds", 2, compacted=True)])
    producer = bus.producer()
    for key, value in [(b"tass", b"etag-1"), (b"meduza", b"etag-1"), (b"tass", b"etag-2"), (b"tass", b"etag-3")]:
        producer.send("news.feeds", key, value)
    producer.flush()

    deleted = bus.maintain()
    records = read(bus.consumer(["news.feeds"], "poller"), 2)

    assert deleted == 2
    assert sorted((r.key, r.value) for r in records) == [(b"meduza", b"etag-1"), (b"tass", b"etag-3")]
    assert read(bus.consumer(["news.feeds"], "poller-2"), 3, within=0.5) == records
    with pytest.raises(BusError, match="compacted"):
        producer.send("news.feeds", None, b"no key")
    producer.close()


def send_numbers(bus: EmbeddedBus, topic: str, count: int) -> None:
    producer = bus.producer()
    for n in range(count):
        producer.send(topic, f"article-{n}".encode(), f"{n}".encode())
    producer.close()


def test_consumers_of_one_group_in_one_process_split_the_partitions(bus):
    bus.ensure_topics([TopicSpec("news.raw", 4)])
    send_numbers(bus, "news.raw", 40)
    first, second = bus.consumer(["news.raw"], "processor"), bus.consumer(["news.raw"], "processor")

    mine, theirs = read(first, 40, within=1.0), read(second, 40, within=1.0)

    assert {r.partition for r in mine}.isdisjoint({r.partition for r in theirs})
    assert sorted(int(r.value) for r in mine + theirs) == list(range(40))
    assert first.assignment() == {("news.raw", r.partition) for r in mine}
    assert second.assignment() == {("news.raw", r.partition) for r in theirs}
    assert first.assignment() | second.assignment() == {("news.raw", partition) for partition in range(4)}


def test_after_a_member_leaves_the_other_takes_over_from_the_committed_positions(bus):
    bus.ensure_topics([TopicSpec("news.raw", 4)])
    send_numbers(bus, "news.raw", 40)
    first, second = bus.consumer(["news.raw"], "processor"), bus.consumer(["news.raw"], "processor")
    first.commit(read(first, 40, within=1.0))
    uncommitted = read(second, 40, within=1.0)
    second.close()

    taken_over = read(first, 40, within=1.0)

    assert sorted(int(r.value) for r in taken_over) == sorted(int(r.value) for r in uncommitted)


def test_a_commit_for_records_read_before_a_rebalance_fails_and_they_come_again(bus):
    bus.ensure_topics([TopicSpec("news.raw", 2)])
    send_numbers(bus, "news.raw", 10)
    first = bus.consumer(["news.raw"], "processor")
    before = read(first, 10)
    second = bus.consumer(["news.raw"], "processor")

    with pytest.raises(BusError, match="rebalanced"):
        first.commit(before)
    again = read(first, 10, within=1.0) + read(second, 10, within=1.0)

    assert sorted(int(r.value) for r in again) == list(range(10))


def test_a_consumer_dropped_without_close_gives_its_partitions_back(bus):
    bus.ensure_topics([TopicSpec("news.raw", 2)])
    send_numbers(bus, "news.raw", 10)
    kept, dropped = bus.consumer(["news.raw"], "processor"), bus.consumer(["news.raw"], "processor")
    del dropped
    gc.collect()

    assert sorted(int(r.value) for r in read(kept, 10)) == list(range(10))


HOLDER = """
    import sys, time
    from pathlib import Path
    from newswire.bus.embedded import EmbeddedBus

    consumer = EmbeddedBus(Path(sys.argv[1])).consumer(["news.raw"], "processor")
    print("joined", flush=True)
    time.sleep(120)
"""


def test_a_group_is_served_to_one_process_at_a_time(bus, bus_path):
    bus.ensure_topics([TopicSpec("news.raw", 2)])
    holder = run_python(HOLDER, str(bus_path))
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "joined"
        with pytest.raises(BusError, match=f"already consumed by process {holder.pid}"):
            bus.consumer(["news.raw"], "processor")
        other_group = bus.consumer(["news.raw"], "indexer")
    finally:
        holder.kill()
        holder.communicate()

    other_group.close()
    bus.consumer(["news.raw"], "processor").close()  # the dead process's claim does not block anyone


def test_closing_the_bus_closes_its_consumers_and_flushes_its_producers(bus_path):
    bus = EmbeddedBus(bus_path)
    bus.ensure_topics([TopicSpec("news.raw", 1)])
    producer, consumer = bus.producer(), bus.consumer(["news.raw"], "processor")
    producer.send("news.raw", b"belarus", b"Wagner fighters head to Belarus")
    bus.close()

    reopened = EmbeddedBus(bus_path)
    records = read(reopened.consumer(["news.raw"], "processor"), 1)
    reopened.close()

    assert [r.value for r in records] == [b"Wagner fighters head to Belarus"]
    with pytest.raises(BusError, match="closed"):
        consumer.poll(1, timeout=0)
