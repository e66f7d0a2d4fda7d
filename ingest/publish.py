"""Publishing with group commit: articles, then the bus's acknowledgement, then the state file, then feed records.

Poll tasks hand their articles and updated feed to :class:`Publisher` and wait. The publisher takes everything that
is waiting, sends the articles, flushes (the acknowledgement), records them in the state file, then writes the feed
records back to the feeds topic and flushes again. A crash between the steps re-publishes at most the articles
of one batch (recorded nowhere yet), never loses one: a feed's state, which lists what it published, reaches the
feeds topic only after its articles were acknowledged. All producer calls run on one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from newswire.bus import Bus, Producer
from newswire.contract import Article, encode_raw
from newswire.errors import BusError, MessageTooLarge
from newswire.ingest.base import Feed
from newswire.ingest.state import KnownArticle, StateFile

logger = logging.getLogger(__name__)

MAX_BATCH_ARTICLES = 5000


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

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._producer = await loop.run_in_executor(self._thread, self.bus.producer)
        self._task = asyncio.create_task(self._run(), name="ingest-publisher")

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
