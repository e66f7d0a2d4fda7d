"""Feed lists: OPML files, plain text files (one URL a line, ``#`` comments) and comma-separated URLs.

OPML outlines may carry two attributes of ours besides ``xmlUrl`` and ``title``/``text``: ``fullText="true"``
(fetch each article's page) and ``ignoreValidators="true"`` (never send conditional headers).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from newswire.errors import ConfigError
from newswire.ingest.base import FeedConfig
from newswire.ingest.parse import strip_doctype

MAX_LIST_BYTES = 20 * 1024 * 1024


def check_feed_url(url: str, where: str) -> str:
    """``url`` stripped, or :class:`ConfigError` naming ``where`` when it is not an http(s) URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: not an http(s) feed URL: {url!r}")
    return url


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def parse_opml(data: bytes, where: str = "OPML") -> list[FeedConfig]:
    """The feeds of an OPML document (outlines with ``xmlUrl``, at any depth)."""
    try:
        root = ET.fromstring(strip_doctype(data))  # noqa: S314 - DOCTYPE (and so any entity) stripped first
    except ET.ParseError as exc:
        raise ConfigError(f"{where}: not valid OPML: {exc}") from exc
    feeds: list[FeedConfig] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if not url:
            continue
        feeds.append(
            FeedConfig(
                url=check_feed_url(url, where),
                title=(outline.get("title") or outline.get("text") or "").strip() or None,
                full_text=_true(outline.get("fullText")),
                ignore_validators=_true(outline.get("ignoreValidators")),
            )
        )
    return feeds


def parse_url_lines(text: str, where: str) -> list[FeedConfig]:
    feeds = []
    for number, line in enumerate(text.splitlines(), start=1):
        url = "" if line.lstrip().startswith("#") else line.strip()
        if url:
            feeds.append(FeedConfig(url=check_feed_url(url, f"{where} line {number}")))
    return feeds


def read_feed_file(path: Path) -> list[FeedConfig]:
    """Feeds from an OPML or a URL-per-line file."""
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_LIST_BYTES // 1024 // 1024} MiB; is it a feed list?")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the feed list {path}: {exc.strerror or exc}") from exc
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return parse_opml(data, str(path))
    return parse_url_lines(data.decode("utf-8", "replace"), str(path))


def read_feed_list(spec: str | None) -> list[FeedConfig]:
    """The feeds named by the ``feeds`` setting: a file path (OPML or text) or comma-separated URLs."""
    if not spec or not spec.strip():
        return []
    spec = spec.strip()
    if "://" not in spec or _is_file(spec):
        return dedupe(read_feed_file(Path(spec).expanduser()))
    return dedupe(FeedConfig(url=check_feed_url(part, "--feeds")) for part in spec.split(",") if part.strip())


def _is_file(spec: str) -> bool:
    try:
        return Path(spec).expanduser().is_file()
    except (OSError, ValueError):  # a long list of URLs is no file name
        return False


def dedupe(feeds: Iterable[FeedConfig]) -> list[FeedConfig]:
    unique: dict[str, FeedConfig] = {}
    for feed in feeds:
        unique.setdefault(feed.url, feed)
    return list(unique.values())


def to_opml(feeds: Iterable[FeedConfig], title: str = "newswire feeds") -> str:
    """An OPML 2.0 document listing ``feeds``."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        name = feed.title or feed.url
        extra = ""
        if feed.full_text:
            extra += ' fullText="true"'
        if feed.ignore_validators:
            extra += ' ignoreValidators="true"'
        names = f"text={quoteattr(name)} title={quoteattr(name)}"
        lines.append(f'    <outline type="rss" {names} xmlUrl={quoteattr(feed.url)}{extra}/>')
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
