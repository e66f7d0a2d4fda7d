"""Optional full text: fetch each new article's page (same rules as feeds) and extract its main text.

Only for feeds configured with ``full_text``; needs the optional ``trafilatura`` package
(``pip install 'newswire[fulltext]'``). Extraction runs in the parser processes. When the page cannot be fetched or
nothing can be extracted, the article keeps what the feed gave.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from newswire.contract import Article
from newswire.ingest.fetch import PAGE_ACCEPT, Fetcher
from newswire.ingest.parsepool import extract_in_worker

logger = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5 * 1024 * 1024
MIN_TEXT_CHARS = 200  # shorter "main text" is a cookie banner or a paywall notice, not the article


@cache
def available() -> bool:
    try:
        import trafilatura  # noqa: F401, PLC0415
    except ImportError:
        logger.warning("full text is configured but trafilatura is not installed: pip install 'newswire[fulltext]'")
        return False
    return True


async def with_full_text(fetcher: Fetcher, articles: list[Article], *, max_bytes: int) -> list[Article]:
    """``articles`` with ``content`` replaced by the page's main text where that could be had."""
    if not articles or not available():
        return articles
    return list(await asyncio.gather(*(_one(fetcher, article, min(max_bytes, MAX_PAGE_BYTES)) for article in articles)))


async def _one(fetcher: Fetcher, article: Article, max_bytes: int) -> Article:
    if not article.url:
        return article
    result = await fetcher.fetch(article.url, accept=PAGE_ACCEPT, max_bytes=max_bytes)
    if result.failure is not None or not result.body:
        reason = result.failure.reason if result.failure else "empty page"
        logger.info("full text of %s (feed %s): kept the feed's text: %s", article.url, article.feed_url, reason)
        return article
    text = await extract_in_worker(result.body, result.final_url)
    if not text or len(text) < MIN_TEXT_CHARS:
        logger.info("full text of %s (feed %s): nothing extracted, kept the feed's text", article.url, article.feed_url)
        return article
    return article.model_copy(update={"content": text})
