"""The WebSub subscriber of one poller: subscribe, renew, fall back to polling, read what hubs push.

- After every poll (:meth:`WebSubAgent.after_poll`) the feed's hubs and topic are looked for in the parsed feed and
  the response's ``Link`` header; a feed with a hub and no subscription to it gets one (``hub.mode=subscribe`` with a
  callback URL and a secret of its own, the lease ``websub_lease_seconds``).
- A verified subscription within its lease turns the feed's polling down to ``websub_poll_interval`` (a safety net).
  It is renewed at 80% of the lease the hub granted.
- The feed goes back to its polling schedule (polled at once) when the hub denies the subscription, does not verify
  it within ``websub_verify_timeout``, lets the lease run out without verifying a renewal, or has pushed nothing for
  ``websub_quiet_seconds`` while polls still find new entries. A failed subscription is tried again later (an hour,
  doubling up to a day), with a new callback URL and secret.
- A push with a valid signature is parsed, deduplicated and published exactly as a polled body is
  (:meth:`FeedPoll.read_body`, :meth:`Publisher.publish`), never at the same time as a poll of the same feed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime

import httpcore

from newswire.errors import BusError, FeedError
from newswire.ingest.base import Feed
from newswire.ingest.directory import FeedDirectory
from newswire.ingest.poll import FeedPoll, PollResult
from newswire.ingest.publish import Publisher
from newswire.ingest.schedule import jittered
from newswire.ingest.websub import Subscription, SubscriptionState, SubscriptionStore, discover
from newswire.ingest.websub_callback import CallbackServer
from newswire.ingest.websub_hub import HubClient
from newswire.settings import Settings

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5  # how often leases, renewals and verification timeouts are looked at
RETRY_FIRST_SECONDS = 3600.0
RETRY_MAX_SECONDS = 86400.0
BUSY_WAIT_SECONDS = 0.05


class WebSubAgent:
    """Subscriptions of the feeds one poller owns, and the callback endpoint their hubs call."""

    def __init__(
        self,
        settings: Settings,
        store: SubscriptionStore,
        *,
        directory: FeedDirectory,
        poll: FeedPoll,
        publisher: Publisher,
        counters: Counter[str],
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.directory = directory
        self.poll = poll
        self.publisher = publisher
        self.counters = counters
        callback = settings.websub_callback
        assert callback is not None  # the settings refuse websub without it
        self.callback_base = callback
        self.server = CallbackServer(
            self,
            host=settings.websub_listen_host,
            port=settings.websub_listen_port,
            max_body_bytes=settings.max_body_bytes,
            read_timeout=settings.fetch_timeout,
        )
        self._hubs = HubClient(
            timeout=settings.fetch_timeout,
            user_agent=settings.user_agent,
            allow_private=settings.allow_private_addresses,
            network_backend=network_backend,
        )
        self._requesting: set[str] = set()  # feed keys with a subscription request in flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._ticker = asyncio.create_task(self._tick_forever(), name="websub-leases")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        tasks = {*self._tasks, *([self._ticker] if self._ticker else [])}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        await self.server.close()
        await self._hubs.aclose()
        self.store.close()

    # --- after each poll ---------------------------------------------------------------------------------------
    def after_poll(self, result: PollResult) -> None:
        """Subscribe to a hub the poll found, notice a quiet hub, and slow the feed's next poll while subscribed."""
        feed = result.feed
        key = feed.key
        now = time.time()
        current = self.store.by_feed.get(key)
        if result.parsed or result.link_header:
            found = discover(result.links, result.link_header, feed.fetch_url)
            if found.hubs:
                topic = found.topic or feed.fetch_url
                dropped = current is not None and current.state is SubscriptionState.FAILED and not current.retry_at
                if current is None or dropped or current.hub not in found.hubs or current.topic != topic:
                    current = Subscription(feed_key=key, feed_url=feed.config.url, hub=found.hubs[0], topic=topic)
                    self._request(current)
            elif result.parsed and current is not None and current.state is not SubscriptionState.FAILED:
                self._fail(current, "the feed names no hub any more", retry=False)
        if current is None or not current.active:
            return
        if result.articles and now - max(current.last_push or 0.0, current.verified or 0.0) > (
            self.settings.websub_quiet_seconds
        ):
            self._fail(current, f"hub quiet: no push for {self.settings.websub_quiet_seconds:.0f}s, polls find news")
            return
        state = feed.state
        slow = (state.last_fetch or now) + jittered(self.settings.websub_poll_interval)
        state.next_poll = max(state.next_poll, slow)

    # --- subscribing -------------------------------------------------------------------------------------------
    def callback_url(self, subscription: Subscription) -> str:
        return f"{self.callback_base}/{subscription.callback_id}"

    def _request(self, subscription: Subscription) -> None:
        """Send a (re)subscription in the background."""
        if subscription.feed_key in self._requesting:
            return
        subscription.awaiting = True
        subscription.requested = time.time()
        self.store.save(subscription)
        self._requesting.add(subscription.feed_key)
        task = asyncio.create_task(self._subscribe(subscription), name=f"websub subscribe {subscription.feed_url}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscribe(self, subscription: Subscription) -> None:
        try:
            problem = await self._hubs.subscribe(
                subscription.hub,
                topic=subscription.topic,
                callback=self.callback_url(subscription),
                secret=subscription.secret,
                lease_seconds=self.settings.websub_lease_seconds,
            )
        finally:
            self._requesting.discard(subscription.feed_key)
        if problem is not None:
            self.counters["websub_request_failures"] += 1
            if subscription.active:  # a renewal: the lease still runs, asked again a little later
                subscription.awaiting = False
                subscription.last_error = problem
                subscription.retry_at = time.time() + self._renewal_pause()
                self.store.save(subscription)
                logger.warning(
                    "feed %s: renewing with hub %s failed: %s", subscription.feed_url, subscription.hub, problem
                )
            else:
                self._fail(subscription, f"subscribing failed: {problem}")
            return
        if not subscription.awaiting:
            return  # the hub verified before it answered
        logger.info(
            "feed %s: subscription asked of hub %s, waiting for its verification",
            subscription.feed_url,
            subscription.hub,
        )

    # --- the callback endpoint's questions (websub_callback.Subscriber) ------------------------------------------
    def subscription(self, callback_id: str) -> Subscription | None:
        return self.store.by_callback.get(callback_id)

    def verify(self, subscription: Subscription, lease_seconds: int | None) -> bool:
        """The hub verifies a (re)subscription: true when we asked for it and wait for it."""
        if not subscription.awaiting:
            return False
        now = time.time()
        lease = lease_seconds or self.settings.websub_lease_seconds
        renewal = subscription.state is SubscriptionState.VERIFIED
        subscription.state = SubscriptionState.VERIFIED
        subscription.awaiting = False
        subscription.verified = now
        subscription.lease_seconds = lease
        subscription.lease_end = now + lease
        subscription.failures = 0
        subscription.retry_at = subscription.last_error = None
        self.store.save(subscription)
        self.counters["websub_renewed" if renewal else "websub_verified"] += 1
        logger.info(
            "feed %s: hub %s verified the %s, lease %ds; polling every %.0fs meanwhile",
            subscription.feed_url,
            subscription.hub,
            "renewal" if renewal else "subscription",
            lease,
            self.settings.websub_poll_interval,
        )
        return True

    def denied(self, subscription: Subscription, reason: str) -> None:
        self._fail(subscription, f"hub denied the subscription: {reason}")

    def refused(self, subscription: Subscription, reason: str) -> None:
        """A push without a valid signature: counted and logged, its body never read."""
        subscription.refused += 1
        self.store.save(subscription)
        self.counters["websub_refused"] += 1
        logger.warning("feed %s: push refused (%s), %d so far", subscription.feed_url, reason, subscription.refused)

    def pushed(self, subscription: Subscription, body: bytes, content_type: str | None) -> bool:
        """A signed push: parsed and published in the background; false when the feed is not this poller's."""
        key = subscription.feed_key
        feed = self.directory.feeds.get(key)
        if feed is None or feed.state.disabled:
            # The hub is told to stop (410); should the feed come back here, its next poll subscribes afresh.
            self._fail(subscription, "a push for a feed this poller does not poll", retry=False)
            return False
        subscription.last_push = time.time()
        subscription.pushes += 1
        self.store.save(subscription)
        self.counters["websub_pushes"] += 1
        task = asyncio.create_task(self._read_push(key, body, content_type), name=f"websub push {feed.fetch_url}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _read_push(self, key: str, body: bytes, content_type: str | None) -> None:
        directory = self.directory
        while key in directory.busy:  # never beside a poll of the same feed: both would publish the news
            await asyncio.sleep(BUSY_WAIT_SECONDS)
        feed = directory.feeds.get(key)
        if feed is None:
            return
        directory.busy.add(key)
        try:
            state = feed.state.model_copy(deep=True)
            try:
                parsed, articles, known = await self.poll.read_body(feed, state, body, content_type, datetime.now(UTC))
            except FeedError as exc:
                self.counters["websub_unreadable"] += 1
                logger.warning("feed %s: pushed content not read: %s", feed.fetch_url, exc)
                return
            state.source_title = parsed.title or state.source_title
            state.new_items_last = len(articles)
            state.new_items_total += len(articles)
            state.last_status = f"pushed: {len(articles)} new"
            updated = Feed(config=feed.config, state=state, seq=feed.seq + 1)
            try:
                await self.publisher.publish(updated, articles, known)
            except BusError as exc:
                self.counters["publish_failures"] += 1
                logger.warning("feed %s: publishing %d pushed articles failed: %s", feed.fetch_url, len(articles), exc)
                feed.state.next_poll = time.time()  # the poll picks them up
                return
            self.counters["published"] += len(articles)
            self.counters["websub_published"] += len(articles)
            if key in directory.feeds:
                directory.feeds[key] = updated
            logger.debug("feed %s: pushed, %d new", feed.fetch_url, len(articles))
        finally:
            directory.release(key)

    # --- leases --------------------------------------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        while True:
            try:
                self.tick(time.time())
            except Exception:
                logger.exception("checking WebSub leases failed")
            await asyncio.sleep(TICK_SECONDS)

    def tick(self, now: float) -> None:
        """Time out verifications, renew leases, notice expired ones, retry failed subscriptions."""
        for subscription in list(self.store.by_feed.values()):
            if subscription.feed_key not in self.directory.feeds or subscription.feed_key in self._requesting:
                continue
            timeout = self.settings.websub_verify_timeout
            waited_too_long = subscription.awaiting and now - (subscription.requested or now) > timeout
            if subscription.state is SubscriptionState.VERIFIED and not subscription.active:
                self._fail(subscription, "the lease ended without a verified renewal")
            elif waited_too_long and subscription.state is SubscriptionState.VERIFIED:
                subscription.awaiting = False  # the renewal is asked again a little later
                subscription.last_error = f"hub did not verify the renewal within {timeout:g}s"
                subscription.retry_at = now + self._renewal_pause()
                self.store.save(subscription)
            elif waited_too_long:
                self._fail(subscription, f"hub did not verify within {timeout:g}s")
            elif subscription.state is SubscriptionState.VERIFIED and not subscription.awaiting:
                renew_at = subscription.renew_at
                if renew_at is not None and now >= max(renew_at, subscription.retry_at or 0.0):
                    self._request(subscription)
            elif subscription.state is SubscriptionState.FAILED and now >= (subscription.retry_at or float("inf")):
                fresh = Subscription(
                    feed_key=subscription.feed_key,
                    feed_url=subscription.feed_url,
                    hub=subscription.hub,
                    topic=subscription.topic,
                    failures=subscription.failures,
                )
                self._request(fresh)

    def _renewal_pause(self) -> float:
        return max(10.0, self.settings.websub_verify_timeout)

    def _fail(self, subscription: Subscription, reason: str, *, retry: bool = True) -> None:
        """The feed goes back to polling as usual (polled now); the subscription is tried again later."""
        now = time.time()
        subscription.state = SubscriptionState.FAILED
        subscription.awaiting = False
        subscription.failures += 1
        subscription.last_error = reason
        delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** min(subscription.failures - 1, 10))
        subscription.retry_at = now + delay if retry else None
        self.store.save(subscription)
        self.counters["websub_fallbacks"] += 1
        feed = self.directory.feeds.get(subscription.feed_key)
        if feed is not None and subscription.feed_key not in self.directory.busy:
            feed.state.next_poll = min(feed.state.next_poll, now)
        logger.warning(
            "feed %s: WebSub with hub %s off, polling as usual: %s", subscription.feed_url, subscription.hub, reason
        )
