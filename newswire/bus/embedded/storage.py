"""The bus file's tables, and the one kind of write transaction every writer uses."""

from __future__ import annotations

import sqlite3
import time

from newswire.errors import BusError

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
