"""One poll of one feed: fetch, parse, pick the news, and the feed's next state. Publishing is the caller's.

The outcome of every poll is recorded on the feed (status, error with reason, counts, next poll time):

- 200: parsed unless the body is byte-for-byte the last one (its hash is kept); validators and hints kept.
- 304: nothing parsed.
- 301/308 (a chain of only permanent redirects): the feed's fetch URL moves to the target.
- timeout, connection error, 5xx: exponential back-off with jitter.
- 429, ``Retry-After``, a 403 after a burst: the host is paused (:mod:`newswire.ingest.politeness`); the feed is
  polled again when the pause ends, and the throttle is counted, not as an error of the feed. A feed whose host is
  in a long pause is not fetched at all, only rescheduled.
- 410: disabled at once; 404, parse failures and refusals: disabled after ``DISABLE_AFTER`` in a row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newswire.contract import Article
from newswire.errors import FeedError
from newswire.ingest.base import FailureKind, Feed, FeedState, FetchFailure
from newswire.ingest.dedupe import Candidate, identify, remember, select_news
from newswire.ingest.fetch import Fetcher
from newswire.ingest.fulltext import with_full_text
from newswire.ingest.parse import ParsedFeed, to_article
from newswire.ingest.parsepool import parse_in_worker
from newswire.ingest.schedule import after_success, after_temporary_failure, jittered
from newswire.ingest.state import KnownArticle, StateFile
from newswire.settings import Settings

logger = logging.getLogger(__name__)

DISABLE_AFTER = 5
FETCH_MEMORY_SECONDS = 3600  # `recent_fetches` covers the last hour ...
FETCH_MEMORY_MAX = 120  # ... up to this many starts (enough for a poll every 30 s)
RETURN_SPREAD = 0.1  # feeds of a paused host come back over this fraction of the pause after it


@dataclass(slots=True)
class PollResult:
    """The feed after the poll (``seq`` bumped), with the articles to publish and what to record for them."""

    feed: Feed
    articles: list[Article] = field(default_factory=list)
    known: list[KnownArticle] = field(default_factory=list)
    status: str = ""
    parsed: bool = False
    links: list[tuple[str, str]] = field(default_factory=list)  # the parsed feed's hub and self links
    link_header: str | None = None  # the response's Link header (WebSub discovery)


def _hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


class FeedPoll:
    """Polls feeds with a shared fetcher; parses in worker processes, looks articles up on ``select_pool``."""

    def __init__(self, settings: Settings, fetcher: Fetcher, state: StateFile, select_pool: Executor) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.state = state
        self.select_pool = select_pool

    async def poll(self, feed: Feed) -> PollResult:
        """Poll ``feed`` once; never raises for what the feed or its server does."""
        settings = self.settings
        state = feed.state.model_copy(deep=True)
        use_validators = not feed.config.ignore_validators
        result = await self.fetcher.fetch(
            feed.fetch_url,
            etag=state.etag if use_validators else None,
            last_modified=state.last_modified if use_validators else None,
        )
        if result.started is None:  # nothing went out: the host is paused
            return self._deferred(feed, state, result.failure)
        started = result.started  # after the wait for the host's budget, which the schedule does not count
        state.last_fetch = started
        state.polls_total += 1
        hour_ago = started - FETCH_MEMORY_SECONDS
        kept = [moment for moment in state.recent_fetches[-FETCH_MEMORY_MAX + 1 :] if moment > hour_ago]
        state.recent_fetches = [*kept, int(started)]
        if result.moved_to and result.moved_to != feed.fetch_url:
            logger.info("feed %s moved permanently to %s", feed.fetch_url, result.moved_to)
            state.current_url = result.moved_to
        outcome = PollResult(Feed(config=feed.config, state=state, seq=feed.seq + 1))
        if result.failure is not None:
            self._failed(feed, state, result.failure)
            outcome.status = state.last_status
            return outcome
        cache_control = result.header("cache-control")
        outcome.link_header = result.header("link")
        # Kept only once the body was read: a feed that failed to parse must be fetched in full next time.
        etag = result.header("etag") or (state.etag if result.not_modified else None)
        last_modified = result.header("last-modified") or (state.last_modified if result.not_modified else None)
        new_items = 0
        publisher_interval = state.hint_min_interval
        body_hash = _hash(result.body) if not result.not_modified else None
        if result.not_modified:
            state.last_status = "304 not modified"
        elif body_hash == state.body_hash:  # our own validator, even for feeds whose ETags lie
            state.last_status = "200 unchanged"
        else:
            fetched = datetime.fromtimestamp(started, UTC)
            try:
                parsed, articles, known = await self.read_body(
                    feed, state, result.body, result.header("content-type"), fetched
                )
            except FeedError as exc:
                state.etag = state.last_modified = None
                self._failed(feed, state, FetchFailure(FailureKind.PARSE, str(exc)))
                outcome.status = state.last_status
                return outcome
            outcome.parsed = True
            outcome.links = parsed.links
            state.last_warning = f"malformed, read anyway: {parsed.warning}"[:500] if parsed.warning else None
            state.body_hash = body_hash
            state.source_title = parsed.title or state.source_title
            state.hint_min_interval = publisher_interval = parsed.min_interval
            new_items = len(articles)
            outcome.articles, outcome.known = articles, known
            over = f", {parsed.truncated} over the limit" if parsed.truncated else ""
            state.last_status = f"200 {new_items} new{over}"
        if use_validators:
            state.etag, state.last_modified = etag, last_modified
        state.last_error = None
        state.temporary_failures = state.permanent_failures = 0
        state.new_items_last = new_items
        state.new_items_total += new_items
        state.recent_new = [*state.recent_new[-9:], new_items]
        interval = after_success(
            state, settings, new_items=new_items, publisher_interval=publisher_interval, cache_control=cache_control
        )
        state.interval = interval
        state.next_poll = started + jittered(interval)
        outcome.status = state.last_status
        return outcome

    async def read_body(
        self, feed: Feed, state: FeedState, body: bytes, content_type: str | None, fetched: datetime
    ) -> tuple[ParsedFeed, list[Article], list[KnownArticle]]:
        """Parse a body of ``feed`` and pick its news, remembered in ``state`` (the caller's copy).

        Polled bodies and bodies a WebSub hub pushed both come through here, so both get the same limits and
        deduplication. :class:`FeedError` when the body is not a feed.
        """
        parsed = await parse_in_worker(
            body,
            url=feed.fetch_url,
            content_type=content_type,
            max_entries=self.settings.max_entries_per_feed,
            fetched=fetched,
        )
        articles, known = await asyncio.get_running_loop().run_in_executor(
            self.select_pool, self._select, feed, state, parsed, fetched
        )
        if feed.config.full_text:
            articles = await with_full_text(self.fetcher, articles, max_bytes=self.settings.max_body_bytes)
        return parsed, articles, known

    def _select(
        self, feed: Feed, state: FeedState, parsed: ParsedFeed, fetched: datetime
    ) -> tuple[list[Article], list[KnownArticle]]:
        """Pick the news and build its articles (runs on a thread; touches only its own copy of the state)."""
        if parsed.warning:
            logger.debug("feed %s: parsed with a warning: %s", feed.fetch_url, parsed.warning)
        feed_url = feed.config.url
        dropped: Counter[str] = Counter()
        identified = identify(parsed.entries, feed_url, dropped)
        state.dropped_last = dict(dropped)
        for reason, count in dropped.items():
            state.dropped_total[reason] = state.dropped_total.get(reason, 0) + count
        if dropped:
            logger.info("feed %s: entries not published: %s", feed.fetch_url, dict(dropped))
        known = self.state.known(identity for _entry, identity, _digest in identified)
        news: list[Candidate] = select_news(identified, feed_url=feed_url, seen=state.seen, known=known)
        granted = self.state.claim((candidate.id for candidate in news), feed_url)
        news = [candidate for candidate in news if candidate.id in granted]
        state.seen = remember(
            state.seen,
            identified,
            news,
            feed_url=feed_url,
            known=known,
            limit=2 * self.settings.max_entries_per_feed,
        )
        source = feed.config.title or parsed.title or feed_url
        articles: list[Article] = []
        records: list[KnownArticle] = []
        for candidate in news:
            article = to_article(
                candidate.entry,
                feed_url=feed_url,
                source=source,
                language=parsed.language,
                fetched=fetched,
                revision=candidate.revision,
            )
            if article is not None:
                if candidate.revision > 1:
                    article = article.model_copy(update={"revised": candidate.revised(article.title, fetched)})
                articles.append(article)
                records.append(candidate.known(feed_url, article.title, fetched))
                state.untitled_total += not candidate.entry.title
        return articles, records

    def _deferred(self, feed: Feed, state: FeedState, failure: FetchFailure | None) -> PollResult:
        pause = failure.retry_after if failure and failure.retry_after else self.settings.min_poll_interval
        now = time.time()
        state.throttled_until = now + pause
        state.next_poll = now + pause * (1 + random.uniform(0, RETURN_SPREAD))
        state.last_status = f"waiting: {failure.reason if failure else 'host paused'}"
        return PollResult(Feed(config=feed.config, state=state, seq=feed.seq + 1), status=state.last_status)

    def _throttled(self, feed: Feed, state: FeedState, failure: FetchFailure) -> None:
        now = time.time()
        pause = failure.retry_after or self.settings.min_poll_interval
        state.throttles_total += 1
        state.last_throttle = failure.reason
        state.throttled_until = now + pause
        state.new_items_last = 0
        state.last_status = f"throttled: {failure.reason}; again in {pause:.0f}s"
        state.next_poll = now + pause * (1 + random.uniform(0, RETURN_SPREAD))
        logger.warning("feed %s: %s; host paused for %.0fs", feed.fetch_url, failure.reason, pause)

    def _failed(self, feed: Feed, state: FeedState, failure: FetchFailure) -> None:
        if failure.kind is FailureKind.THROTTLED:
            self._throttled(feed, state, failure)
            return
        settings = self.settings
        now = time.time()
        state.errors_total += 1
        state.last_error = failure.reason
        state.new_items_last = 0
        if failure.kind is FailureKind.TEMPORARY:
            state.temporary_failures += 1
            delay = after_temporary_failure(state, settings, failure.retry_after)
            state.last_status = f"error ({failure.kind}): {failure.reason}"
            logger.warning("feed %s: %s; retrying in %.0fs", feed.fetch_url, failure.reason, delay)
        else:
            state.permanent_failures += 1
            state.last_status = f"error ({failure.kind}): {failure.reason}"
            if failure.kind is FailureKind.GONE or state.permanent_failures >= DISABLE_AFTER:
                state.disabled = True
                state.disabled_reason = (
                    failure.reason
                    if failure.kind is FailureKind.GONE
                    else f"{state.permanent_failures} failures in a row, the last: {failure.reason}"
                )
                state.last_status = f"disabled: {state.disabled_reason}"
                logger.warning("feed %s: disabled: %s", feed.fetch_url, state.disabled_reason)
            else:
                logger.warning("feed %s: %s (%d in a row)", feed.fetch_url, failure.reason, state.permanent_failures)
            delay = after_temporary_failure(
                state.model_copy(update={"temporary_failures": state.permanent_failures}), settings, None
            )
        state.next_poll = now + delay
