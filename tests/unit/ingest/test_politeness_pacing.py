"""A host's budget held as the host sees it: requests go out a gap apart, counted from the one really written.

A fetch sets off when its host's budget allows, then connects (or waits for a pooled connection, or for a busy event
loop) before its request is written. Spacing only the setting off let a request held up on its way and its punctual
successor reach the host together; these tests hold the requests themselves apart, after a stall too.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable, Iterator

import httpcore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.ingest.fetch import Fetcher
from newswire.ingest.netguard import GuardedBackend
from newswire.ingest.politeness import SENDING_HOLD, Budget, HostLedger
from tests.unit.ingest.feedserver import FeedServer, rss_feed
from tests.unit.ingest.test_politeness import FakeClock, most_starts_within

HOST = "wire.example.org"
CROWDED = "127.0.0.2"


# --- the ledger on its own -------------------------------------------------------------------------------------


def test_after_a_stall_the_overdue_requests_still_go_out_a_gap_apart():
    clock = FakeClock()
    ledger = HostLedger(Budget(20, 1.0), clock=clock)
    gap = ledger.budget(HOST).gap
    ledger.record_start(HOST)  # the first fetch sets off ...
    clock.now += gap
    assert ledger.wait(HOST) == 0
    ledger.record_start(HOST)  # ... and the second a gap later, on time
    clock.now += 0.3  # the event loop was stalled: both connections are ready only now

    assert ledger.wait_to_send(HOST) == 0
    ledger.sending(HOST)
    assert ledger.wait_to_send(HOST) == pytest.approx(gap)  # not while the first is being written
    clock.now += 0.01  # a slow write
    ledger.sent(HOST)
    # A gap from when the first really went out, not from when the second was due.
    assert ledger.wait_to_send(HOST) == pytest.approx(gap - 0.01)
    clock.now += gap - 0.01
    assert ledger.wait_to_send(HOST) == pytest.approx(0.0, abs=1e-9)
    assert ledger.wait_to_send("other.example.org") == 0  # other hosts are not held up


def test_no_fetch_sets_off_before_the_slot_of_a_request_already_waiting_to_go():
    clock = FakeClock()
    ledger = HostLedger(Budget(20, 1.0), clock=clock)
    gap = ledger.budget(HOST).gap
    start = clock.now
    ledger.record_start(HOST)
    clock.now += 0.2  # a slow connection: the first request goes out late ...
    ledger.sending(HOST)
    ledger.sent(HOST)
    clock.now = start + gap + 0.01  # ... the second fetch set off on time, and now waits for its own slot
    with ledger.queued(HOST):
        clock.now = start + 2 * gap  # the third would be due by the pace of setting off, but not before the second
        assert ledger.wait(HOST) == pytest.approx(start + 0.2 + gap - clock.now)
    assert ledger.wait(HOST) == 0  # the second went: setting off is paced as before


def test_a_write_that_never_reports_back_holds_its_host_only_for_a_while():
    clock = FakeClock()
    ledger = HostLedger(Budget(20, 1.0), clock=clock)
    ledger.sending(HOST)
    clock.now += SENDING_HOLD
    assert ledger.wait_to_send(HOST) == 0


@given(
    starts=st.integers(min_value=1, max_value=20),
    seconds=st.floats(min_value=0.5, max_value=10.0),
    lags=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=2.0), st.floats(min_value=0.0, max_value=0.2)),
        min_size=1,
        max_size=60,
    ),
)
def test_whatever_holds_requests_up_on_their_way_the_host_never_gets_more_than_its_budget(starts, seconds, lags):
    """Each request is held up for a while between setting off and being written, and its write takes a while; the
    writes it makes are never more than ``starts`` within any ``seconds``."""
    clock = FakeClock()
    ledger = HostLedger(Budget(starts, seconds), clock=clock)
    written: list[float] = []
    for on_the_way, writing in lags:
        # One fetch at a time through the whole path: the worst case is the sequence of lags, not their overlap.
        clock.now += ledger.wait(HOST)
        ledger.record_start(HOST)
        clock.now += on_the_way
        clock.now += ledger.wait_to_send(HOST)
        assert ledger.wait_to_send(HOST) == pytest.approx(0.0, abs=1e-9)
        ledger.sending(HOST)
        written.append(clock.now)
        clock.now += writing
        ledger.sent(HOST)
    assert most_starts_within(written, seconds * (1 - 1e-9)) <= starts


# --- the fetcher, with a stalled event loop --------------------------------------------------------------------


class _TimedStream(httpcore.AsyncNetworkStream):
    """A connection that notes when each request begins to be written."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, written: list[float]) -> None:
        self._inner = inner
        self._written = written

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer.startswith(b"GET "):
            self._written.append(time.monotonic())
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class StallingBackend(httpcore.AsyncNetworkBackend):
    """Loopback connections, timed; right after the first connection is made, the event loop stalls (a blocking
    call, as a parse or an encode on the loop would) for ``stall`` seconds."""

    def __init__(self, stall: float) -> None:
        self._inner = GuardedBackend(allow_private=True)
        self.stall = stall
        self.written: list[float] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        if self.stall:
            time.sleep(self.stall)  # blocks the loop: the fetches asleep on the budget all wake late, together
            self.stall = 0.0
        return _TimedStream(stream, self.written)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@pytest.fixture
def crowded_host() -> Iterator[FeedServer]:
    server = FeedServer(address=CROWDED).start()
    yield server
    server.stop()


def test_requests_held_up_by_a_stalled_loop_do_not_reach_the_host_together(crowded_host, settings_factory):
    paths = [f"/desk-{number}.xml" for number in range(5)]
    for path in paths:
        crowded_host.routes[path] = rss_feed(1)
    settings = settings_factory(host_fetch_budgets=f"{CROWDED}=10/1", per_host_concurrency=5)
    backend = StallingBackend(stall=0.4)

    async def fetch_all() -> list[int | None]:
        async with Fetcher(settings, network_backend=backend) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(crowded_host.url(path)) for path in paths))
        return [result.status for result in results]

    assert asyncio.run(fetch_all()) == [200] * len(paths)

    # The first request was held up by the stall, and the fetches due during it set off late, all at once; still,
    # the requests were written one budget gap apart (on the clock the poller paces by; the write follows the
    # budget's check by microseconds, hence the millisecond).
    written = sorted(backend.written)
    assert len(written) == len(paths)
    spacing = [later - earlier for earlier, later in itertools.pairwise(written)]
    assert min(spacing) >= Budget(10, 1.0).gap - 0.001
