"""Which feeds this poller owns: the records of the compacted feeds topic in the partitions assigned to it.

Every poller is a member of one consumer group on ``settings.topic_feeds`` and never commits, so whenever a
partition is assigned to it (at start, or when another poller joined or died) it reads that partition from the
beginning: the latest record of each feed carries its configuration and its whole polling state, so a feed moves
with its validators, schedule, failures and recently published article ids. A poller writes the feed back after
every poll, and keeps the feeds of the partitions the group gives it (:meth:`Consumer.assignment`; a driver that
cannot tell means one poller, which owns every feed it reads).

Records race: the highest ``seq`` wins; a command record written by ``newswire feeds`` (``add``, ``enable``) is
applied on top of the current state once (its ``issued`` time must be newer than the last command applied).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from newswire.bus import Record
from newswire.ingest.base import Feed, FeedConfig, FeedState, feed_key
from newswire.ingest.state import StateFile

logger = logging.getLogger(__name__)

ADD = "add"
ENABLE = "enable"
COMMANDS = (ADD, ENABLE)


def group_for(topic_feeds: str) -> str:
    """The consumer group of the pollers of one feeds topic."""
    return f"newswire-ingest.{topic_feeds}"


def command_record(config: FeedConfig, command: str, *, issued: float | None = None) -> tuple[bytes, bytes]:
    """Key and value of a command record for the feeds topic (``add`` or ``enable``)."""
    if command not in COMMANDS:
        raise ValueError(f"unknown feed command {command!r}")
    feed = Feed(config=config, command=command, seq=0)
    feed.state.last_command = issued if issued is not None else time.time()
    return feed_key(config.url).encode("ascii"), feed.to_json()


def apply_command(current: Feed | None, incoming: Feed) -> Feed | None:
    """``current`` with the command of ``incoming`` applied, or ``None`` when the command was applied before."""
    issued = incoming.state.last_command
    if current is not None and issued <= current.state.last_command:
        return None
    if current is None:
        feed = Feed(config=incoming.config, state=FeedState())
    else:
        config = incoming.config if incoming.command == ADD else current.config
        feed = Feed(config=config, state=current.state.model_copy(deep=True), seq=current.seq)
    feed.state.last_command = issued
    if incoming.command == ENABLE:
        feed.state.disabled = False
        feed.state.disabled_reason = None
        feed.state.permanent_failures = 0
        feed.state.temporary_failures = 0
        feed.state.current_url = None
        feed.state.next_poll = 0.0
    feed.seq += 1
    return feed


@dataclass(slots=True)
class FeedDirectory:
    """The feeds this poller owns, updated from feeds-topic records (apply them on one thread)."""

    topic: str
    cache: StateFile | None = None
    feeds: dict[str, Feed] = field(default_factory=dict)
    partition_of: dict[str, int] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)  # keys being polled: their records wait in `deferred`
    deferred: list[Record] = field(default_factory=list)
    changed: dict[str, Feed] = field(default_factory=dict)  # applied commands: to be written back
    seen_keys: set[str] = field(default_factory=set)
    records_read: int = 0
    owned_partitions: frozenset[int] | None = None

    def apply(self, records: Sequence[Record], assignment: frozenset[tuple[str, int]] | None) -> None:
        """Take in records from the feeds topic and the group's current assignment."""
        for record in records:
            if record.topic != self.topic or record.key is None:
                continue
            key = record.key.decode("ascii", "replace")
            if key in self.busy:
                self.deferred.append(record)
                continue
            self._apply_one(key, record)
        if assignment is not None:
            owned = frozenset(partition for topic, partition in assignment if topic == self.topic)
            if owned != self.owned_partitions:
                logger.info("feeds topic %s: this poller now has partitions %s", self.topic, sorted(owned))
                self.owned_partitions = owned
            for key, partition in list(self.partition_of.items()):
                if partition not in owned and key not in self.busy:
                    feed = self.feeds.pop(key, None)
                    self.partition_of.pop(key, None)
                    self.changed.pop(key, None)
                    if feed is not None:
                        logger.info("feed %s (partition %d) moved to another poller", feed.fetch_url, partition)

    def release(self, key: str) -> None:
        """A poll of ``key`` finished: apply the records that arrived meanwhile."""
        self.busy.discard(key)
        waiting = [record for record in self.deferred if record.key == key.encode("ascii")]
        if waiting:
            self.deferred = [record for record in self.deferred if record.key != key.encode("ascii")]
            for record in waiting:
                self._apply_one(key, record)

    def _apply_one(self, key: str, record: Record) -> None:
        self.records_read += 1
        try:
            incoming = Feed.from_json(record.value)
        except (ValueError, ValidationError) as exc:
            logger.warning(
                "feeds topic %s[%d]@%d: unreadable feed record: %s", record.topic, record.partition, record.offset, exc
            )
            return
        if incoming.key != key:
            logger.warning(
                "feeds topic %s[%d]@%d: key does not match %s",
                record.topic,
                record.partition,
                record.offset,
                incoming.config.url,
            )
            return
        self.partition_of[key] = record.partition
        self.seen_keys.add(key)
        current = self.feeds.get(key)
        if current is None and self.cache is not None:
            current = self.cache.load_feed(key)  # our last write may not have reached the topic
        if incoming.command:
            applied = apply_command(current, incoming)
            if applied is not None:
                self.feeds[key] = applied
                self.changed[key] = applied
            elif current is not None:
                self.feeds[key] = current
            return
        if current is None or incoming.seq > current.seq:
            self.feeds[key] = incoming
        else:
            self.feeds[key] = current

    def take_changed(self) -> list[Feed]:
        changed = list(self.changed.values())
        self.changed.clear()
        return changed

    def due(self, now: float) -> list[Feed]:
        """Enabled feeds whose next poll time has come and that are not being polled, earliest first."""
        ready = [
            feed
            for key, feed in self.feeds.items()
            if not feed.state.disabled and feed.state.next_poll <= now and key not in self.busy
        ]
        return sorted(ready, key=lambda feed: feed.state.next_poll)

    def next_due(self) -> float | None:
        times = [feed.state.next_poll for key, feed in self.feeds.items() if not feed.state.disabled]
        return min(times) if times else None

    def enabled(self) -> list[Feed]:
        return [feed for feed in self.feeds.values() if not feed.state.disabled]

    def has_all(self, keys: Iterable[str]) -> bool:
        return all(key in self.seen_keys for key in keys)
