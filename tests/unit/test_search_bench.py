"""The search bench's paced load: it keeps to its rate and counts a search's wait from when it was due."""

from __future__ import annotations

import time

from bench.search_bench import Search, load, search_query
from newswire.search import SearchQuery


def _one_search() -> list[Search]:
    params = [("q", "wagner")]
    return [Search(weight=1, params=params, query=search_query(params), body=b"{}")]


def test_a_paced_client_sends_no_more_than_its_rate_and_counts_the_wait_behind_a_slow_answer():
    answers: list[float] = []

    def slow_first(search: Search) -> bool:
        assert isinstance(search.query, SearchQuery)
        answers.append(time.perf_counter())
        if len(answers) == 1:
            time.sleep(0.5)  # the first answer takes 0.5 s; the second search was due 0.1 s in
        return True

    phase = load("paced", [slow_first], _one_search(), seconds=1.0, rate=10.0)

    assert 1 < len(phase.latencies) <= 10  # one search due every 0.1 s, none after the deadline
    assert phase.latencies[0] >= 0.5
    # Sent at 0.5 s, due at 0.1 s: its latency holds the 0.4 s it waited behind the slow answer.
    assert phase.latencies[1] >= 0.4
    assert phase.errors == 0


def test_back_to_back_clients_send_as_soon_as_the_last_answer_came():
    calls = 0

    def instant(search: Search) -> bool:
        nonlocal calls
        calls += 1
        return calls % 2 == 0  # every other answer a failure

    phase = load("back to back", [instant, instant], _one_search(), seconds=0.2)

    assert len(phase.latencies) == calls > 20
    assert phase.errors == calls - calls // 2
