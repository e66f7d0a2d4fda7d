"""WebSub (W3C Recommendation, subscriber side): the vocabulary, hub discovery, signatures, durable subscriptions.

A feed that names a hub (``<link rel="hub">`` / ``<atom:link rel="hub">`` in the feed, or ``Link: <...>; rel="hub"``
on its response) and its topic (``rel="self"``) can push new entries instead of waiting to be polled:

    discover()            the hubs and the topic of a feed, from its parsed links and its Link header
    signature_valid()     ``X-Hub-Signature: sha1|sha256|sha384|sha512=HEX``, an HMAC of the raw body with the secret
    Subscription          one feed's subscription: hub, topic, callback id, secret, lease, state
    SubscriptionStore     subscriptions in the ingest state file (a table of its own), cached in memory

The rest lives beside this module: ``websub_callback.py`` (the HTTP endpoint the hubs call), ``websub_hub.py``
(subscription requests to hubs) and ``websub_agent.py`` (subscribing, renewing, falling back to polling, and handing
pushed bodies to the poll's parser).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from newswire.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_LINK_HEADER_CHARS = 8192  # a Link header longer than this is read only this far
MAX_LINKS = 32
MAX_URL_CHARS = 2000
SIGNATURE_METHODS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}

_NEXT_LINK = re.compile(r"\s*<")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS websub_subscriptions (
    feed_key TEXT PRIMARY KEY,
    callback_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Discovery:
    """Where a feed's updates are pushed from: its hubs (first preferred) and its topic URL (``rel="self"``)."""

    hubs: tuple[str, ...]
    topic: str | None


def usable_url(value: str, base: str) -> str | None:
    """``value`` resolved against ``base`` when it is a plain absolute http(s) URL, else ``None``."""
    value = value.strip()
    if not value or len(value) > MAX_URL_CHARS or any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
        return None
    try:
        resolved = urljoin(base, value)
        parts = urlsplit(resolved)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return resolved


def link_header_links(header: str | None) -> list[tuple[str, str]]:
    """The ``(rel, target)`` pairs of an HTTP ``Link`` header (RFC 8288), one per relation type, lower-cased.

    Tolerant of what servers send (unquoted or space-separated ``rel`` values, stray commas and semicolons, commas in
    URLs); whatever cannot be read is skipped, and only the first :data:`MAX_LINK_HEADER_CHARS` are looked at.
    """
    if not header:
        return []
    text = header[:MAX_LINK_HEADER_CHARS]
    found: list[tuple[str, str]] = []
    position = 0
    while len(found) < MAX_LINKS:
        start = text.find("<", position)
        if start < 0:
            break
        end = text.find(">", start + 1)
        if end < 0:
            break
        target = text[start + 1 : end]
        # The parameters run to the next link: a comma outside quotes that is followed by "<".
        position, params = _link_params(text, end + 1)
        for rel in params.get("rel", "").lower().split():
            found.append((rel, target))
    return found[:MAX_LINKS]


def _link_params(text: str, position: int) -> tuple[int, dict[str, str]]:
    params: dict[str, str] = {}
    quoted = False
    current = ""
    pieces: list[str] = []
    while position < len(text):
        char = text[position]
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "," and _NEXT_LINK.match(text, position + 1):
            break
        elif not quoted and char == ";":
            pieces.append(current)
            current = ""
            position += 1
            continue
        current += char
        position += 1
    pieces.append(current)
    for piece in pieces:
        name, sep, value = piece.partition("=")
        name = name.strip().lower()
        if sep and name and name not in params:
            params[name] = value.strip().strip('"')
    return position, params


