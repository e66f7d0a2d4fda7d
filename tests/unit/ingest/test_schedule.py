"""The polling schedule: adaptive within bounds, the publisher's wishes as floors, back-off with jitter."""

from __future__ import annotations

import pytest

from newswire.ingest.base import FeedState
from newswire.ingest.schedule import after_success, after_temporary_failure, max_age_seconds
from newswire.settings import load_settings

ADAPTIVE = load_settings(poll_interval=600, min_poll_interval=300, max_poll_interval=3600)


def next_interval(state: FeedState, new_items: int, **kwargs) -> float:
    options = {"publisher_interval": None, "cache_control": None}
    options.update(kwargs)
    return after_success(state, ADAPTIVE, new_items=new_items, **options)


def test_busy_feeds_speed_up_to_the_minimum_and_quiet_ones_slow_to_the_maximum():
    state = FeedState()
    intervals = []
    for _ in range(6):
        state.interval = next_interval(state, new_items=3)
        intervals.append(state.interval)
    assert intervals[0] == 300
    assert intervals[-1] == 300
    for _ in range(12):
        state.interval = next_interval(state, new_items=0)
    assert state.interval == 3600


def test_ttl_and_max_age_are_floors_but_never_beyond_the_maximum():
    state = FeedState(interval=300)
    assert next_interval(state, 5, publisher_interval=1800) == 1800
    assert next_interval(state, 5, cache_control="public, max-age=900") == 900
    assert next_interval(state, 5, publisher_interval=7 * 86400) == 3600


def test_fixed_schedule_when_min_equals_max():
    fixed = load_settings(poll_interval=60, min_poll_interval=60, max_poll_interval=60)
    state = FeedState()
    assert after_success(state, fixed, new_items=0, publisher_interval=None, cache_control=None) == 60
    assert after_success(state, fixed, new_items=9, publisher_interval=None, cache_control=None) == 60


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=60", 60),
        ("public, s-maxage=10, max-age=120", 120),
        ("no-cache, max-age=60", None),
        (None, None),
        ("private", None),
    ],
)
def test_max_age(header, seconds):
    assert max_age_seconds(header) == seconds


def test_back_off_grows_exponentially_with_jitter_and_is_capped():
    ceilings = []
    for failures in range(1, 10):
        state = FeedState(interval=300, temporary_failures=failures)
        delays = [after_temporary_failure(state, ADAPTIVE, None) for _ in range(50)]
        ceilings.append(max(delays))
        assert all(delay <= 3600 for delay in delays)
        if failures > 1:
            assert len({round(delay) for delay in delays}) > 1  # jittered
    assert ceilings[0] == 300
    assert ceilings[1] <= 600
    assert ceilings[-1] == pytest.approx(3600, rel=0.1)


def test_retry_after_wins_even_over_the_maximum():
    state = FeedState(interval=300, temporary_failures=1)
    assert after_temporary_failure(state, ADAPTIVE, 7200) == 7200
