"""The poller's local state file (SQLite in the data directory): feeds and the articles already published.

It is a cache of what the compacted feeds topic holds, plus the article table that makes a restart re-publish
nothing: an article is recorded here only after the bus acknowledged it (publish, flush, then record). Between the
send and the record an article is *pending* (its row written before the send): after a crash there, the next start
looks for the pending articles in the raw topic and records those it finds, so that only the ones the bus never
got are published again (see :meth:`StateFile.resolve_pending`). Losing the file costs a re-fetch of every feed and,
for articles that dropped out of their feed's recent list, a duplicate that the downstream stages absorb (same id,
same key).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from newswire.contract import HeadlineChange
from newswire.errors import ConfigError
from newswire.ingest.base import Feed

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
    last_seen REAL NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    lede TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL,
    hash TEXT NOT NULL,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    lede TEXT NOT NULL,
    history TEXT NOT NULL,
    sent_ms INTEGER NOT NULL
);
"""
# Columns added since the first state files: (name, declaration), added to an older file when it is opened.
_ADDED_COLUMNS = (
    ("title", "TEXT NOT NULL DEFAULT ''"),
    ("lede", "TEXT NOT NULL DEFAULT ''"),
    ("history", "TEXT NOT NULL DEFAULT '[]'"),
)
_HISTORY = TypeAdapter(tuple[HeadlineChange, ...])


@dataclass(frozen=True, slots=True)
class KnownArticle:
    id: str
    feed_url: str
    hash: str
    revision: int
    title: str = ""  # of the revision published last, to say what a new one changed
    lede: str = ""
    history: tuple[HeadlineChange, ...] = ()  # the headlines before ``title``, oldest first


def _history_json(history: tuple[HeadlineChange, ...]) -> str:
    return _HISTORY.dump_json(history).decode("utf-8")


def _known_of(row: tuple[str, str, str, int, str, str, str]) -> KnownArticle:
    """A row of ``id, feed_url, hash, revision, title, lede, history`` (the articles or the pending table)."""
    identity, feed_url, digest, revision, title, lede, history = row
    return KnownArticle(identity, feed_url, digest, revision, title, lede, _history_of(history))


def _history_of(text: str) -> tuple[HeadlineChange, ...]:
    """The headlines a row keeps; none when it keeps something else (a file written by a newer poller, damaged)."""
    try:
        return _HISTORY.validate_json(text)
    except ValidationError:
        return ()


