"""When to poll a feed next: adaptive to how often it has news, bounded, polite, with jitter.

- A feed that had new articles is polled sooner (interval halved), one that had none later (interval x 1.5), always
  within ``[min_poll_interval, max_poll_interval]``.
- The publisher's wishes are lower bounds: ``<ttl>``, ``sy:updatePeriod`` / ``sy:updateFrequency``, and the
  response's ``Cache-Control: max-age`` (up to ``max_poll_interval``). ``Retry-After`` (on 429 and 503) is an order
  and is honoured even beyond ``max_poll_interval`` (up to a week).
- Temporary failures back off exponentially from the feed's interval, with "full jitter" so that feeds failing
  together (one host down) do not return together.
"""

from __future__ import annotations

import random
import re

from newswire.ingest.base import FeedState
from newswire.settings import Settings

JITTER = 0.05  # +-5% on a regular interval: spreads feeds added together without blurring the schedule
MAX_RETRY_AFTER = 7 * 86400.0
SPEED_UP = 0.5
SLOW_DOWN = 1.5
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def clamp(seconds: float, settings: Settings) -> float:
    low = min(settings.min_poll_interval, settings.max_poll_interval)
    return max(low, min(settings.max_poll_interval, seconds))


def base_interval(state: FeedState, settings: Settings) -> float:
    """The feed's current interval (the configured ``poll_interval`` until the feed has a history)."""
    return clamp(state.interval if state.interval else settings.poll_interval, settings)


def max_age_seconds(cache_control: str | None) -> float | None:
    """``max-age`` of a ``Cache-Control`` header; ``None`` when absent or when the response must not be cached."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return None
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def jittered(seconds: float, spread: float = JITTER) -> float:
    return seconds * random.uniform(1.0 - spread, 1.0 + spread)


def after_success(
    state: FeedState,
    settings: Settings,
    *,
    new_items: int,
    publisher_interval: float | None,
    cache_control: str | None,
) -> float:
    """The next interval after a successful poll (200 or 304), stored in ``state.interval`` by the caller."""
    interval = base_interval(state, settings)
    if not settings.min_poll_interval < settings.max_poll_interval:
        adapted = interval  # a fixed schedule: min == max
    elif new_items > 0:
        adapted = interval * SPEED_UP
    else:
        adapted = interval * SLOW_DOWN
    adapted = clamp(adapted, settings)
    floors = [value for value in (publisher_interval, max_age_seconds(cache_control)) if value]
    if floors:
        adapted = max(adapted, min(max(floors), settings.max_poll_interval))
    return adapted


def after_temporary_failure(state: FeedState, settings: Settings, retry_after: float | None) -> float:
    """Seconds until the next try after the ``state.temporary_failures``-th failure in a row."""
    interval = base_interval(state, settings)
    exponent = min(max(0, state.temporary_failures - 1), 20)
    ceiling = min(settings.max_poll_interval, interval * 2**exponent)
    delay = random.uniform(ceiling / 2, ceiling) if exponent else interval
    if retry_after is not None:
        # The server's explicit order wins over our bounds (within reason: a week).
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
