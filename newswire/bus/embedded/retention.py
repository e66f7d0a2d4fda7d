"""Retention and compaction, as Kafka applies them: by age whether or not a group has read, and latest per key."""

from __future__ import annotations

import sqlite3


def delete_expired(conn: sqlite3.Connection, now_ms: int) -> int:
    """Delete what each topic's retention and compaction drop at ``now_ms``, in the caller's transaction; how many."""
    deleted = 0
    topics = conn.execute("SELECT name, retention_ms, compacted FROM topics").fetchall()
    for name, retention_ms, compacted in topics:
        if retention_ms is not None:
            deleted += conn.execute(
                "DELETE FROM messages WHERE topic = ? AND timestamp_ms < ?", (name, now_ms - retention_ms)
            ).rowcount
        if compacted:
            deleted += conn.execute(
                "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() "
                "OVER (PARTITION BY partition_no, key ORDER BY offset_no DESC) AS newer "
                "FROM messages WHERE topic = ?) WHERE newer > 1)",
                (name,),
            ).rowcount
    return deleted
