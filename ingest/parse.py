"""Feed bytes to articles: feedparser on a body we fetched ourselves, then normalisation.

feedparser is only ever given an in-memory stream (given ``bytes`` or ``str`` it would try to open them as a file
name or URL). Before it sees the body, the DOCTYPE and its internal subset are removed: feedparser keeps "safe"
entity declarations and expat expands them, which is all a billion-laughs or quadratic-blowup attack needs; feeds
have no use for a DTD. External entities are never resolved (feedparser turns off external general entities in the
SAX parser, and with the DOCTYPE gone there is nothing to resolve). HTML in titles, summaries and content is reduced
to plain text here (scripts, styles and tags dropped), so feedparser's sanitiser, a second HTML pass, is off.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser

from newswire.contract import Article, article_id
from newswire.errors import ContractError, FeedError
from newswire.ingest.normalize import (
    canonical_url,
    detect_language,
    fallback_title,
    html_to_text,
    language_code,
    normalize_date,
)

# The prolog ends at the first element; only there can a DOCTYPE appear.
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL | re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s\"']+)\s*(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')?", re.IGNORECASE)
_ONLY_CHAR_REFS = re.compile(rb"(?:[^&]|&#x?[0-9a-fA-F]+;)*")
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ROOT = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*)")

FEED_TYPES = ("rss", "atom", "cdf")
UPDATE_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}
MAX_FIELD_CHARS = 100_000
MAX_FEED_LINKS = 50  # links of the feed itself looked at for hub and self
MAX_LINK_CHARS = 2000


@dataclass(slots=True)
class ParsedEntry:
    url: str | None
    guid: str | None
    title: str
    summary: str
    content: str
    published: datetime
    published_estimated: bool
    authors: list[str]
    categories: list[str]
    link_given: bool = False  # the entry had a link, usable or not


@dataclass(slots=True)
class ParsedFeed:
    """What a feed body says: its title and language, how often it wants polling, and its entries."""

    title: str | None
    language: str | None
    min_interval: float | None  # from <ttl> or sy:updatePeriod / sy:updateFrequency
    entries: list[ParsedEntry] = field(default_factory=list)
    truncated: int = 0  # entries dropped over the per-feed limit
    warning: str | None = None  # feedparser's complaint about a feed it could still read
    links: list[tuple[str, str]] = field(default_factory=list)  # the feed's own (rel, href): hub and self only


def strip_doctype(body: bytes) -> bytes:
    """``body`` without its DOCTYPE declaration (and with it any entity declarations)."""
    first = _FIRST_ELEMENT.search(body)
    prolog_end = first.start() if first else len(body)
    if b"<!" not in body[:prolog_end]:
        return body
    prolog = _DOCTYPE.sub(b"", body[:prolog_end])
    if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
        # An unterminated or odd declaration: drop the whole prolog after the XML declaration.
        declaration = re.match(rb"\s*<\?xml[^>]*\?>", prolog)
        prolog = declaration.group(0) if declaration else b""
    return prolog + body[prolog_end:]


def hostile_dtd(body: bytes) -> str | None:
    """Why the feed's DTD is refused (external, parameter or nested entities), or ``None`` when it is harmless."""
    first = _FIRST_ELEMENT.search(body)
    prolog = body[: first.start() if first else len(body)]
    for match in _ENTITY_DECL.finditer(prolog):
        parameter, name, value = match.group(1), match.group(2).decode("ascii", "replace")[:40], match.group(3)
        if parameter:
            return f"the DTD declares a parameter entity ({name})"
        if value is None or value.upper() in (b"SYSTEM", b"PUBLIC"):
            return f"the DTD declares an external entity ({name})"
        if not _ONLY_CHAR_REFS.fullmatch(value[1:-1]):
            return f"the DTD declares an entity made of entities ({name}): an expansion attack"
    return None


def limit_entries(body: bytes, max_entries: int) -> tuple[bytes, int]:
    """Cut ``body`` before its ``max_entries + 1``-th entry, closing the root element; returns the dropped count.

    A feed of 50,000 entries is parsed as a feed of ``max_entries``: feedparser never sees (or allocates) the rest.
    """
    starts = [match.start() for match in _ENTRY_START.finditer(body)]
    if len(starts) <= max_entries:
        return body, 0
    first = _FIRST_ELEMENT.search(body)
    root = _ROOT.match(body, first.start()) if first else None
    if root is None:
        return body, 0
    name = root.group(1)
    closing = b"</channel></" + name + b">" if name.lower().endswith(b"rss") else b"</" + name + b">"
    return body[: starts[max_entries]] + closing, len(starts) - max_entries


