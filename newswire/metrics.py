"""Prometheus metrics of one newswire process, for ``/metrics`` of ``newswire serve`` and of each service.

Every metric is in one registry per process, :data:`REGISTRY` (process CPU and memory included). The services count
in plain :class:`collections.Counter` objects they already keep (a stage's ``counters``, the poller's); a
:class:`CountersCollector` reads them when Prometheus scrapes, so the hot paths pay nothing. A consumer group's lag
is read from the bus at scrape time too (at most every :data:`LAG_EVERY` seconds). Names (see the README):

- ``newswire_stage_messages_total{stage, group, outcome}``: consumed, produced, deadlettered, retries, ...
- ``newswire_deadletters_total{stage, group, error_type}``: dead letters by why (``ContractError``, ...)
- ``newswire_consumer_lag_messages{stage, group, topic}``: end offsets minus the group's committed positions
- ``newswire_batch_seconds{stage}``: time to handle, send and commit one batch (histogram)
- ``newswire_ingest_events_total{event}``: polls, parsed, published, revised, feed_errors, publish_failures, ...
- ``newswire_index_delay_seconds``: from an article's fetch to its write in the search store (histogram)
- ``newswire_http_requests_total{route, method, status}``, ``newswire_http_request_seconds{route}`` (serve)
- ``newswire_store_articles``: articles in the search store (serve, at scrape)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client import (
    Counter as PrometheusCounter,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the stage records its batch times here
    from newswire.bus import Bus
    from newswire.stage import Stage

logger = logging.getLogger(__name__)

__all__ = [
    "BATCH_SECONDS",
    "CONTENT_TYPE",
    "COUNTERS",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "INDEX_DELAY_SECONDS",
    "REGISTRY",
    "CountersCollector",
    "exposition",
    "serve_metrics",
    "watch_gauge",
    "watch_stage",
]

LAG_EVERY = 10.0
CONTENT_TYPE = CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

BATCH_SECONDS = Histogram(
    "newswire_batch_seconds",
    "Time to handle, send and commit one batch.",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
INDEX_DELAY_SECONDS = Histogram(
    "newswire_index_delay_seconds",
    "Seconds from an article's fetch by the poller to its write in the search store.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "newswire_http_request_seconds",
    "Time to answer an API request (a live stream: until it ends).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)

HTTP_REQUESTS = PrometheusCounter(
    "newswire_http_requests",
    "API requests answered, by route, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)


class CountersCollector(Collector):
    """Counter metrics read from :class:`collections.Counter` objects when scraped.

    ``watch(metric, labels, counters, key_label)`` exposes each key of ``counters`` as one sample of ``metric``
    with ``labels`` and ``{key_label: key}``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, str] = {}
        self._sources: list[tuple[str, dict[str, str], Counter[str], str]] = []
        self._gauges: list[tuple[str, dict[str, str], Callable[[], float | None]]] = []

    def describe_metric(self, metric: str, help_text: str) -> None:
        self._help[metric] = help_text

    def watch(self, metric: str, labels: Mapping[str, str], counters: Counter[str], key_label: str) -> None:
        with self._lock:
            self._sources.append((metric, dict(labels), counters, key_label))

    def gauge(self, metric: str, labels: Mapping[str, str], read: Callable[[], float | None]) -> None:
        with self._lock:
            self._gauges.append((metric, dict(labels), read))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources, gauges = list(self._sources), list(self._gauges)
        families: dict[str, CounterMetricFamily] = {}
        for metric, labels, counters, key_label in sources:
            names = [*labels, key_label]
            family = families.get(metric)
            if family is None:
                family = families[metric] = CounterMetricFamily(metric, self._help.get(metric, metric), labels=names)
            for key, count in _snapshot(counters).items():
                family.add_metric([*labels.values(), key], count)
        yield from families.values()
        gauge_families: dict[str, GaugeMetricFamily] = {}
        for metric, labels, read in gauges:
            try:
                value = read()
            except Exception:  # a metric that cannot be read now is left out of this scrape, never a failed scrape
                logger.debug("metric %s %s cannot be read", metric, labels, exc_info=True)
                continue
            if value is None:
                continue
            family_g = gauge_families.get(metric)
            if family_g is None:
                help_text = self._help.get(metric, metric)
                family_g = gauge_families[metric] = GaugeMetricFamily(metric, help_text, labels=list(labels))
            family_g.add_metric(list(labels.values()), value)
        yield from gauge_families.values()


def _snapshot(counters: Counter[str]) -> dict[str, int]:
    """A copy of ``counters`` taken while another thread may add keys to it."""
    for _ in range(10):
        try:
            return dict(counters)
        except RuntimeError:  # the dict changed size while copied
            continue
    return {}


COUNTERS = CountersCollector()
COUNTERS.describe_metric("newswire_stage_messages", "Messages a stage consumed, produced, dead-lettered, retried.")
COUNTERS.describe_metric("newswire_deadletters", "Dead letters a stage wrote, by the type of the error.")
COUNTERS.describe_metric("newswire_ingest_events", "What the feed pollers did: polls, articles parsed, published.")
COUNTERS.describe_metric("newswire_consumer_lag_messages", "Messages on a topic the group has not committed yet.")
COUNTERS.describe_metric("newswire_store_articles", "Articles in the search store.")
REGISTRY.register(COUNTERS)


def watch_gauge(metric: str, labels: Mapping[str, str], read: Callable[[], float | None], every: float = 0.0) -> None:
    """Expose ``read()`` as a gauge, read when scraped (at most every ``every`` seconds; the last value between)."""
    if every <= 0:
        COUNTERS.gauge(metric, labels, read)
        return
    last: list[float | None] = [None, None]  # read at, value

    def cached() -> float | None:
        now = time.monotonic()
        if last[0] is None or now - last[0] >= every:
            last[1] = read()
            last[0] = now
        return last[1]

    COUNTERS.gauge(metric, labels, cached)


def watch_stage(stage: Stage, lag_bus: Bus | None = None) -> None:
    """Expose ``stage``'s counters, and with ``lag_bus`` (a bus of its own: scrapes come from another thread) its
    consumer group's lag on each of its topics."""
    labels = {"stage": stage.name, "group": stage.group}
    COUNTERS.watch("newswire_stage_messages", labels, stage.counters, "outcome")
    COUNTERS.watch("newswire_deadletters", labels, stage.deadletters, "error_type")
    if lag_bus is None:
        return
    for topic in stage.topics:

        def lag(topic: str = topic) -> float:
            ends = lag_bus.end_offsets(topic)
            committed = lag_bus.committed(stage.group, topic)
            return float(sum(max(0, end - committed.get(partition, 0)) for partition, end in ends.items()))

        watch_gauge(
            "newswire_consumer_lag_messages",
            {"stage": stage.name, "group": stage.group, "topic": topic},
            lag,
            LAG_EVERY,
        )


def exposition() -> bytes:
    """The text of a scrape of :data:`REGISTRY`."""
    return generate_latest(REGISTRY)


def serve_metrics(host: str, port: int) -> WSGIServer:
    """Serve ``/metrics`` of :data:`REGISTRY` on ``host:port`` in a daemon thread (a service's metrics endpoint)."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    logger.info("metrics at http://%s:%d/metrics", host, server.server_port)
    return server
