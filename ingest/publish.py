"""Publishing with group commit: articles, then the bus's acknowledgement, then the state file, then feed records.

Poll tasks hand their articles and updated feed to :class:`Publisher` and wait. The publisher takes everything that
is waiting, sends the articles, flushes (the acknowledgement), records them in the state file, then writes the feed
records back to the feeds topic and flushes again. A crash between the steps never loses an article: a feed's
state, which lists what it published, reaches the feeds topic only after its articles were acknowledged. Nor does it
publish one twice: the batch is noted as pending in the state file before it is sent, and the next start reads the
raw topic from the time of the earliest pending article, records the ones it finds there and forgets the rest, which
are then published when their feed is next read. All producer calls run on one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from newswire.bus import Bus, Producer
from newswire.contract import Article, encode_raw
from newswire.errors import BusError, MessageTooLarge
from newswire.ingest.base import Feed
from newswire.ingest.state import KnownArticle, StateFile

logger = logging.getLogger(__name__)

MAX_BATCH_ARTICLES = 5000
# A message's timestamp is taken at its send, just after its pending row: the look-back starts this much before the
# earliest pending row (a clock step), and stops at a batch of messages all sent this long after the latest one (a
# send and flush cannot take longer than their timeouts).
PENDING_MARGIN_MS = 60_000


@dataclass(slots=True)
class Publication:
    feed: Feed | None
    articles: list[Article]
    known: list[KnownArticle]
    done: asyncio.Future[None]
    feed_records: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) for the feeds topic


class Publisher:
    """Owns the producer; :meth:`publish` returns once the articles and the feed record are acknowledged."""

    def __init__(self, bus: Bus, state: StateFile, *, topic_raw: str, topic_feeds: str) -> None:
        self.bus = bus
        self.state = state
        self.topic_raw = topic_raw
        self.topic_feeds = topic_feeds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-producer")
        self._producer: Producer | None = None
        self._queue: asyncio.Queue[Publication] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.flushes = 0
        self.too_large = 0  # articles the bus refused for their size
        self.resolved_pending = 0  # articles a crash left pending that the start found on the bus

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._producer = await loop.run_in_executor(self._thread, self.bus.producer)
        await loop.run_in_executor(self._thread, self._resolve_pending)
        self._task = asyncio.create_task(self._run(), name="ingest-publisher")

    def _resolve_pending(self) -> None:
        """Settle the articles a crash left between send and record: recorded if the raw topic has them."""
        pending = self.state.pending()
        if not pending:
            return
        since, until = min(pending.values()) - PENDING_MARGIN_MS, max(pending.values()) + PENDING_MARGIN_MS
        found: set[str] = set()
        read = 0
        try:
            batches = self.bus.read(self.topic_raw, since_ms=since)
            try:
                for records in batches:
                    read += len(records)
                    found.update(key for r in records if (key := (r.key or b"").decode("ascii", "replace")) in pending)
                    if len(found) == len(pending) or (records and all(r.timestamp_ms > until for r in records)):
                        break
            finally:
                if isinstance(batches, Generator):
                    batches.close()  # the driver's reader, now rather than when the generator is collected
        except BusError as exc:
            logger.warning(
                "cannot look for %d pending articles in %s, so they are published again: %s",
                len(pending),
                self.topic_raw,
                exc,
            )
        recorded = self.state.resolve_pending(found)
        self.resolved_pending = recorded
        logger.info(
            "%d articles were pending after a stop between send and record: %d found in %s (%d messages read) and "
            "recorded, %d to publish again",
            len(pending),
            recorded,
            self.topic_raw,
            read,
            len(pending) - recorded,
        )

    async def publish(self, feed: Feed, articles: list[Article], known: list[KnownArticle]) -> None:
        """Publish ``articles``, then write ``feed`` back; :class:`BusError` if the bus did not take them."""
        await self._enqueue(feed, articles, known, [])

    async def publish_feed_records(self, records: list[tuple[bytes, bytes]]) -> None:
        """Write ``(key, value)`` records to the feeds topic (seeded feeds, feeds written back), acknowledged."""
        await self._enqueue(None, [], [], records)

    async def _enqueue(
        self, feed: Feed | None, articles: list[Article], known: list[KnownArticle], records: list[tuple[bytes, bytes]]
    ) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(Publication(feed, articles, known, done, records))
        await done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        loop = asyncio.get_running_loop()
        if self._producer is not None:
            producer = self._producer
            self._producer = None
            try:
                await loop.run_in_executor(self._thread, producer.close)
            except BusError as exc:
                logger.warning("closing the producer: %s", exc)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            count = len(batch[0].articles)
            while not self._queue.empty() and count < MAX_BATCH_ARTICLES:
                batch.append(self._queue.get_nowait())
                count += len(batch[-1].articles)
            try:
                await loop.run_in_executor(self._thread, self._write, batch)
            except BusError as exc:
                self.state.release(article.id for item in batch for article in item.articles)
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            except Exception as exc:  # never leave a poll task waiting forever
                logger.exception("publishing a batch of %d feeds failed", len(batch))
                self.state.release(article.id for item in batch for article in item.articles)
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(BusError(f"publishing failed: {exc}"))
                continue
            for item in batch:
                if not item.done.done():
                    item.done.set_result(None)

    def _write(self, batch: list[Publication]) -> None:
        producer = self._producer
        if producer is None:
            raise BusError("the ingest producer is closed")
        articles = [article for item in batch for article in item.articles]
        refused = 0
        # Encoded before the first send, so the sends follow each other closely: with encoding between them the
        # batch trickles out, and kafka-python's sender, waking every linger, ships it as many small requests.
        encoded = [(article, encode_raw(article)) for article in articles]
        if articles:
            self.state.record_pending((known for item in batch for known in item.known), int(time.time() * 1000))
        for article, value in encoded:
            try:
                producer.send(self.topic_raw, article.id.encode("ascii"), value)
            except MessageTooLarge as exc:
                refused += 1
                # Too large for the bus every time it is sent: counted and logged, and remembered as seen (below)
                # so that it does not hold up every later batch of its feed.
                self.too_large += 1
                logger.warning("article %s of feed %s not published: %s", article.id, article.feed_url, exc)
        if articles:
            producer.flush()
            self.flushes += 1
            self.state.record_published(known for item in batch for known in item.known)
            self.state.release(article.id for article in articles)
            self.published += len(articles) - refused
        feeds = [item.feed for item in batch if item.feed is not None]
        records = [record for item in batch for record in item.feed_records]
        for feed in feeds:
            producer.send(self.topic_feeds, feed.key.encode("ascii"), feed.to_json())
        for key, value in records:
            producer.send(self.topic_feeds, key, value)
        if feeds or records:
            producer.flush()
            self.flushes += 1
            self.state.save_feeds(feeds)
