"""The embedded producer: a buffer that each flush writes in one transaction, the acknowledgement."""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

from newswire.bus import Producer, message_size
from newswire.bus.embedded.storage import TopicPartition, _now_ms
from newswire.bus.partitioner import partition_for
from newswire.errors import BusError, MessageTooLarge

if TYPE_CHECKING:
    from newswire.bus.embedded.bus import EmbeddedBus


class EmbeddedProducer(Producer):
    """Buffers messages and writes each flush in one transaction."""

    def __init__(self, bus: EmbeddedBus) -> None:
        self._bus = bus
        self._conn = bus.connect()
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, int, bytes | None, bytes, int]] = []
        self._unkeyed = itertools.count()
        self._closed = False

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        spec = self._bus.topic(topic)
        size = message_size(key, value)
        if size > self._bus.max_message_bytes:
            raise MessageTooLarge(topic, key, size, self._bus.max_message_bytes)
        if key is None:
            if spec.compacted:
                raise BusError(f"topic {topic!r} is compacted and refuses a message without a key")
            partition = next(self._unkeyed) % spec.partitions
        else:
            partition = partition_for(key, spec.partitions)
        with self._lock:
            if self._closed:
                raise BusError(f"producer on {self._bus.path} is closed")
            self._buffer.append((topic, partition, key, value, _now_ms()))

    def flush(self, timeout: float = 30.0) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch or self._closed:
                return
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            with self._bus._transaction(self._conn, f"write {len(batch)} messages") as conn:
                next_offsets: dict[TopicPartition, int] = {}
                rows = []
                for topic, partition, key, value, timestamp_ms in batch:
                    offset = next_offsets.get((topic, partition))
                    if offset is None:
                        (offset,) = conn.execute(
                            "SELECT next_offset FROM partitions WHERE topic = ? AND partition_no = ?",
                            (topic, partition),
                        ).fetchone()
                    rows.append((topic, partition, offset, key, value, timestamp_ms))
                    next_offsets[(topic, partition)] = offset + 1
                conn.executemany(
                    "INSERT INTO messages (topic, partition_no, offset_no, key, value, timestamp_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "UPDATE partitions SET next_offset = ? WHERE topic = ? AND partition_no = ?",
                    [(offset, topic, partition) for (topic, partition), offset in next_offsets.items()],
                )
        self._bus._shared.announce_write()
        self._bus.maybe_maintain()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True
                self._conn.close()
