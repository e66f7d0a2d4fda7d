"""Feed parsing in worker processes: the CPU work leaves the poller's process (and its GIL and memory).

Parsing is most of the work of a poll, so the poller parses in a small pool of processes (started with ``spawn``,
never ``fork``, since the poller runs threads). A worker that dies (a parser bug, the kernel's OOM killer) fails
only the feeds it had in hand, with a recorded reason, and the pool is started again. One pool per process, shared
by every poller in it, shut down at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from newswire.errors import FeedError
from newswire.ingest.parse import ParsedFeed, parse_feed

logger = logging.getLogger(__name__)

MAX_WORKERS = 4
ORPHAN_CHECK_SECONDS = 1.0

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _get_pool() -> ProcessPoolExecutor:
    global _pool  # noqa: PLW0603 - one pool per process
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=workers(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def _exit_with_parent(parent: int) -> None:
    """In a worker: leave as soon as the poller that started it is gone.

    A poller killed outright (SIGKILL, the OOM killer) cannot stop its pool, and its idle workers would wait on their
    queue for ever; each one checks once a second that its parent is still the process that started it.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool  # noqa: PLW0603
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown() -> None:
    """Stop the worker processes (also run at exit)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def parse_in_worker(
    body: bytes, *, url: str, content_type: str | None, max_entries: int, fetched: datetime
) -> ParsedFeed:
    """:func:`newswire.ingest.parse.parse_feed` in a worker process; :class:`FeedError` as it raises it."""
    pool = _get_pool()
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, _parse, body, url, content_type, max_entries, fetched)
    except BrokenProcessPool as exc:
        logger.warning("feed %s: a parser process died; starting new ones", url)
        _discard(pool)
        raise FeedError("the parser process died on this feed") from exc


async def extract_in_worker(page: bytes, url: str) -> str | None:
    """The main text of an HTML page by trafilatura, in a worker process; ``None`` when it finds none."""
    pool = _get_pool()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _extract, page, url)
    except BrokenProcessPool:
        logger.warning("page %s: a parser process died; starting new ones", url)
        _discard(pool)
        return None


def _extract(page: bytes, url: str) -> str | None:
    import trafilatura  # noqa: PLC0415 - optional dependency, present when full text is configured

    try:
        text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False, favor_precision=True)
    except Exception:  # trafilatura on hostile HTML: keep the feed's text
        logger.exception("extracting %s failed", url)
        return None
    return str(text) if text else None


def _parse(body: bytes, url: str, content_type: str | None, max_entries: int, fetched: datetime) -> ParsedFeed:
    return parse_feed(body, url=url, content_type=content_type, max_entries=max_entries, fetched=fetched)
