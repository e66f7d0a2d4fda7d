"""Per-host politeness: fetch-start budgets per host name, whole-host throttles on 429 / Retry-After / 403 bursts.

The end-to-end tests serve feeds from several loopback addresses (127.0.0.2, 127.0.0.3: two hosts to the poller,
the same machine to the kernel), each server counting the request starts it sees.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.ingest.politeness import BURST_STARTS, FIRST_PAUSE, PACING_MARGIN, Budget, HostLedger
from tests.unit.ingest.feedserver import FeedServer, Respond, _Handler, conditional, rss_feed, status

HOST_A = "127.0.0.2"
HOST_B = "127.0.0.3"
ARRIVAL_SLACK = 1.15


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def most_starts_within(times: list[float], seconds: float) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + seconds)``."""
    ordered = sorted(times)
    best = 0
    for index, start in enumerate(ordered):
        best = max(best, sum(1 for moment in ordered[index:] if moment < start + seconds))
    return best


# --- the ledger on its own -------------------------------------------------------------------------------------


@given(
    starts=st.integers(min_value=1, max_value=6),
    seconds=st.floats(min_value=0.5, max_value=30.0),
    attempts=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=1, max_size=80),
)
def test_a_host_never_gets_more_starts_than_its_budget_in_any_window(starts, seconds, attempts):
    clock = FakeClock()
    ledger = HostLedger(Budget(starts, seconds), clock=clock)
    made: list[float] = []
    for gap in attempts:
        clock.now += gap
        wait = ledger.wait("wire.example.org")
        if wait > 0:
            clock.now += wait  # a fetch sleeps as long as it is told
            assert ledger.wait("wire.example.org") == pytest.approx(0.0, abs=1e-9)
        ledger.record_start("wire.example.org")
        made.append(clock.now)
    # Every attempt was made (none dropped), and never more than `starts` of them within `seconds`.
    assert len(made) == len(attempts)
    assert most_starts_within(made, seconds * (1 - 1e-9)) <= starts


def test_budgets_are_per_host_settable_per_host_and_evenly_paced():
    clock = FakeClock()
    ledger = HostLedger.of(1, 10.0, {"feeds.example.org": (4, 1.0)}, clock=clock)
    assert ledger.wait("feeds.example.org") == 0
    ledger.record_start("feeds.example.org")
    # 4 a second: one every quarter second, and a margin for the jitter of requests on their way.
    assert ledger.wait("feeds.example.org") == pytest.approx(0.25 * PACING_MARGIN)
    ledger.record_start("other.example.org")
    assert ledger.wait("other.example.org") == pytest.approx(10.0 * PACING_MARGIN)  # the default budget
    assert ledger.wait("third.example.org") == 0  # a host never fetched has its whole budget
    clock.now += 0.25 * PACING_MARGIN
    assert ledger.wait("feeds.example.org") == 0


def test_429_pauses_the_whole_host_doubling_until_an_answer_succeeds():
    clock = FakeClock()
    ledger = HostLedger(Budget(100, 1.0), clock=clock)
    host = "wire.example.org"
    first = ledger.observe(host, "http://wire.example.org/a.xml", 429, None)
    assert first is not None and first.seconds == FIRST_PAUSE
    assert ledger.paused_for(host) == FIRST_PAUSE
    assert ledger.wait(host) == FIRST_PAUSE
    clock.now += FIRST_PAUSE
    second = ledger.observe(host, "http://wire.example.org/b.xml", 429, None)
    assert second is not None and second.seconds == 2 * FIRST_PAUSE
    clock.now += 2 * FIRST_PAUSE
    assert ledger.observe(host, "http://wire.example.org/a.xml", 304, None) is None
    again = ledger.observe(host, "http://wire.example.org/a.xml", 429, None)
    assert again is not None and again.seconds == FIRST_PAUSE
    assert ledger.paused_for("other.example.org") == 0


def test_retry_after_sets_the_pause_and_a_plain_error_does_not_throttle():
    ledger = HostLedger(Budget(100, 1.0), clock=FakeClock())
    throttle = ledger.observe("wire.example.org", "http://wire.example.org/a.xml", 503, 17.0)
    assert throttle is not None and throttle.seconds == 17.0
    assert ledger.observe("other.example.org", "http://other.example.org/a.xml", 503, None) is None
    assert ledger.observe("other.example.org", "http://other.example.org/a.xml", 404, None) is None
    assert ledger.paused_for("other.example.org") == 0


def test_403_after_a_burst_is_a_throttle_but_a_lone_403_and_a_403_that_stays_are_the_feeds():
    clock = FakeClock()
    ledger = HostLedger(Budget(100, 1.0), clock=clock)
    lone = "lone.example.org"
    ledger.record_start(lone)
    assert ledger.observe(lone, "http://lone.example.org/a.xml", 403, None) is None

    busy = "busy.example.org"
    for _ in range(BURST_STARTS):
        ledger.record_start(busy)
    assert ledger.observe(busy, "http://busy.example.org/x.xml", 403, None) is not None
    clock.now += 10 * FIRST_PAUSE
    # The host answers the other feeds again, still not this one: that 403 is the feed's own.
    for _ in range(BURST_STARTS):
        ledger.record_start(busy)
    assert ledger.observe(busy, "http://busy.example.org/y.xml", 200, None) is None
    assert ledger.observe(busy, "http://busy.example.org/x.xml", 403, None) is None


# --- a poller against several hosts on loopback ----------------------------------------------------------------