def discover(feed_links: Iterable[tuple[str, str]], link_header: str | None, feed_url: str) -> Discovery:
    """Hubs and topic of the feed at ``feed_url`` from its own links and its response's ``Link`` header.

    The Link header comes first (the spec's preferred place); relative URLs are resolved against the feed's URL;
    anything that is not an absolute http(s) URL is ignored.
    """
    hubs: list[str] = []
    topic: str | None = None
    for rel, target in [*link_header_links(link_header), *feed_links]:
        url = usable_url(target, feed_url)
        if url is None:
            continue
        if rel == "hub" and url not in hubs and len(hubs) < MAX_LINKS:
            hubs.append(url)
        elif rel == "self" and topic is None:
            topic = url
    return Discovery(tuple(hubs), topic)


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` (``X-Hub-Signature``) is ``METHOD=HEX`` with the HMAC of ``body`` under ``secret``."""
    if not header:
        return False
    method, sep, given = header.strip().partition("=")
    digest = SIGNATURE_METHODS.get(method.strip().lower())
    if not sep or digest is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, digest).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and the header is the sender's to choose.
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8", "replace"))


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The ``X-Hub-Signature`` value a hub sends with ``body`` (for tests and the bench)."""
    return f"{method}=" + hmac.new(secret.encode("utf-8"), body, SIGNATURE_METHODS[method]).hexdigest()


class SubscriptionState(StrEnum):
    PENDING = "pending"  # asked for, not verified yet
    VERIFIED = "verified"  # the hub verified it: pushes are expected, the feed is polled slowly
    FAILED = "failed"  # denied, never verified, lease lost or the hub went quiet: the feed is polled as usual


class Subscription(BaseModel):
    """One feed's subscription with one hub; times are Unix seconds."""

    model_config = ConfigDict(extra="ignore")

    feed_key: str
    feed_url: str
    hub: str
    topic: str
    callback_id: str = Field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secret: str = Field(default_factory=lambda: secrets.token_hex(32), repr=False)  # under 200 bytes, as required
    state: SubscriptionState = SubscriptionState.PENDING
    requested: float | None = Field(default=None, description="When the last (re)subscription was sent.")
    awaiting: bool = Field(default=False, description="A (re)subscription is waiting for the hub's verification.")
    verified: float | None = None
    lease_seconds: int | None = None
    lease_end: float | None = None
    last_push: float | None = None
    retry_at: float | None = Field(default=None, description="When a failed subscription is tried again.")
    failures: int = 0
    last_error: str | None = None
    pushes: int = 0
    refused: int = Field(default=0, description="Pushes refused: missing or forged signature.")

    @property
    def active(self) -> bool:
        """Verified and within its lease: the hub pushes, so the feed may be polled slowly."""
        return self.state is SubscriptionState.VERIFIED and (self.lease_end or 0.0) > time.time()

    @property
    def renew_at(self) -> float | None:
        """When to renew: at 80% of the lease granted."""
        if self.verified is None or self.lease_seconds is None:
            return None
        return self.verified + 0.8 * self.lease_seconds


class SubscriptionStore:
    """The subscriptions of one poller: a table in its ingest state file, and a copy in memory (by feed key)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            rows = self._db.execute("SELECT record FROM websub_subscriptions").fetchall()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the WebSub subscriptions in {path}: {exc}") from exc
        self._lock = threading.Lock()
        self.by_feed: dict[str, Subscription] = {}
        for (record,) in rows:
            try:
                subscription = Subscription.model_validate(json.loads(record))
            except ValueError as exc:
                logger.warning("%s: unreadable WebSub subscription dropped: %s", path, exc)
                continue
            self.by_feed[subscription.feed_key] = subscription
        self.by_callback = {sub.callback_id: sub for sub in self.by_feed.values()}

    def save(self, subscription: Subscription) -> None:
        """Keep ``subscription`` (replacing the feed's previous one, whose callback then answers no more)."""
        previous = self.by_feed.get(subscription.feed_key)
        if previous is not None and previous.callback_id != subscription.callback_id:
            self.by_callback.pop(previous.callback_id, None)
        self.by_feed[subscription.feed_key] = subscription
        self.by_callback[subscription.callback_id] = subscription
        row = (subscription.feed_key, subscription.callback_id, subscription.model_dump_json(), time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO websub_subscriptions (feed_key, callback_id, record, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(feed_key) DO UPDATE SET callback_id = excluded.callback_id, record = excluded.record, "
                "updated = excluded.updated",
                row,
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
