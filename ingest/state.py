"""The poller's local state file (SQLite in the data directory): feeds and the articles already published.

It is a cache of what the compacted feeds topic holds, plus the article table that makes a restart re-publish
nothing: an article is recorded here only after the bus acknowledged it (publish, flush, then record). Losing the
file costs a re-fetch of every feed and, for articles that dropped out of their feed's recent list, a duplicate
that the downstream stages absorb (same id, same key).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from newswire.errors import ConfigError
from newswire.ingest.base import Feed

logger = logging.getLogger(__name__)

STATE_FILE = "ingest-state.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    record TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL,
    hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class KnownArticle:
    id: str
    feed_url: str
    hash: str
    revision: int


class StateFile:
    """Feeds and published articles of one poller; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the ingest state file {path}: {exc}") from exc
        self._lock = threading.Lock()
        self._claims: dict[str, str] = {}  # article id -> feed URL publishing it now

    @classmethod
    def in_dir(cls, data_dir: Path) -> StateFile:
        return cls(data_dir / STATE_FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- feeds -------------------------------------------------------------------------------------------------
    def save_feed(self, feed: Feed) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO feeds (key, url, record, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET url = excluded.url, record = excluded.record, "
                "updated = excluded.updated",
                (feed.key, feed.config.url, feed.to_json().decode("utf-8"), time.time()),
            )

    def load_feed(self, key: str) -> Feed | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM feeds WHERE key = ?", (key,)).fetchone()
        return Feed.from_json(row[0]) if row else None

    def feeds(self) -> list[Feed]:
        with self._lock:
            rows = self._db.execute("SELECT record FROM feeds ORDER BY url").fetchall()
        return [Feed.from_json(row[0]) for row in rows]

    def delete_feed(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM feeds WHERE key = ?", (key,))

    # --- articles ------------------------------------------------------------------------------------------------
    def known(self, ids: Iterable[str]) -> dict[str, KnownArticle]:
        """The published articles among ``ids``."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, KnownArticle] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT id, feed_url, hash, revision FROM articles WHERE id IN ({marks})",  # noqa: S608 - marks only
                    chunk,
                ).fetchall()
                for row in rows:
                    found[row[0]] = KnownArticle(*row)
        return found

    def record_published(self, articles: Iterable[KnownArticle]) -> None:
        """Remember articles the bus has acknowledged."""
        now = time.time()
        rows = [(a.id, a.feed_url, a.hash, a.revision, now, now) for a in articles]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO articles (id, feed_url, hash, revision, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, revision = excluded.revision, "
                "last_seen = excluded.last_seen",
                rows,
            )
            self._db.execute("COMMIT")

    def claim(self, ids: Iterable[str], feed_url: str) -> set[str]:
        """Of ``ids`` (new to ``feed_url``), those no other feed has published or is publishing now; now claimed.

        Two feeds polled at the same moment may list the same article; only the first to claim it publishes it.
        """
        granted: set[str] = set()
        with self._lock:
            for identity in ids:
                holder = self._claims.get(identity)
                if holder is not None and holder != feed_url:
                    continue
                row = self._db.execute("SELECT feed_url FROM articles WHERE id = ?", (identity,)).fetchone()
                if row is not None and row[0] != feed_url:
                    continue
                self._claims[identity] = feed_url
                granted.add(identity)
        return granted

    def release(self, ids: Iterable[str]) -> None:
        """Drop the claims on ``ids`` (after they were recorded, or when publishing failed)."""
        with self._lock:
            for identity in ids:
                self._claims.pop(identity, None)

    def article_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])
