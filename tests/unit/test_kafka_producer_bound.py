"""The Kafka producer's bound on messages sent and not yet settled: past it a send waits, then fails, and the
message is never handed to kafka-python to pile up."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kafka.future import Future

from newswire.bus.kafka import KafkaProducer
from newswire.errors import BusError


class _Client:
    """kafka-python's producer as a broker that is away: every send gets a future nobody settles yet."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, Future]] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"") -> Future:
        future = Future()
        self.sent.append((topic, key, value, future))
        return future

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


def _producer(client: Any, buffer_bytes: int, block_seconds: float = 0.2) -> KafkaProducer:
    return KafkaProducer(client, "127.0.0.1:9", limit=1_000_000, buffer_bytes=buffer_bytes, block_seconds=block_seconds)


def test_a_send_past_the_bound_fails_while_the_broker_holds_the_earlier_ones():
    client = _Client()
    producer = _producer(client, buffer_bytes=10_000)
    for number in range(3):
        producer.send("news.raw", f"k{number}".encode(), b"x" * 3_000)
    assert producer.unsettled_bytes > 9_000
    with pytest.raises(BusError, match=r"has not settled .* MiB .* within 0.2s .* bound"):
        producer.send("news.raw", b"k3", b"x" * 3_000)
    assert len(client.sent) == 3  # the refused message was never handed to kafka-python


def test_settled_messages_free_the_bound_whether_stored_or_failed():
    client = _Client()
    producer = _producer(client, buffer_bytes=10_000)
    for number in range(3):
        producer.send("news.raw", f"k{number}".encode(), b"x" * 3_000)
    client.sent[0][3].success("stored")
    client.sent[1][3].failure(Exception("delivery timed out"))
    producer.send("news.raw", b"k3", b"x" * 3_000)
    producer.send("news.raw", b"k4", b"x" * 3_000)
    assert len(client.sent) == 5
    for *_, future in client.sent[2:]:
        future.success("stored")
    assert producer.unsettled_bytes == 0


def test_one_message_larger_than_the_bound_still_goes_when_nothing_else_waits():
    client = _Client()
    producer = _producer(client, buffer_bytes=1_000)
    producer.send("news.raw", b"k", b"x" * 5_000)  # refused only while others are unsettled, or it never could go
    with pytest.raises(BusError):
        producer.send("news.raw", b"k2", b"x")


def test_a_send_waiting_for_room_goes_as_soon_as_earlier_messages_are_stored():
    client = _Client()
    producer = _producer(client, buffer_bytes=10_000, block_seconds=30.0)  # a broker that is only slow
    for number in range(3):
        producer.send("news.raw", f"k{number}".encode(), b"x" * 3_000)
    threading.Timer(0.1, client.sent[0][3].success, ("stored",)).start()
    producer.send("news.raw", b"k3", b"x" * 3_000)  # waits for the first to be stored, not for 30 s
    assert len(client.sent) == 4