def parse_feed(body: bytes, *, url: str, content_type: str | None, max_entries: int, fetched: datetime) -> ParsedFeed:
    """Parse a feed body; :class:`FeedError` when it is empty or not a feed at all (an HTML page, garbage)."""
    if not body.strip():
        raise FeedError("empty body")
    refused = hostile_dtd(body)
    if refused:
        raise FeedError(f"refused: {refused}")
    body, dropped = limit_entries(strip_doctype(body), max_entries)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # No sanitising or URI rewriting inside HTML: every HTML field becomes plain text here (scripts, styles and
        # tags dropped), which makes feedparser's own HTML passes redundant; they are most of its time.
        result = feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser's own bugs on hostile input must not stop the poller
        raise FeedError(f"feedparser failed: {type(exc).__name__}: {exc}") from exc
    version = str(result.get("version") or "")
    if not version.startswith(FEED_TYPES) and not result.entries:
        problem = result.get("bozo_exception")
        kind = f"not a feed ({content_type})" if content_type else "not a feed"
        raise FeedError(f"{kind}: {problem}" if problem else kind)
    info = result.feed
    warning = str(result.get("bozo_exception")) if result.get("bozo") else None
    language = language_code(info.get("language"))
    parsed = ParsedFeed(
        title=html_to_text(info.get("title"))[:500] or None,
        language=language,
        min_interval=_publisher_interval(info),
        truncated=dropped,
        warning=warning,
    )
    for entry in result.entries[:max_entries]:
        parsed.entries.append(_entry(entry, url, fetched))
    parsed.links = _feed_links(info)
    parsed.truncated += max(0, len(result.entries) - max_entries)
    return parsed


def _feed_links(info: Any) -> list[tuple[str, str]]:
    """The feed's ``hub`` and ``self`` links (WebSub discovery), as given: checked by their user."""
    found: list[tuple[str, str]] = []
    for link in (info.get("links") or [])[:MAX_FEED_LINKS]:
        if isinstance(link, dict) and link.get("rel") in ("hub", "self") and isinstance(link.get("href"), str):
            found.append((str(link["rel"]), link["href"][:MAX_LINK_CHARS]))
    return found


def _publisher_interval(info: Any) -> float | None:
    """The shortest polling interval the feed asks for: ``<ttl>`` minutes or the syndication module's period."""
    candidates: list[float] = []
    try:
        ttl = float(info.get("ttl", ""))
        if 0 < ttl < 60 * 24 * 366:
            candidates.append(ttl * 60)
    except ValueError:
        pass
    period = UPDATE_PERIODS.get(str(info.get("sy_updateperiod", "")).strip().lower())
    if period:
        try:
            frequency = max(1.0, float(info.get("sy_updatefrequency", 1)))
        except ValueError:
            frequency = 1.0
        candidates.append(period / frequency)
    return max(candidates) if candidates else None


def _text(value: Any) -> str:
    return html_to_text(value if isinstance(value, str) else None)[:MAX_FIELD_CHARS]


def _entry(entry: Any, feed_url: str, fetched: datetime) -> ParsedEntry:
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    url = canonical_url(link, feed_url)
    guid = entry.get("id")
    summary = _text(entry.get("summary"))
    contents = [part.get("value") for part in entry.get("content") or [] if isinstance(part, dict)]
    content = "\n\n".join(text for text in (_text(value) for value in contents) if text)
    date = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    published, estimated = normalize_date(date, fetched)
    authors = [_text(author.get("name")) for author in entry.get("authors") or [] if isinstance(author, dict)]
    if not any(authors) and entry.get("author"):
        authors = [_text(entry.get("author"))]
    tags = [tag for tag in entry.get("tags") or [] if isinstance(tag, dict)]
    categories = [_text(tag.get("term") or tag.get("label")) for tag in tags]
    return ParsedEntry(
        url=url,
        guid=str(guid)[:2000] if guid else None,
        title=_text(entry.get("title"))[:2000],
        summary=summary,
        content=content if content != summary else "",
        published=published,
        published_estimated=estimated,
        authors=_unique(author[:200] for author in authors),
        categories=_unique(category[:200] for category in categories),
        link_given=bool(link),
    )


def _unique(values: Any) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)[:50]


def to_article(
    entry: ParsedEntry, *, feed_url: str, source: str, language: str | None, fetched: datetime, revision: int = 1
) -> Article | None:
    """The contract article for a parsed entry, or ``None`` when the entry has neither link nor GUID.

    An entry without a title is titled from its URL (or, without one, from the start of its text), so that every
    article has something to show and to enrich.
    """
    try:
        identity = article_id(entry.url, feed_url=feed_url, guid=entry.guid)
    except ContractError:
        return None
    text = " ".join(part for part in (entry.title, entry.summary, entry.content[:2000]) if part)
    return Article(
        id=identity,
        url=entry.url or "",
        feed_url=feed_url,
        source=source,
        title=entry.title or fallback_title(entry.url, entry.summary or entry.content),
        summary=entry.summary,
        content=entry.content,
        published=entry.published,
        published_estimated=entry.published_estimated,
        fetched=fetched,
        language=language or detect_language(text),
        authors=entry.authors,
        categories=entry.categories,
        guid=entry.guid,
        revision=revision,
    )
