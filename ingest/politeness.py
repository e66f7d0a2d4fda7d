"""Per-host politeness: a budget of fetch starts for each host, and the pauses a host asks for.

- Budget: at most ``starts`` fetch starts to one host in any window of ``seconds``, evenly paced: one start every
  ``seconds / starts`` and :data:`PACING_MARGIN` more. Feeds of one host that fall due together are spread out
  instead of fetched at once: 200 feeds of one host at the default of 2 starts per 2 s take about 220 s. This is on
  top of the per-host concurrency. The pace is kept twice: fetches set off for a host one gap apart (so that those
  waiting hold no connection or global slot), and their requests go out one gap apart, counted from the moment the
  previous request was really written. Between setting off and writing, a fetch connects, waits for a pooled
  connection or for a busy event loop, for anything from a millisecond to a few hundred; spacing only the setting
  off let a late request and its punctual successor reach the host together. The margin is left for what happens
  after the request left: the network and the host's own reading of it.
- Throttle: a 429, or any error response carrying ``Retry-After`` (a 503, usually), pauses the whole host: until
  ``Retry-After`` says, else :data:`FIRST_PAUSE` doubling with each throttle in a row up to :data:`LONGEST_PAUSE`.
- A 403 right after a burst (:data:`BURST_STARTS` starts within :data:`BURST_SECONDS`) is taken as a throttle, not
  as a broken feed: sites behind rate-limiting proxies answer a burst with 403. The same URL answering 403 again
  after the host has answered others in between is the feed's own 403.

The ledger is one poller's: with several pollers, each keeps its own budget for a host.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from newswire.ingest.base import Feed

PACING_MARGIN = 1.1
BURST_STARTS = 3
BURST_SECONDS = 60.0
FIRST_PAUSE = 60.0
LONGEST_PAUSE = 3600.0
LONGEST_RETRY_AFTER = 86400.0
SENDING_HOLD = 10.0  # a request still being written after this long (its write timeout) no longer holds its host


def host_of(url: str) -> str:
    """The key of a URL's host in the ledger: its host name, lower-cased, without a trailing dot."""
    return (urlsplit(url).hostname or "").lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``starts`` fetch starts in any ``seconds``."""

    starts: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.starts}/{self.seconds:g}s"

    @property
    def gap(self) -> float:
        """Seconds between two starts (with the pacing margin)."""
        return self.seconds / self.starts * PACING_MARGIN


@dataclass(frozen=True, slots=True)
class Throttle:
    """A host asked to be left alone for ``seconds`` (``reason`` says how)."""

    seconds: float
    reason: str


@dataclass(slots=True)
class _Host:
    budget: Budget
    last_start: float | None = None  # monotonic, as all times here: the last fetch that set off
    last_sent: float | None = None  # when the last request to the host began to be written
    sending_since: float | None = None  # a request is being written, since then
    queued: int = 0  # requests waiting for their slot to be written
    burst: deque[float] = field(default_factory=deque)  # starts within BURST_SECONDS
    paused_until: float = 0.0
    throttles_in_row: int = 0
    answered_since_throttle: bool = False
    forbidden: set[str] = field(default_factory=set)  # URLs whose 403 was taken as a throttle


class HostLedger:
    """Fetch starts and throttles per host name, for one event loop (not thread-safe, never awaits)."""

    def __init__(
        self,
        default: Budget,
        per_host: Mapping[str, Budget] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default = default
        self.per_host = {host.lower().rstrip("."): budget for host, budget in (per_host or {}).items()}
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @classmethod
    def of(
        cls,
        starts: int,
        seconds: float,
        per_host: Mapping[str, tuple[int, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> HostLedger:
        """A ledger from the settings' values (``host_fetch_starts``, ``host_fetch_seconds``, ``host_budgets``)."""
        budgets = {host: Budget(*budget) for host, budget in per_host.items()}
        return cls(Budget(starts, seconds), budgets, clock=clock)

    def budget(self, host: str) -> Budget:
        return self.per_host.get(host, self.default)

    def _host(self, host: str) -> _Host:
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = _Host(self.budget(host))
        return entry

    def paused_for(self, host: str) -> float:
        """Seconds the host's throttle still lasts (0 when it is not throttled)."""
        entry = self._hosts.get(host)
        return max(0.0, entry.paused_until - self._clock()) if entry else 0.0

    def wait(self, host: str) -> float:
        """Seconds until a fetch may start on ``host``: its throttle, then its budget (0: now).

        While a request of the host waits for its slot to be written (:meth:`queued`), no fetch sets off before
        that slot: on a busy event loop the requests go out a little slower than the fetches set off, and they would
        pile up holding connections and global slots that other hosts' feeds need.
        """
        entry = self._hosts.get(host)
        if entry is None:
            return 0.0
        now = self._clock()
        budget_free = now if entry.last_start is None else entry.last_start + entry.budget.gap
        send_free = now + self.wait_to_send(host) if entry.queued else now
        return max(0.0, entry.paused_until - now, budget_free - now, send_free - now)

    def record_start(self, host: str) -> None:
        """A fetch sets off for ``host`` now (call only when :meth:`wait` is 0): it connects, or takes a pooled
        connection, and its request goes out when :meth:`wait_to_send` allows."""
        entry = self._host(host)
        now = self._clock()
        entry.last_start = now
        entry.burst.append(now)
        while entry.burst and entry.burst[0] < now - BURST_SECONDS:
            entry.burst.popleft()

    def wait_to_send(self, host: str) -> float:
        """Seconds until a request may be written to ``host``: one gap after the last one was (0: now).

        While another request to the host is being written, its end is not known yet: at least a gap.
        """
        entry = self._hosts.get(host)
        if entry is None:
            return 0.0
        now = self._clock()
        if entry.sending_since is not None and now - entry.sending_since < SENDING_HOLD:
            return entry.budget.gap
        return 0.0 if entry.last_sent is None else max(0.0, entry.last_sent + entry.budget.gap - now)

    @contextmanager
    def queued(self, host: str) -> Iterator[None]:
        """A request to ``host`` waits meanwhile for :meth:`wait_to_send` to come down to 0."""
        entry = self._host(host)
        entry.queued += 1
        try:
            yield
        finally:
            entry.queued -= 1

    def sending(self, host: str) -> None:
        """A request to ``host`` is being written now (call only when :meth:`wait_to_send` is 0): the next one may go
        a gap from now, and none before this one is :meth:`sent`."""
        entry = self._host(host)
        entry.last_sent = entry.sending_since = self._clock()

    def sent(self, host: str) -> None:
        """The request :meth:`sending` announced was written (or failed to be)."""
        self._host(host).sending_since = None

    def observe(self, host: str, url: str, status: int | None, retry_after: float | None) -> Throttle | None:
        """Take in the answer ``host`` gave for ``url``; the throttle it means for the host, if any."""
        entry = self._host(host)
        if status is None:
            return None  # no answer (timeout, refused connection): the feed's problem, not a request to slow down
        if status < 400:
            entry.throttles_in_row = 0
            entry.answered_since_throttle = True
            entry.forbidden.discard(url)
            return None
        if status == 429:
            reason = f"HTTP 429 from {host}"
        elif retry_after is not None:
            reason = f"HTTP {status} with Retry-After from {host}"
        elif status == 403 and len(entry.burst) >= BURST_STARTS:
            if url in entry.forbidden and entry.answered_since_throttle:
                return None  # the host answers others, but still not this URL: the feed's own 403
            entry.forbidden.add(url)
            reason = f"HTTP 403 from {host} after {len(entry.burst)} fetches within {BURST_SECONDS:g}s"
        else:
            return None
        entry.throttles_in_row += 1
        if retry_after is not None:
            pause = min(retry_after, LONGEST_RETRY_AFTER)
        else:
            pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** min(entry.throttles_in_row - 1, 20))
        entry.paused_until = max(entry.paused_until, self._clock() + pause)
        entry.answered_since_throttle = False
        return Throttle(pause, reason)


