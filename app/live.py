"""``GET /api/live``: newly indexed articles that match a search, as Server-Sent Events.

Each matching article the store indexes after the stream starts is one event::

    id: <position>            (opaque; send it back as Last-Event-ID to resume after this article)
    event: article
    data: <the hit, the same JSON object as an element of /api/search's "hits">

A ``: keep-alive`` comment goes out every 15 s without articles, so proxies keep the connection open. While the store
is unavailable the stream sends one ``event: unavailable`` and goes on asking; articles indexed meanwhile come when it
is back. A stream ends after ``seconds`` (300 by default, at most 3600); browsers' ``EventSource`` then reconnects with
``Last-Event-ID`` by itself (``retry: 2000`` asks it to wait 2 s), and nothing indexed in between is missed (see
:mod:`newswire.live` for the one case that is not exact). At most :data:`MAX_STREAMS` streams are open at once; one
more gets a 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from newswire.errors import SearchUnavailable
from newswire.live import LiveFeed
from newswire.views import hit_as_json

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_SECONDS", "MAX_SECONDS", "MAX_STREAMS", "LiveStreams"]

DEFAULT_SECONDS = 300
MAX_SECONDS = 3600
MAX_STREAMS = 64
KEEP_ALIVE_SECONDS = 15.0
POLL_SECONDS = 0.5  # how often a stream asks the store; a new article reaches the client within this and a refresh
RETRY_MS = 2000
UNAVAILABLE = "the search store is unavailable; the stream goes on when it is back"


class LiveStreams:
    """The live streams of one server: opens each as a :class:`StreamingResponse`, at most ``limit`` at once."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0

    def response(
        self, request: Request, feed: LiveFeed, query_tokens: set[str], entity_filter: set[str], seconds: int
    ) -> Response:
        if self.open >= self.limit:
            logger.warning("refused a live stream: %d are open, the limit", self.open)
            return JSONResponse({"error": f"{self.limit} live streams are open; try again later"}, status_code=503)
        self.open += 1
        headers = {"X-Accel-Buffering": "no"}  # nginx and the like pass each event on at once
        events = self._events(request, feed, query_tokens, entity_filter, seconds)
        return StreamingResponse(events, media_type="text/event-stream; charset=utf-8", headers=headers)

    async def _events(
        self, request: Request, feed: LiveFeed, query_tokens: set[str], entity_filter: set[str], seconds: int
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        quiet_since = loop.time()
        unavailable = False
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while loop.time() < deadline and not await request.is_disconnected():
                try:
                    found = await run_in_threadpool(feed.poll)
                except SearchUnavailable as exc:
                    if not unavailable:
                        logger.warning("live stream: %s", exc)
                        yield f"event: unavailable\ndata: {json.dumps({'error': UNAVAILABLE})}\n\n"
                    unavailable, found = True, []
                else:
                    unavailable = False
                for position, hit in found:
                    data = json.dumps(hit_as_json(hit, query_tokens, entity_filter), ensure_ascii=False)
                    yield f"id: {position.encode()}\nevent: article\ndata: {data}\n\n"
                if found:
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= KEEP_ALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet_since = loop.time()
                await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - loop.time())))
        finally:
            self.open -= 1
