"""The message bus the stages talk to: topics of keyed messages, consumer groups, committed positions.

Two drivers sit behind this interface: :mod:`newswire.bus.kafka` (production, Apache Kafka through kafka-python)
and :mod:`newswire.bus.embedded` (one process, SQLite on disk). Stage code never imports either; it gets a
:class:`Bus` from :func:`open_bus`.

The semantics both drivers keep:

- a topic has a fixed number of partitions; a message goes to the partition chosen by a hash of its key, so all
  messages of one key are read in the order they were written;
- :meth:`Producer.flush` returns only when every message sent before it is durably stored, or raises
  :class:`~newswire.errors.BusError`; nothing sent is acknowledged before that;
- a consumer in a group reads from the group's committed position; :meth:`Consumer.commit` stores the position
  after the records it is given; records read but not committed are delivered again after a restart
  (at-least-once), so the stages commit only after the next stage has the data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newswire.errors import BusError

if TYPE_CHECKING:
    from newswire.settings import Settings


@dataclass(frozen=True, slots=True)
class Record:
    """One message read from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic the pipeline needs, created by :meth:`Bus.ensure_topics` when missing."""

    name: str
    partitions: int
    retention_ms: int | None = None
    compacted: bool = False


class Producer(ABC):
    """Writes keyed messages; :meth:`flush` is the acknowledgement point."""

    @abstractmethod
    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message; errors surface at the next :meth:`flush` at the latest, except
        :class:`~newswire.errors.MessageTooLarge`, raised at once (nothing is queued then)."""

    @abstractmethod
    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything sent so far is acknowledged; raise :class:`BusError` if any message failed."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the connection."""


class Consumer(ABC):
    """Reads the topics of one consumer group from the group's committed positions."""

    @abstractmethod
    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """Up to ``max_records`` records, waiting at most ``timeout`` seconds for the first; may be empty."""

    @abstractmethod
    def commit(self, records: Sequence[Record]) -> None:
        """Store the group's position after the highest offset of ``records`` in each partition."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group without committing anything more."""

    def assignment(self) -> frozenset[tuple[str, int]] | None:
        """The ``(topic, partition)`` pairs this member reads now; ``None`` when the driver cannot tell.

        Work split by partition (the feed pollers own the feeds of their partitions) uses it to let go of what a
        rebalance took away. Drivers that can answer override it.
        """
        return None


def next_positions(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The position a commit of ``records`` stores per ``(topic, partition)``: one past its highest offset there."""
    positions: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        positions[key] = max(positions.get(key, 0), record.offset + 1)
    return positions


# Kafka's default for the largest request a producer sends (and, nearly, for the largest message a broker takes):
# both drivers refuse a bigger message at send with MessageTooLarge, so that a stage behaves the same on either.
MAX_MESSAGE_BYTES = 1024 * 1024
# What Kafka adds to key and value when it sizes a record (its batch header and the record's own fields).
RECORD_OVERHEAD_BYTES = 90


def message_size(key: bytes | None, value: bytes) -> int:
    """The size of a message as the bus limit counts it."""
    return len(value) + (len(key) if key is not None else 0) + RECORD_OVERHEAD_BYTES


class Bus(ABC):
    """A connection to one bus (a Kafka cluster or an embedded bus file)."""

    max_message_bytes: int = MAX_MESSAGE_BYTES
    """The largest message (:func:`message_size`) a producer of this bus sends; larger ones raise MessageTooLarge."""

    @abstractmethod
    def ensure_topics(self, topics: Iterable[TopicSpec]) -> None:
        """Create the topics that do not exist yet; existing topics are left as they are."""

    @abstractmethod
    def producer(self) -> Producer:
        """A new producer."""

    @abstractmethod
    def consumer(self, topics: Sequence[str], group: str, *, from_beginning: bool = True) -> Consumer:
        """A new consumer in ``group``; with no committed position it starts at the beginning (or the end)."""

    @abstractmethod
    def close(self) -> None:
        """Release whatever the bus holds open."""

    # Inspection and replay, for the operator's commands (status, dead letters, reindex, reprocess). Not abstract:
    # a driver that cannot answer says so with a BusError.

    def end_offsets(self, topic: str) -> dict[int, int]:
        """Per partition of ``topic``, the offset the next message written there will get."""
        raise BusError(f"{type(self).__name__} cannot tell the end offsets of {topic!r}")

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """Per partition of ``topic``, the position ``group`` committed; partitions it never committed are left out."""
        raise BusError(f"{type(self).__name__} cannot tell the positions of group {group!r}")

    def read(self, topic: str, *, since_ms: int | None = None, batch: int = 500) -> Iterator[list[Record]]:
        """Every record of ``topic`` (from the first written at or after ``since_ms``, epoch milliseconds, when
        given) up to its end as it was when the call began, in batches of up to ``batch``, without a consumer group:
        nothing is committed and no group's position moves."""
        raise BusError(f"{type(self).__name__} cannot read {topic!r} outside a consumer group")


def close_clients(clients: Iterable[Producer | Consumer]) -> BusError | None:
    """Close every client (producers flush first); return the first failure, after trying them all."""
    failure: BusError | None = None
    for client in list(clients):
        try:
            client.close()
        except BusError as exc:
            failure = failure or exc
    return failure


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    """The topics the pipeline uses, with the partition count and retention from the settings."""
    retention = settings.topic_retention_hours * 3600 * 1000
    return [
        TopicSpec(settings.topic_raw, settings.topic_partitions, retention),
        TopicSpec(settings.topic_enriched, settings.topic_partitions, retention),
        TopicSpec(settings.topic_deadletter, settings.topic_partitions, retention),
        TopicSpec(settings.topic_feeds, settings.topic_partitions, None, compacted=True),
        TopicSpec(settings.topic_alerts, settings.topic_partitions, retention),
    ]


def open_bus(settings: Settings, *, embedded: bool, client_id: str = "newswire") -> Bus:
    """The bus the settings name: the embedded bus in ``data_dir``, or the Kafka cluster at ``settings.kafka``."""
    if embedded:
        from newswire.bus.embedded import EmbeddedBus  # noqa: PLC0415 - drivers load only when chosen

        return EmbeddedBus(settings.embedded_bus_path)
    from newswire.bus.kafka import KafkaBus  # noqa: PLC0415

    return KafkaBus(
        settings.kafka_servers,
        client_id=client_id,
        replication=settings.topic_replication,
        session_timeout=settings.group_session_seconds,
        max_poll_interval=settings.consumer_max_poll_seconds,
        producer_buffer_bytes=settings.producer_buffer_mb * 2**20,
        producer_linger_ms=settings.producer_linger_ms,
    )
