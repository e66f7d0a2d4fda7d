"""Normalisers for what feeds send: article URLs, HTML snippets, dates and languages.

Each takes anything a hostile feed can produce and never raises: a URL that cannot be made canonical is ``None``,
a date that cannot be trusted is replaced by the fetch time and marked as estimated.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say where a click came from: the same article under another name.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "cmpid",
        "ocid",
        "ito",
    }
)
TRACKING_PREFIXES = ("utm_",)

# Characters browsers drop from URLs before parsing them (WHATWG URL standard).
_URL_NOISE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_BAD_HOST_CHARS = frozenset(" /\\@[]?#%<>^`{|}\"'")


def is_tracking_param(name: str) -> bool:
    lowered = unquote(name).strip().lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The canonical form of an article URL, or ``None`` when it is not an http(s) URL with a host.

    Resolves ``url`` against ``base``, lower-cases scheme and host, drops the default port, user info, the fragment
    and tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ...). Other query parameters keep their order and
    their encoding. Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
    """
    if not url or not isinstance(url, str):
        return None
    try:
        text = _URL_NOISE.sub("", url).strip(" \x00\x0b\x0c")
        if _CONTROL.search(text):
            return None
        if base:
            text = urljoin(base, text)
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return None
        host = (parts.hostname or "").rstrip(".")
        if not host or (not _is_ipv6(host) if ":" in host else any(char in host for char in _BAD_HOST_CHARS)):
            return None
        port = parts.port
    except (ValueError, UnicodeError):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    # Characters a URL may not carry (spaces, non-ASCII) are percent-encoded as browsers do; existing escapes stay.
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = "&".join(
        quote(pair, safe=_QUERY_SAFE)
        for pair in parts.query.split("&")
        if pair and not is_tracking_param(pair.partition("=")[0])
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _is_ipv6(host: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f:.]+", host)) and host.count(":") >= 2


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; script, style and similar bodies are dropped."""

    SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"})
    BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "table",
            "blockquote",
            "section",
            "article",
            "header",
            "footer",
            "pre",
            "hr",
            "figure",
            "figcaption",
            "dd",
            "dt",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(_WHITESPACE.sub(" ", data))  # in HTML a line break in text is a space


_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s+")


def html_to_text(html: str | None, *, limit: int = 200_000) -> str:
    """Plain text of an HTML fragment: tags and scripts removed, entities decoded, whitespace collapsed."""
    if not html:
        return ""
    html = html[:limit]
    if "<" not in html and "&" not in html:
        text = html
    else:
        extractor = _TextExtractor()
        try:
            extractor.feed(html)
            extractor.close()
        except (AssertionError, ValueError):  # HTMLParser gives up on some malformed markup
            pass
        text = "".join(extractor.parts)
    text = _CONTROL.sub("", text).replace("\r", "\n").replace("\xa0", " ")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# A feed date earlier than this is a placeholder (0, 1970, 1900), not a publication date.
EARLIEST_DATE = datetime(1995, 1, 1, tzinfo=UTC)
# How far in the future a date may be before it is taken as wrong (clock skew, time zone mistakes).
FUTURE_TOLERANCE = timedelta(minutes=15)


def normalize_date(value: Any, fetched: datetime) -> tuple[datetime, bool]:
    """``(date in UTC, estimated)``: a feedparser time tuple or an aware datetime, checked against ``fetched``.

    Missing, unparseable, implausibly old or future dates become the fetch time with ``estimated=True``.
    """
    fetched = fetched.astimezone(UTC) if fetched.tzinfo else fetched.replace(tzinfo=UTC)
    moment: datetime | None = None
    try:
        if isinstance(value, datetime):
            moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, time.struct_time | tuple) and len(value) >= 6:
            year, month, day, hour, minute, second = (int(part) for part in value[:6])
            moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        moment = None
    if moment is None or moment < EARLIEST_DATE or moment > fetched + FUTURE_TOLERANCE:
        return fetched, True
    return moment, False


def language_code(value: Any) -> str | None:
    """The ISO 639 code of a feed's language declaration (``en-us`` -> ``en``), or ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


MIN_DETECT_CHARS = 40
MIN_DETECT_CONFIDENCE = 0.5


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # noqa: PLC0415 - loads a model; only when needed

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """The language of ``text`` by py3langid, or ``None`` when the text is short or the guess unsure."""
    sample = text[:2000]
    if len(sample.strip()) < MIN_DETECT_CHARS:
        return None
    code, confidence = _identifier().classify(sample)
    return str(code) if confidence >= MIN_DETECT_CONFIDENCE else None


MAX_FALLBACK_TITLE = 160
_SLUG_SEPARATORS = re.compile(r"[-_+.~]+|%20")
_PAGE_SUFFIX = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cfm)$", re.IGNORECASE)
_NOT_WORDS = re.compile(r"(?:\d+|[0-9a-f]{8,}|index|default|article|story|news|amp)", re.IGNORECASE)


def fallback_title(url: str | None, text: str = "") -> str:
    """A title for an entry that has none: the words of its URL's last meaningful path segment, else its host and
    path; without a URL, the start of ``text``. Empty only when both are. Never raises.

    ``https://wire.example.org/2023/06/24/wagner-columns-turn-back.html`` gives ``Wagner columns turn back``.
    """
    if url:
        parts = urlsplit(url)
        for segment in reversed([unquote(part) for part in parts.path.split("/") if part]):
            words = _SLUG_SEPARATORS.sub(" ", _PAGE_SUFFIX.sub("", segment))
            words = _CONTROL.sub("", _WHITESPACE.sub(" ", words)).strip()
            if any(char.isalpha() for char in words) and not _NOT_WORDS.fullmatch(words.replace(" ", "")):
                return _shortened(words[:1].upper() + words[1:])
        return _shortened(_CONTROL.sub("", (parts.hostname or "") + parts.path.rstrip("/")) or url)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return _shortened(_CONTROL.sub("", _WHITESPACE.sub(" ", first_line)))


def _shortened(text: str) -> str:
    if len(text) <= MAX_FALLBACK_TITLE:
        return text
    cut = text[:MAX_FALLBACK_TITLE].rsplit(" ", 1)[0] or text[:MAX_FALLBACK_TITLE]
    return cut.rstrip(" ,;:") + "\u2026"


def content_hash(*texts: str) -> str:
    """A short hash of an article's text, to notice when a known article changed."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]
