"""The poller: keeps its share of the feeds topic, polls what is due, publishes new articles once.

:func:`run_ingest` is the whole stage (``newswire ingest`` and the one-process pipeline both call it). It seeds the
feeds topic with the feeds of ``settings.feeds``, joins the pollers' consumer group, and from then on polls the
feeds of its partitions when they are due, many at once, one slow or hostile feed never holding up the others.
With ``once`` it waits until it has read its feeds, polls each enabled one once, and returns.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from newswire.bus import Bus, Consumer, Record, pipeline_topics
from newswire.errors import BusError
from newswire.ingest.base import Feed
from newswire.ingest.directory import ADD, FeedDirectory, command_record, group_for
from newswire.ingest.fetch import Fetcher
from newswire.ingest.opml import read_feed_list
from newswire.ingest.poll import FeedPoll
from newswire.ingest.publish import Publisher
from newswire.ingest.state import StateFile
from newswire.ingest.websub import SubscriptionStore
from newswire.ingest.websub_agent import WebSubAgent
from newswire.settings import Settings

logger = logging.getLogger(__name__)

DIRECTORY_POLL_SECONDS = 0.3
ONCE_IDLE_SECONDS = 2.0
ONCE_MAX_WAIT_SECONDS = 60.0
REPORT_EVERY_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


def run_ingest(
    settings: Settings, bus: Bus, stop: threading.Event, *, once: bool = False, counters: Counter[str] | None = None
) -> None:
    """Poll the feeds until ``stop`` is set (or, with ``once``, poll each feed once), publishing to ``news.raw``;
    what the poller does is counted in ``counters`` when given (the service's metrics read them)."""
    bus.ensure_topics(pipeline_topics(settings))
    state = StateFile.in_dir(settings.data_dir)
    try:
        poller = Poller(settings, bus, state)
        if counters is not None:
            poller.counters = counters
        asyncio.run(poller.run(stop, once=once))
    finally:
        state.close()


class Poller:
    """One member of the pollers' group: see the module docstring."""

    def __init__(self, settings: Settings, bus: Bus, state: StateFile, *, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self.bus = bus
        self.state = state
        self.poller_id = uuid.uuid4().hex[:12]
        self.directory = FeedDirectory(settings.topic_feeds, cache=state)
        self.counters: Counter[str] = Counter()
        self._fetcher = fetcher
        self._consumer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-feeds")
        self._select_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-select")
        self._consumer: Consumer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.cycle_seconds: float | None = None  # with `once`: from the first poll to the last publication
        self.websub: WebSubAgent | None = None  # with settings.websub, when not polling once

    async def run(self, stop: threading.Event, *, once: bool = False) -> None:
        loop = asyncio.get_running_loop()
        fetcher = self._fetcher or Fetcher(self.settings)
        publisher = Publisher(
            self.bus, self.state, topic_raw=self.settings.topic_raw, topic_feeds=self.settings.topic_feeds
        )
        try:
            self._consumer = await loop.run_in_executor(
                self._consumer_thread,
                lambda: self.bus.consumer([self.settings.topic_feeds], group_for(self.settings.topic_feeds)),
            )
            await publisher.start()
            seeded = await self._seed(publisher)
            poll = FeedPoll(self.settings, fetcher, self.state, self._select_pool)
            if once:
                await self._run_once(stop, poll, publisher, seeded)
            else:
                if self.settings.websub:
                    self.websub = WebSubAgent(
                        self.settings,
                        SubscriptionStore(self.state.path),
                        directory=self.directory,
                        poll=poll,
                        publisher=publisher,
                        counters=self.counters,
                    )
                    await self.websub.start()
                await self._run_forever(stop, poll, publisher)
        finally:
            await self._finish_tasks()
            if self.websub is not None:
                await self.websub.close()  # after the polls, which may still ask it to subscribe
            await publisher.close()
            await fetcher.aclose()
            consumer, self._consumer = self._consumer, None
            if consumer is not None:
                await loop.run_in_executor(self._consumer_thread, consumer.close)
            self._consumer_thread.shutdown(wait=True)
            self._select_pool.shutdown(wait=True)
            self.report()

    async def _seed(self, publisher: Publisher) -> set[str]:
        """Write an ``add`` record for every feed of ``settings.feeds``; their keys."""
        configs = read_feed_list(self.settings.feeds)
        if not configs:
            return set()
        issued = time.time()
        records = [command_record(config, ADD, issued=issued) for config in configs]
        await publisher.publish_feed_records(records)
        logger.info("seeded %d feeds from %s into %s", len(records), self.settings.feeds, self.settings.topic_feeds)
        return {key.decode("ascii") for key, _value in records}

    async def _read_directory(self, timeout: float) -> int:
        """Read feed records (waiting up to ``timeout``) into the directory; the number read."""
        consumer = self._consumer
        if consumer is None:
            return 0

        def read() -> tuple[list[Record], frozenset[tuple[str, int]] | None]:
            records = consumer.poll(500, timeout)
            return records, consumer.assignment()

        try:
            records, assignment = await asyncio.get_running_loop().run_in_executor(self._consumer_thread, read)
        except BusError as exc:
            logger.warning("reading feeds topic %s: %s", self.settings.topic_feeds, exc)
            await asyncio.sleep(timeout)
            return 0
        self.directory.apply(records, assignment)
        return len(records)

    async def _run_once(self, stop: threading.Event, poll: FeedPoll, publisher: Publisher, seeded: set[str]) -> None:
        started = time.monotonic()
        last_record = started
        while not stop.is_set() and time.monotonic() - started < ONCE_MAX_WAIT_SECONDS:
            if await self._read_directory(DIRECTORY_POLL_SECONDS):
                last_record = time.monotonic()
            elif self.directory.has_all(seeded) and time.monotonic() - last_record >= ONCE_IDLE_SECONDS:
                break
        self.directory.take_changed()  # written back with each feed's poll below
        cycle_started = time.monotonic()
        for feed in self.directory.enabled():
            self._start(feed, poll, publisher)
        while self._tasks and not stop.is_set():
            await asyncio.wait(self._tasks, timeout=0.5)
        self.cycle_seconds = time.monotonic() - cycle_started

    async def _run_forever(self, stop: threading.Event, poll: FeedPoll, publisher: Publisher) -> None:
        last_report = time.monotonic()
        while not stop.is_set():
            await self._read_directory(DIRECTORY_POLL_SECONDS)
            changed = self.directory.take_changed()
            if changed:
                await self._write_back(changed, publisher)
            for feed in self.directory.due(time.time()):
                self._start(feed, poll, publisher)
            if time.monotonic() - last_report >= REPORT_EVERY_SECONDS:
                self.report()
                last_report = time.monotonic()
            next_due = self.directory.next_due()
            if next_due is not None and next_due > time.time():
                # The directory read above already waited a little; no need to spin when nothing is due.
                await asyncio.sleep(min(0.2, max(0.0, next_due - time.time())))

    async def _write_back(self, feeds: list[Feed], publisher: Publisher) -> None:
        try:
            await publisher.publish_feed_records([(f.key.encode("ascii"), f.to_json()) for f in feeds])
        except BusError as exc:
            logger.warning("writing %d feeds back to %s: %s", len(feeds), self.settings.topic_feeds, exc)

    def _start(self, feed: Feed, poll: FeedPoll, publisher: Publisher) -> None:
        self.directory.busy.add(feed.key)
        task = asyncio.create_task(self._poll_and_publish(feed, poll, publisher), name=f"poll {feed.fetch_url}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll_and_publish(self, feed: Feed, poll: FeedPoll, publisher: Publisher) -> None:
        key = feed.key
        try:
            result = await poll.poll(feed)
            if self.websub is not None:
                self.websub.after_poll(result)  # may subscribe, and slows the next poll while subscribed
            self.counters["polls"] += 1
            self.counters["parsed"] += result.parsed
            if result.feed.state.last_error:
                self.counters["feed_errors"] += 1
            try:
                await publisher.publish(result.feed, result.articles, result.known)
            except BusError as exc:
                self.counters["publish_failures"] += 1
                logger.warning(
                    "feed %s: publishing %d articles failed, will poll again: %s",
                    feed.fetch_url,
                    len(result.articles),
                    exc,
                )
                retry = feed.model_copy(deep=True)
                retry.state.next_poll = time.time() + min(60.0, self.settings.min_poll_interval)
                self._replace(key, retry)
                return
            self.counters["published"] += len(result.articles)
            self.counters["revised"] += sum(1 for article in result.articles if article.revision > 1)
            self._replace(key, result.feed)
            logger.debug("feed %s: %s", feed.fetch_url, result.status)
        except Exception:
            self.counters["poll_crashes"] += 1
            logger.exception("feed %s: poll failed unexpectedly", feed.fetch_url)
            retry = feed.model_copy(deep=True)
            retry.state.next_poll = time.time() + self.settings.min_poll_interval
            self._replace(key, retry)
        finally:
            self.directory.release(key)

    def _replace(self, key: str, feed: Feed) -> None:
        if key in self.directory.feeds:
            self.directory.feeds[key] = feed

    async def _finish_tasks(self) -> None:
        """Let the polls in hand finish for a moment, then cancel the rest: an unpublished poll is simply redone."""
        if not self._tasks:
            return
        grace = min(STOP_GRACE_SECONDS, self.settings.fetch_timeout)
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    def report(self) -> None:
        counts = ", ".join(f"{name}={value}" for name, value in sorted(self.counters.items())) or "idle"
        logger.info("ingest %s: %d feeds owned; %s", self.poller_id, len(self.directory.feeds), counts)