HOUR = 3600.0


def host_report(feeds: Iterable[Feed], ledger: HostLedger, now: float) -> list[dict[str, Any]]:
    """Per host of ``feeds`` (the host of their fetch URL), busiest first: what their records say about it.

    The next allowed fetch is the end of the host's pause, or one budget gap (``ledger``'s) after its last start.
    """
    grouped: defaultdict[str, list[Feed]] = defaultdict(list)
    for feed in feeds:
        grouped[host_of(feed.fetch_url)].append(feed)
    rows = []
    for host, members in grouped.items():
        states = [feed.state for feed in members]
        starts = [moment for state in states for moment in state.recent_fetches]
        budget = ledger.budget(host)
        paused_until = max((state.throttled_until or 0.0 for state in states), default=0.0)
        next_fetch = max(paused_until, max(starts, default=0) + budget.gap)
        rows.append(
            {
                "host": host,
                "feeds": len(members),
                "enabled": sum(1 for state in states if not state.disabled),
                "fetches_last_hour": sum(1 for moment in starts if moment > now - HOUR),
                "throttles": sum(state.throttles_total for state in states),
                "errors": sum(state.errors_total for state in states),
                "failing": sum(1 for state in states if state.last_error and not state.disabled),
                "dropped": sum(sum(state.dropped_total.values()) for state in states),
                "budget": str(budget),
                "paused_until": paused_until if paused_until > now else None,
                "next_allowed_fetch": next_fetch if next_fetch > now else None,
            }
        )
    return sorted(rows, key=lambda row: (-row["feeds"], row["host"]))
