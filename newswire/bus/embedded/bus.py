"""The :class:`EmbeddedBus` itself: the file, its topics, and the connections its producers and consumers use."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from newswire.bus import MAX_MESSAGE_BYTES, Bus, Record, TopicSpec, close_clients
from newswire.bus.embedded.consumer import EmbeddedConsumer
from newswire.bus.embedded.groups import _shared_file
from newswire.bus.embedded.producer import EmbeddedProducer
from newswire.bus.embedded.retention import delete_expired
from newswire.bus.embedded.storage import _SCHEMA, _now_ms, _Transaction
from newswire.errors import BusError, BusUnavailable

logger = logging.getLogger(__name__)


class EmbeddedBus(Bus):
    """A bus in the SQLite file at ``path`` (created with its directory when missing)."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        maintenance_interval: float = 60.0,
        busy_timeout: float = 30.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.path = Path(path).resolve()
        self.max_message_bytes = max_message_bytes
        self.synchronous = synchronous
        self.maintenance_interval = maintenance_interval
        self.busy_timeout = busy_timeout
        self._shared = _shared_file(self.path)
        self._topics: dict[str, TopicSpec] = {}
        self._lock = threading.Lock()
        self._last_maintenance = time.monotonic()
        self._clients: weakref.WeakSet[EmbeddedProducer | EmbeddedConsumer] = weakref.WeakSet()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BusUnavailable(f"cannot create the directory of the embedded bus {self.path}: {exc}") from exc
        self._conn = self.connect()
        try:
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise BusUnavailable(f"{self.path} is not a usable embedded bus file: {exc}") from exc
        self.maintain()

    def connect(self) -> sqlite3.Connection:
        """A new connection to the bus file, in WAL mode; used by each producer and consumer for itself."""
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except sqlite3.Error as exc:
            raise BusUnavailable(f"cannot open the embedded bus {self.path}: {exc}") from exc
        return conn

    # --- Bus -----------------------------------------------------------------------------------------------------

    def ensure_topics(self, topics: Iterable[TopicSpec]) -> None:
        specs = list(topics)
        for spec in specs:
            if spec.partitions < 1:
                raise BusError(f"topic {spec.name!r} needs at least one partition, got {spec.partitions}")
        with self._lock, self._transaction(self._conn, f"create topics in {self.path}"):
            for spec in specs:
                created = self._conn.execute(
                    "INSERT INTO topics (name, partitions, retention_ms, compacted) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (spec.name, spec.partitions, spec.retention_ms, int(spec.compacted)),
                ).rowcount
                if created:
                    self._conn.executemany(
                        "INSERT INTO partitions (topic, partition_no) VALUES (?, ?)",
                        [(spec.name, number) for number in range(spec.partitions)],
                    )
                    logger.info("created topic %s with %d partitions in %s", spec.name, spec.partitions, self.path)
        for spec in specs:
            existing = self.topic(spec.name)
            if existing != spec:
                logger.warning("topic %s exists as %s; left as it is, not changed to %s", spec.name, existing, spec)

    def producer(self) -> EmbeddedProducer:
        producer = EmbeddedProducer(self)
        self._clients.add(producer)
        return producer

    def consumer(self, topics: Sequence[str], group: str, *, from_beginning: bool = True) -> EmbeddedConsumer:
        consumer = EmbeddedConsumer(self, topics, group, from_beginning=from_beginning)
        self._clients.add(consumer)
        return consumer

    def close(self) -> None:
        """Close the producers (flushing them) and consumers still open, then the bus's own connection."""
        failure = close_clients(self._clients)
        with self._lock:
            self._conn.close()
        if failure:
            raise failure

    # --- inspection and replay --------------------------------------------------------------------------------

    def end_offsets(self, topic: str) -> dict[int, int]:
        self.topic(topic)
        return dict(
            self._rows(
                f"read the end offsets of {topic!r}",
                "SELECT partition_no, next_offset FROM partitions WHERE topic = ?",
                (topic,),
            )
        )

    def committed(self, group: str, topic: str) -> dict[int, int]:
        self.topic(topic)
        return dict(
            self._rows(
                f"read the positions of group {group!r}",
                "SELECT partition_no, next_offset FROM group_positions WHERE group_name = ? AND topic = ?",
                (group, topic),
            )
        )

    def read(self, topic: str, *, since_ms: int | None = None, batch: int = 500) -> Iterator[list[Record]]:
        ends = self.end_offsets(topic)
        conn = self.connect()
        try:
            for partition in sorted(ends):
                position = 0
                if since_ms is not None:
                    (first,) = conn.execute(
                        "SELECT min(offset_no) FROM messages "
                        "WHERE topic = ? AND partition_no = ? AND timestamp_ms >= ?",
                        (topic, partition, since_ms),
                    ).fetchone()
                    position = ends[partition] if first is None else first
                while position < ends[partition]:
                    rows = conn.execute(
                        "SELECT offset_no, key, value, timestamp_ms FROM messages WHERE topic = ? AND partition_no = ? "
                        "AND offset_no >= ? AND offset_no < ? ORDER BY offset_no LIMIT ?",
                        (topic, partition, position, ends[partition], batch),
                    ).fetchall()
                    if not rows:
                        break
                    yield [Record(topic, partition, *row) for row in rows]
                    position = rows[-1][0] + 1
        except sqlite3.Error as exc:
            raise BusError(f"cannot read {topic!r} from {self.path}: {exc}") from exc
        finally:
            conn.close()

    def _rows(self, doing: str, sql: str, parameters: tuple[object, ...]) -> list[tuple[int, int]]:
        with self._lock:
            try:
                return [(int(a), int(b)) for a, b in self._conn.execute(sql, parameters)]
            except sqlite3.Error as exc:
                raise BusError(f"cannot {doing} from {self.path}: {exc}") from exc

    # --- for the producers and consumers ----------------------------------------------------------------------------

    def topic(self, name: str) -> TopicSpec:
        """The topic ``name``; :class:`BusError` if it was never created."""
        spec = self._topics.get(name)
        if spec is not None:
            return spec
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT partitions, retention_ms, compacted FROM topics WHERE name = ?", (name,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise BusError(f"cannot read topic {name!r} from {self.path}: {exc}") from exc
        if row is None:
            raise BusError(f"topic {name!r} does not exist on the embedded bus {self.path}; create it first")
        spec = TopicSpec(name, row[0], row[1], bool(row[2]))
        self._topics[name] = spec  # partitions never change, so the cache never goes stale
        return spec

    def _transaction(self, conn: sqlite3.Connection, doing: str) -> _Transaction:
        return _Transaction(conn, f"{doing} ({self.path})")

    def maybe_maintain(self) -> None:
        """Run :meth:`maintain` if it is due; a failure is logged, since the flush that calls it has succeeded."""
        if time.monotonic() - self._last_maintenance < self.maintenance_interval:
            return
        try:
            self.maintain()
        except BusError as exc:
            logger.warning("retention and compaction skipped this time: %s", exc)

    def maintain(self, now_ms: int | None = None) -> int:
        """Apply retention and compaction to every topic now; the number of messages deleted."""
        now_ms = _now_ms() if now_ms is None else now_ms
        with self._lock:
            self._last_maintenance = time.monotonic()
            with self._transaction(self._conn, "apply retention and compaction"):
                deleted = delete_expired(self._conn, now_ms)
        if deleted:
            logger.info("retention and compaction deleted %d messages from %s", deleted, self.path)
        return deleted
