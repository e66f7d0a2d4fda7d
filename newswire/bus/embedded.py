"""The embedded bus: topics, partitions and consumer groups in one SQLite file, for running without Kafka.

It keeps the semantics of :mod:`newswire.bus` the way Kafka does, so a stage cannot tell the two apart:

- **Partitions and order.** A keyed message goes to Kafka's partition for its key (:mod:`newswire.bus.partitioner`,
  murmur2 like the Java client), so one key lands on the same partition number here and on Kafka. A message without
  a key goes round-robin over the partitions, one producer at a time (Kafka picks a partition too; nothing may rely
  on where an unkeyed message goes). Offsets are dense per partition from 0 when written; retention and compaction
  leave gaps, as on Kafka.
- **Acknowledgement and durability.** :meth:`Producer.send` only buffers; :meth:`Producer.flush` writes the buffer in
  one SQLite transaction, which is the acknowledgement: after it returns every message is on disk, and a crash can
  never leave part of a flush behind. The file is in WAL mode with ``synchronous=NORMAL`` by default: a committed
  flush survives the process being killed (even with SIGKILL), but the last flushes before a power cut or a kernel
  crash may be lost (never corrupted). ``synchronous="FULL"`` also survives power loss, at the cost of an fsync per
  flush. A flush that fails writes nothing and forgets its buffer; the caller sends again (the stage loop does).
- **Consumer groups.** A group's committed positions are stored in the file and survive restarts; a consumer reads
  from them (or from the beginning, or the end, when the group has none), advances its in-memory position as it
  returns records, and stores a position only on :meth:`Consumer.commit`. Several consumers of one group in one
  process split the partitions of each topic between them (partition ``p`` goes to the ``p % n``-th of the ``n``
  members subscribed to that topic, in joining order); when a member joins or leaves, every member goes back to the
  committed positions, and a commit for records read before that rebalance fails with :class:`BusError`, exactly
  like Kafka's eager rebalance, so nothing uncommitted is lost. A group is consumed by one process at a time: a
  consumer in a second live process raises :class:`BusError` (splitting a group across processes would need a
  coordinator, which is what Kafka is for).
- **Processes and threads.** Every producer and consumer has its own SQLite connection; writers queue on the file
  lock (``busy_timeout``), readers never block writers (WAL). Consumers in this process wake as soon as a producer
  in this process flushes; writes of other processes are noticed within :data:`CROSS_PROCESS_POLL` seconds.
- **Retention and compaction** run when a flush finds the last run older than ``maintenance_interval`` (and on
  :meth:`EmbeddedBus.maintain`). As on Kafka, retention deletes messages older than the topic's ``retention_ms``
  whether or not a group has read them, and a compacted topic keeps the latest message of each key (a compacted
  topic refuses messages without a key, like Kafka); until compaction runs, a reader sees the older values too.
- **Topics** must exist before they are used: :meth:`EmbeddedBus.ensure_topics` creates them; sending to or
  subscribing to an unknown topic raises :class:`BusError` rather than waiting.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from newswire.bus import Bus, Consumer, Producer, Record, TopicSpec, close_clients
from newswire.bus.partitioner import partition_for
from newswire.errors import BusError, BusUnavailable

logger = logging.getLogger(__name__)

CROSS_PROCESS_POLL = 0.05
"""Seconds between looks at the file while a consumer waits for messages written by another process."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL,
    retention_ms INTEGER,
    compacted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    next_offset INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    offset_no INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, partition_no, offset_no)
);
CREATE TABLE IF NOT EXISTS group_positions (
    group_name TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_name, topic, partition_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_owners (
    group_name TEXT PRIMARY KEY,
    pid INTEGER NOT NULL
);
"""

TopicPartition = tuple[str, int]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


_member_ids = itertools.count(1)


@dataclass(eq=False)
class _Member:
    topics: tuple[str, ...]
    id: int = field(default_factory=lambda: next(_member_ids))

    def __str__(self) -> str:
        return f"member {self.id}"


@dataclass(eq=False)
class _Group:
    members: list[_Member] = field(default_factory=list)
    generation: int = 0


class _SharedFile:
    """What every bus object of this process on one file shares: the wake-up signal and the live groups."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.version = 0  # bumped on every flush of this process, under ``changed``
        self.groups_lock = threading.RLock()
        self.groups: dict[str, _Group] = {}

    def announce_write(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()


_shared_files: dict[Path, _SharedFile] = {}
_shared_files_lock = threading.Lock()


def _shared_file(path: Path) -> _SharedFile:
    with _shared_files_lock:
        return _shared_files.setdefault(path, _SharedFile())


def _drop_member(shared: _SharedFile, group_name: str, member: _Member) -> None:
    """Forget a member whose consumer was never closed, so that it does not keep its partitions for ever."""
    with shared.groups_lock:
        group = shared.groups.get(group_name)
        if group is not None and member in group.members:
            logger.warning("a consumer of group %s was dropped without close(); its partitions go back", group_name)
            group.members.remove(member)
            group.generation += 1
            if not group.members:
                del shared.groups[group_name]


class EmbeddedBus(Bus):
    """A bus in the SQLite file at ``path`` (created with its directory when missing)."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        maintenance_interval: float = 60.0,
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path).resolve()
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
        deleted = 0
        with self._lock:
            self._last_maintenance = time.monotonic()
            with self._transaction(self._conn, "apply retention and compaction"):
                topics = self._conn.execute("SELECT name, retention_ms, compacted FROM topics").fetchall()
                for name, retention_ms, compacted in topics:
                    if retention_ms is not None:
                        deleted += self._conn.execute(
                            "DELETE FROM messages WHERE topic = ? AND timestamp_ms < ?", (name, now_ms - retention_ms)
                        ).rowcount
                    if compacted:
                        deleted += self._conn.execute(
                            "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() "
                            "OVER (PARTITION BY partition_no, key ORDER BY offset_no DESC) AS newer "
                            "FROM messages WHERE topic = ?) WHERE newer > 1)",
                            (name,),
                        ).rowcount
        if deleted:
            logger.info("retention and compaction deleted %d messages from %s", deleted, self.path)
        return deleted


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on any error), with sqlite3 errors turned into BusError."""

    def __init__(self, conn: sqlite3.Connection, doing: str) -> None:
        self.conn = conn
        self.doing = doing

    def __enter__(self) -> sqlite3.Connection:
        try:
            # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise BusError(f"cannot {self.doing}: {exc}") from exc
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as commit_exc:
                exc = commit_exc
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise BusError(f"cannot {self.doing}: {exc}") from exc


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


class EmbeddedConsumer(Consumer):
    """A member of consumer group ``group`` reading ``topics`` (see the module docstring for how groups split)."""

    def __init__(self, bus: EmbeddedBus, topics: Sequence[str], group: str, *, from_beginning: bool) -> None:
        self._bus = bus
        self.group = group
        self._from_beginning = from_beginning
        self._specs = [bus.topic(name) for name in dict.fromkeys(topics)]
        self._member = _Member(tuple(spec.name for spec in self._specs))
        self._lock = threading.Lock()
        self._positions: dict[TopicPartition, int] = {}
        self._generation = -1
        self._rotation = 0
        self._closed = False
        self._conn = bus.connect()
        try:
            self._join()
        except BaseException:
            self._conn.close()
            raise

    # --- membership ----------------------------------------------------------------------------------------------

    def _join(self) -> None:
        shared = self._bus._shared
        with shared.groups_lock:
            group = shared.groups.get(self.group)
            if group is None:
                self._claim_group()
                group = shared.groups[self.group] = _Group()
            group.members.append(self._member)
            group.generation += 1
            self._finalizer = weakref.finalize(self, _drop_member, shared, self.group, self._member)
            self._finalizer.atexit = False
            logger.info(
                "%s joined group %s on %s (%d members)", self._member, self.group, self._bus.path, len(group.members)
            )

    def _claim_group(self) -> None:
        """Record this process as the one consuming the group; refuse if another live process is."""
        with self._bus._transaction(self._conn, f"join group {self.group!r}") as conn:
            row = conn.execute("SELECT pid FROM group_owners WHERE group_name = ?", (self.group,)).fetchone()
            if row is not None and row[0] != os.getpid() and _process_alive(row[0]):
                raise BusError(
                    f"consumer group {self.group!r} is already consumed by process {row[0]} on the embedded bus "
                    f"{self._bus.path}; the embedded bus serves a group from one process at a time"
                )
            conn.execute(
                "INSERT INTO group_owners (group_name, pid) VALUES (?, ?) "
                "ON CONFLICT (group_name) DO UPDATE SET pid = excluded.pid",
                (self.group, os.getpid()),
            )

    def _leave(self) -> None:
        shared = self._bus._shared
        self._finalizer.detach()
        with shared.groups_lock:
            group = shared.groups[self.group]
            group.members.remove(self._member)
            group.generation += 1
            if not group.members:
                del shared.groups[self.group]
                with self._bus._transaction(self._conn, f"leave group {self.group!r}") as conn:
                    conn.execute("DELETE FROM group_owners WHERE group_name = ? AND pid = ?", (self.group, os.getpid()))

    def _sync_assignment(self) -> None:
        """After a rebalance: take this member's share of the partitions, each from its committed position."""
        shared = self._bus._shared
        with shared.groups_lock:
            group = shared.groups[self.group]
            if group.generation == self._generation:
                return
            assigned: list[TopicPartition] = []
            for spec in self._specs:
                subscribers = [member for member in group.members if spec.name in member.topics]
                share = subscribers.index(self._member)
                assigned += [(spec.name, p) for p in range(spec.partitions) if p % len(subscribers) == share]
            self._positions = self._starting_positions(assigned)
            self._generation = group.generation
        logger.debug("group %s generation %d: %s reads %s", self.group, self._generation, self._member, assigned)

    def _starting_positions(self, assigned: list[TopicPartition]) -> dict[TopicPartition, int]:
        try:
            committed = {
                (topic, partition): position
                for topic, partition, position in self._conn.execute(
                    "SELECT topic, partition_no, next_offset FROM group_positions WHERE group_name = ?", (self.group,)
                )
            }
            ends = {}
            if not self._from_beginning:
                ends = {
                    (topic, partition): end
                    for topic, partition, end in self._conn.execute(
                        "SELECT topic, partition_no, next_offset FROM partitions"
                    )
                }
        except sqlite3.Error as exc:
            raise BusError(f"cannot read the positions of group {self.group!r} in {self._bus.path}: {exc}") from exc
        return {tp: committed.get(tp, ends.get(tp, 0)) for tp in assigned}

    # --- Consumer ------------------------------------------------------------------------------------------------

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        deadline = time.monotonic() + timeout
        changed = self._bus._shared.changed
        while True:
            with changed:
                seen = self._bus._shared.version
            records = self._fetch(max_records)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            with changed:
                if self._bus._shared.version == seen:
                    changed.wait(min(remaining, CROSS_PROCESS_POLL))

    def _fetch(self, max_records: int) -> list[Record]:
        with self._lock:
            if self._closed:
                raise BusError(f"consumer of group {self.group!r} on {self._bus.path} is closed")
            self._sync_assignment()
            partitions = sorted(self._positions)
            if not partitions:
                return []
            # Start at a different partition each poll so one busy partition cannot starve the others.
            self._rotation = (self._rotation + 1) % len(partitions)
            records: list[Record] = []
            try:
                for topic, partition in partitions[self._rotation :] + partitions[: self._rotation]:
                    wanted = max_records - len(records)
                    if wanted <= 0:
                        break
                    rows = self._conn.execute(
                        "SELECT offset_no, key, value, timestamp_ms FROM messages "
                        "WHERE topic = ? AND partition_no = ? AND offset_no >= ? ORDER BY offset_no LIMIT ?",
                        (topic, partition, self._positions[(topic, partition)], wanted),
                    ).fetchall()
                    if rows:
                        records += [Record(topic, partition, *row) for row in rows]
                        self._positions[(topic, partition)] = rows[-1][0] + 1
            except sqlite3.Error as exc:
                raise BusError(f"cannot read from {self._bus.path} for group {self.group!r}: {exc}") from exc
            records.sort(key=lambda record: (record.topic, record.partition, record.offset))
            return records

    def commit(self, records: Sequence[Record]) -> None:
        if not records:
            return
        positions: dict[TopicPartition, int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            positions[tp] = max(positions.get(tp, 0), record.offset + 1)
        shared = self._bus._shared
        with self._lock, shared.groups_lock:
            if self._closed:
                raise BusError(f"consumer of group {self.group!r} on {self._bus.path} is closed")
            if shared.groups[self.group].generation != self._generation:
                raise BusError(
                    f"group {self.group!r} rebalanced after these records were read; they will be delivered again"
                )
            foreign = sorted(tp for tp in positions if tp not in self._positions)
            if foreign:
                raise BusError(f"group {self.group!r}: this consumer does not read {foreign}, so cannot commit them")
            with self._bus._transaction(self._conn, f"commit group {self.group!r}") as conn:
                conn.executemany(
                    "INSERT INTO group_positions (group_name, topic, partition_no, next_offset) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (group_name, topic, partition_no) DO UPDATE SET next_offset = excluded.next_offset",
                    [(self.group, topic, partition, position) for (topic, partition), position in positions.items()],
                )

    def assignment(self) -> frozenset[tuple[str, int]]:
        """The partitions this member read at its last poll (a rebalance shows at the next poll, as on Kafka)."""
        with self._lock:
            return frozenset(self._positions)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._leave()
            finally:
                self._conn.close()
