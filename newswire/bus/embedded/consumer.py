"""The embedded consumer: a member of a group, its share of the partitions, its positions and commits."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from newswire.bus import Consumer, Record, next_positions
from newswire.bus.embedded.groups import _drop_member, _Group, _Member, _process_alive
from newswire.bus.embedded.storage import TopicPartition
from newswire.errors import BusError

if TYPE_CHECKING:
    from newswire.bus.embedded.bus import EmbeddedBus

logger = logging.getLogger(__name__)

CROSS_PROCESS_POLL = 0.05
"""Seconds between looks at the file while a consumer waits for messages written by another process."""


class EmbeddedConsumer(Consumer):
    """A member of consumer group ``group`` reading ``topics`` (see the package docstring for how groups split)."""

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
        positions = next_positions(records)
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
