"""Reading a server's ``Retry-After`` header, for every stage that talks HTTP (feed fetches, Elasticsearch).

The header comes from servers we do not control, so anything may be in it: a wait is only what RFC 9110 10.2.3
allows (ASCII delta-seconds or an HTTP date with its zone), bounded by ``longest``; the rest asks for nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["MAX_RETRY_AFTER", "retry_after_seconds"]

MAX_RETRY_AFTER: Final = 3600.0  # a longer Retry-After is read as this unless the caller allows more


def retry_after_seconds(
    value: str | None, now: datetime | None = None, *, longest: float = MAX_RETRY_AFTER
) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds, at most ``longest``; ``None`` when there is none or it
    cannot be read. ``now`` (default: the clock) is what an HTTP date is counted from; a date gone by is no wait."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit alone takes other scripts' digits, which int() may refuse
        digits = text.lstrip("0") or "0"
        return longest if len(digits) > 15 else min(float(digits), longest)  # int() refuses very long digit runs
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # an HTTP date is in GMT; one without a zone is not one
        return None
    return min(max(0.0, (moment - (now or datetime.now(UTC))).total_seconds()), longest)