@pytest.fixture
def hosts() -> Iterator[dict[str, FeedServer]]:
    servers = {address: FeedServer(address=address).start() for address in (HOST_A, HOST_B)}
    yield servers
    for server in servers.values():
        server.stop()


def serve_feeds(server: FeedServer, count: int, prefix: str = "feed") -> list[str]:
    urls = []
    for number in range(count):
        path = f"/{prefix}-{number}.xml"
        server.routes[path] = conditional(rss_feed(1, title=f"Outlet {number}", start=number))
        urls.append(server.url(path))
    return urls


def starts(server: FeedServer) -> list[float]:
    return [moment for times in server.requests.values() for moment in times]


def test_200_feeds_of_one_host_falling_due_together_are_spread_by_its_budget(
    hosts, settings_factory, poller_run: Callable
):
    urls = serve_feeds(hosts[HOST_A], 200) + serve_feeds(hosts[HOST_B], 4)
    settings = settings_factory(
        feeds=",".join(urls),
        host_fetch_budgets=f"{HOST_A}=40/1",
        global_concurrency=64,
        per_host_concurrency=64,
    )

    poller_run(settings).run(once=True)

    crowded = starts(hosts[HOST_A])
    assert len(crowded) == 200  # every feed polled once
    # Arrivals, as the host sees them: at most 40 a second, over 5 s, not at once. The poller writes them at most
    # so, a gap apart (test_politeness_pacing); the slack is for this test's server, whose threads share the poller's
    # process and a busy machine, and may read a request late and its successor on time.
    assert most_starts_within(crowded, 1.0) <= 40 * ARRIVAL_SLACK
    assert max(crowded) - min(crowded) >= 199 / 40 * PACING_MARGIN - 0.5
    # The other host had the default budget (2 starts per 2 s) of its own.
    assert len(starts(hosts[HOST_B])) == 4
    assert most_starts_within(starts(hosts[HOST_B]), 2.0) <= 2


def test_a_host_waiting_for_its_budget_does_not_hold_up_other_hosts(hosts, settings_factory, poller_run):
    slow = serve_feeds(hosts[HOST_A], 2)
    other = serve_feeds(hosts[HOST_B], 1)
    settings = settings_factory(
        feeds=",".join(slow + other),
        host_fetch_budgets=f"{HOST_A}=1/4,{HOST_B}=10/1",
        global_concurrency=1,  # one fetch at a time: a fetch asleep on its host's budget must not take the slot
    )

    poller_run(settings).run(once=True)

    first_a, second_a = sorted(starts(hosts[HOST_A]))
    (only_b,) = starts(hosts[HOST_B])
    assert second_a - first_a >= 4.0 - 0.05
    assert only_b < second_a


def throttling(after: int, code: int, headers: dict[str, str] | None, body: bytes) -> Respond:
    """200 for the first ``after`` requests of the server, then ``code``: a site's rate limiter."""
    seen = itertools.count()

    def respond(handler: _Handler) -> None:
        if next(seen) < after:
            handler.body(body)
        else:
            handler.body(b"slow down", status=code, content_type="text/plain", headers=headers)

    return respond


def test_429_with_retry_after_pauses_every_feed_of_the_host_not_the_others(hosts, settings_factory, poller_run):
    busy = hosts[HOST_A]
    busy.routes["/busy.xml"] = status(429, {"Retry-After": "3"})
    urls = [busy.url("/busy.xml"), *serve_feeds(busy, 3), *serve_feeds(hosts[HOST_B], 3)]
    settings = settings_factory(
        feeds=",".join(urls),
        host_fetch_budgets=f"{HOST_A}=20/1,{HOST_B}=20/1",
        per_host_concurrency=1,  # no fetch in flight when the 429 comes back
    )

    poller_run(settings).run(once=False, seconds=7.0)

    refusals = busy.requests["/busy.xml"]
    assert refusals
    for refused in refusals:
        during = [moment for moment in starts(busy) if refused < moment < refused + 3.0 - 0.05]
        assert during == [], "the host was fetched during the pause it asked for"
    # Host B was polled right through host A's pause.
    assert any(refusals[0] < moment < refusals[0] + 3.0 for moment in starts(hosts[HOST_B]))
    feeds = poller_run(settings).feeds()
    throttled = feeds[busy.url("/busy.xml")].state
    assert throttled.throttles_total == len(refusals)
    assert throttled.errors_total == 0 and throttled.temporary_failures == 0
    assert not throttled.disabled
    assert all(feed.state.errors_total == 0 for feed in feeds.values())


def test_403_after_a_burst_throttles_the_host_and_is_not_a_broken_feed(hosts, settings_factory, poller_run):
    limited = hosts[HOST_A]
    paths = [f"/desk-{number}.xml" for number in range(6)]
    respond = throttling(3, 403, None, rss_feed(1))
    for path in paths:
        limited.routes[path] = respond
    settings = settings_factory(
        feeds=",".join(limited.url(path) for path in paths),
        host_fetch_budgets=f"{HOST_A}=6/1",
        per_host_concurrency=1,  # one after the other, so the 403 is seen before another fetch starts
    )

    poller_run(settings).run(once=True)

    states = [feed.state for feed in poller_run(settings).feeds().values()]
    # Three answered; the first 403 (a burst of four starts) paused the host, so the others were not fetched.
    assert len(starts(limited)) == 4
    assert sum(state.throttles_total for state in states) == 1
    assert sum(1 for state in states if state.last_status.startswith("waiting:")) == 2
    assert all(state.permanent_failures == 0 and state.errors_total == 0 for state in states)
    assert not any(state.disabled for state in states)
