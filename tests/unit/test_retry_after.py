"""A server's ``Retry-After`` header, as feed fetches and the indexer read it: the forms RFC 9110 allows, a bound,
and nothing (never an exception) for anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.retry import MAX_RETRY_AFTER, retry_after_seconds

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12", 12.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("0000005", 5.0),
        ("99999999999999999999", MAX_RETRY_AFTER),
        ("9" * 5000, MAX_RETRY_AFTER),  # longer than int() takes
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),  # a date gone by: no wait
        (format_datetime(NOW + timedelta(days=400), usegmt=True), MAX_RETRY_AFTER),
    ],
)
def test_a_retry_after_header_is_read_as_seconds_to_wait(value, seconds):
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "soon", "-3", "1.5", "+5", "²", "١٢", "1e3", "nan", "Wed, 99 Foo 2026 25:61:61", "3 s"]
)
def test_a_retry_after_header_that_is_not_one_asks_for_nothing(value):
    assert retry_after_seconds(value, NOW) is None


@given(st.text(max_size=80))
def test_any_retry_after_header_gives_nothing_or_a_wait_within_bounds(value):
    seconds = retry_after_seconds(value, NOW)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


@given(st.text(max_size=80), st.floats(min_value=1, max_value=10**7))
def test_a_caller_s_own_bound_holds_for_any_header(value, longest):
    seconds = retry_after_seconds(value, NOW, longest=longest)
    assert seconds is None or 0.0 <= seconds <= longest


@given(st.integers(min_value=0, max_value=10**30))
def test_any_delta_seconds_is_that_wait_up_to_the_bound(seconds):
    assert retry_after_seconds(str(seconds), NOW, longest=86400.0) == min(float(seconds), 86400.0)
