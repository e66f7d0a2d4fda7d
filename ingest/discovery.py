"""Feed discovery: from a site address to its feeds, through ``<link rel="alternate">`` in the page's head.

The page is fetched under the same rules as a feed (public addresses only, bounded, timed out). A URL that is
already a feed is returned as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin

from newswire.errors import FeedError
from newswire.ingest.base import FeedConfig
from newswire.ingest.fetch import PAGE_ACCEPT, Fetcher
from newswire.ingest.parse import parse_feed

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"})
MAX_PAGE_BYTES = 2 * 1024 * 1024


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []  # (href, title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in FEED_TYPES and kind != "application/feed+json" and values.get("href"):
            self.links.append((values["href"], values.get("title") or None))


def alternate_links(html: str, base: str) -> list[FeedConfig]:
    """The RSS/Atom feeds a page announces, resolved against ``base``, in page order, without repeats."""
    parser = _AlternateLinks()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass
    found: dict[str, FeedConfig] = {}
    for href, title in parser.links:
        url = urljoin(base, href.strip())
        if url.startswith(("http://", "https://")):
            found.setdefault(url, FeedConfig(url=url, title=title))
    return list(found.values())


async def discover(fetcher: Fetcher, url: str) -> list[FeedConfig]:
    """The feeds at ``url``: itself when it is a feed, else the feeds its page links to; :class:`FeedError` if none."""
    result = await fetcher.fetch(
        url, accept=PAGE_ACCEPT + ", application/rss+xml, application/atom+xml", max_bytes=MAX_PAGE_BYTES
    )
    if result.failure is not None:
        raise FeedError(f"cannot fetch {url}: {result.failure.reason}")
    where = result.moved_to or url
    content_type = result.header("content-type") or ""
    if "html" not in content_type.lower():
        try:
            parsed = parse_feed(
                result.body, url=where, content_type=content_type, max_entries=1, fetched=datetime.now(UTC)
            )
        except FeedError:
            pass
        else:
            return [FeedConfig(url=where, title=parsed.title)]
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
    try:
        html = result.body.decode(charset, "replace")
    except LookupError:
        html = result.body.decode("utf-8", "replace")
    feeds = alternate_links(html, result.final_url)
    if not feeds:
        raise FeedError(f'{url} is not a feed and its page links to none (no <link rel="alternate">)')
    return feeds
