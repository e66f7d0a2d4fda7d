"""Newly indexed articles that match a search, in the order the store indexed them: what the live stream sends.

A :class:`LiveFeed` follows one search from a :class:`~newswire.search.LivePosition` on: each :meth:`LiveFeed.poll`
returns the matching articles indexed since the last one, each once. Where writes become visible in the order of
their positions (the embedded store), asking for what comes after the last article sent is exact. Where they become
visible a little later than their position was taken (Elasticsearch stamps a write's time before the request and
shows it after the next refresh, so two indexers, or one slow bulk request, can show an older position after a newer
one), the feed asks again from :attr:`~newswire.search.SearchStore.live_lookback` before the newest position it
sent and leaves out the articles it sent already: nothing visible late within the look-back is missed.

What is not exact: a client that reconnects with the position of the last event it saw (``Last-Event-ID``) gets
everything after that position, so an article that became visible late, after the client went away, at a position
before it, is not sent (only Elasticsearch, only within the look-back of the moment of the reconnect).
"""

from __future__ import annotations

import logging

from newswire.search import LivePosition, SearchHit, SearchQuery, SearchStore

logger = logging.getLogger(__name__)

__all__ = ["PAGE", "LiveFeed"]

PAGE = 200  # articles read from the store per request; a poll reads pages until it has caught up or has `limit`


class LiveFeed:
    """One live search over ``store`` from ``after`` (the store's newest position when None)."""

    def __init__(self, store: SearchStore, query: SearchQuery, after: LivePosition | None = None) -> None:
        self.store = store
        self.query = query
        self.position = after if after is not None else store.live_position()
        self._resumed_at = self.position
        self._sent: dict[LivePosition, None] = {}  # positions sent within the look-back, oldest first

    def poll(self, limit: int = 500) -> list[tuple[LivePosition, SearchHit]]:
        """The matching articles indexed since the last poll (at most ``limit``), oldest position first, each with
        the position to resume from after it (its own, or a later one already sent: resuming from it never sends
        again what was sent before it)."""
        lookback = self.store.live_lookback
        start = LivePosition(max(0, self.position.mark - lookback)) if lookback else self.position
        found: list[tuple[LivePosition, SearchHit]] = []
        while len(found) < limit:
            page = self.store.indexed_after(self.query, start, PAGE)
            for position, hit in page:
                if position <= self._resumed_at or position in self._sent:
                    continue
                found.append((position, hit))
                if len(found) == limit:
                    break
            if len(page) < PAGE or len(found) == limit:
                break
            start = page[-1][0]
        found.sort(key=lambda item: item[0])
        resumable: list[tuple[LivePosition, SearchHit]] = []
        for position, hit in found:
            self._sent[position] = None
            self.position = max(self.position, position)
            resumable.append((self.position, hit))
        if lookback:
            horizon = self.position.mark - lookback
            for position in [p for p in self._sent if p.mark < horizon]:
                del self._sent[position]
        else:
            self._sent.clear()
        return resumable