class StateFile:
    """Feeds and published articles of one poller; safe to share between threads.

    Writes go through one connection and reads through another (the file is in WAL mode), so the parse threads
    looking up articles never wait for the publisher writing them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            for name, declaration in _ADDED_COLUMNS:
                if name not in columns:
                    self._db.execute(f"ALTER TABLE articles ADD COLUMN {name} {declaration}")
            self._reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the ingest state file {path}: {exc}") from exc
        self._lock = threading.Lock()  # the writing connection
        self._read_lock = threading.Lock()  # the reading connection
        self._claims_lock = threading.Lock()  # taken before `_read_lock` when both are needed
        self._claims: dict[str, str] = {}  # article id -> feed URL publishing it now

    @classmethod
    def in_dir(cls, data_dir: Path) -> StateFile:
        return cls(data_dir / STATE_FILE)

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._db.close()

    # --- feeds -------------------------------------------------------------------------------------------------
    def save_feed(self, feed: Feed) -> None:
        self.save_feeds([feed])

    def save_feeds(self, feeds: Iterable[Feed]) -> None:
        now = time.time()
        rows = [(feed.key, feed.config.url, feed.to_json().decode("utf-8"), now) for feed in feeds]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO feeds (key, url, record, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET url = excluded.url, record = excluded.record, "
                "updated = excluded.updated",
                rows,
            )
            self._db.execute("COMMIT")

    def load_feed(self, key: str) -> Feed | None:
        with self._read_lock:
            row = self._reader.execute("SELECT record FROM feeds WHERE key = ?", (key,)).fetchone()
        return Feed.from_json(row[0]) if row else None

    def feeds(self) -> list[Feed]:
        with self._read_lock:
            rows = self._reader.execute("SELECT record FROM feeds ORDER BY url").fetchall()
        return [Feed.from_json(row[0]) for row in rows]

    def delete_feed(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM feeds WHERE key = ?", (key,))

    # --- articles ------------------------------------------------------------------------------------------------
    def known(self, ids: Iterable[str]) -> dict[str, KnownArticle]:
        """The published articles among ``ids``."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, KnownArticle] = {}
        with self._read_lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._reader.execute(
                    f"SELECT id, feed_url, hash, revision, title, lede, history FROM articles WHERE id IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
                found.update((row[0], _known_of(row)) for row in rows)
        return found

    def record_pending(self, articles: Iterable[KnownArticle], sent_ms: int) -> None:
        """Note articles about to be sent at ``sent_ms`` (epoch milliseconds), before the send."""
        rows = [
            (a.id, a.feed_url, a.hash, a.revision, a.title, a.lede, _history_json(a.history), sent_ms) for a in articles
        ]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO pending (id, feed_url, hash, revision, title, lede, history, sent_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")

    def record_published(self, articles: Iterable[KnownArticle]) -> None:
        """Remember articles the bus has acknowledged; they are no longer pending."""
        published = list(articles)
        if not published:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._write_articles(published)
            self._db.executemany("DELETE FROM pending WHERE id = ?", [(a.id,) for a in published])
            self._db.execute("COMMIT")

    def pending(self) -> dict[str, int]:
        """The pending articles: id -> the time (epoch milliseconds) it was last sent."""
        with self._read_lock:
            return {identity: int(sent) for identity, sent in self._reader.execute("SELECT id, sent_ms FROM pending")}

    def resolve_pending(self, published: Iterable[str]) -> int:
        """Record the pending articles among ``published`` (found on the bus) and forget the other pending ones.

        Those the bus never got are published again when their feed is next read, since they are in neither table.
        Returns the number recorded.
        """
        found = set(published)
        with self._lock:
            rows = self._db.execute("SELECT id, feed_url, hash, revision, title, lede, history FROM pending").fetchall()
            recorded = [_known_of(row) for row in rows if row[0] in found]
            self._db.execute("BEGIN")
            self._write_articles(recorded)
            self._db.execute("DELETE FROM pending")
            self._db.execute("COMMIT")
        return len(recorded)

    def _write_articles(self, articles: list[KnownArticle]) -> None:
        """Insert or update ``articles`` (their first sight kept), inside the caller's transaction and lock."""
        now = time.time()
        self._db.executemany(
            "INSERT INTO articles (id, feed_url, hash, revision, first_seen, last_seen, title, lede, history) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, revision = excluded.revision, "
            "last_seen = excluded.last_seen, title = excluded.title, lede = excluded.lede, "
            "history = excluded.history",
            [
                (a.id, a.feed_url, a.hash, a.revision, now, now, a.title, a.lede, _history_json(a.history))
                for a in articles
            ],
        )

    def claim(self, ids: Iterable[str], feed_url: str) -> set[str]:
        """Of ``ids`` (new to ``feed_url``), those no other feed has published or is publishing now; now claimed.

        Two feeds polled at the same moment may list the same article; only the first to claim it publishes it.
        """
        wanted = list(dict.fromkeys(ids))
        with self._claims_lock:
            free = [i for i in wanted if self._claims.get(i, feed_url) == feed_url]
            # Checked after the claims: an article released by another feed was recorded before its release.
            recorded = self.known(free)
            granted = {i for i in free if i not in recorded or recorded[i].feed_url == feed_url}
            for identity in granted:
                self._claims[identity] = feed_url
        return granted

    def release(self, ids: Iterable[str]) -> None:
        """Drop the claims on ``ids`` (after they were recorded, or when publishing failed)."""
        with self._claims_lock:
            for identity in ids:
                self._claims.pop(identity, None)

    def article_count(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT count(*) FROM articles").fetchone()[0])
