"""Fixtures of the ingest tests: a scripted feed server, settings for it, a poller running on the embedded bus."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from newswire.bus import open_bus
from newswire.contract import Article, decode_raw
from newswire.ingest.base import Feed
from newswire.ingest.fetch import Fetcher
from newswire.ingest.netguard import GuardedBackend
from newswire.ingest.service import Poller
from newswire.ingest.state import StateFile
from newswire.settings import Settings, load_settings
from tests.unit.ingest.feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings_factory(data_dir: Path) -> Callable[..., Settings]:
    """Settings for polling the test server: fast fixed schedule, loopback allowed unless told otherwise."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "poll_interval": 1.0,
            "min_poll_interval": 1.0,
            "max_poll_interval": 1.0,
            "fetch_timeout": 3.0,
            "allow_private_addresses": True,
            "topic_partitions": 2,
            # The tests' own server is one host for every feed; tests of politeness use other loopback addresses.
            "host_fetch_budgets": "127.0.0.1=1000/1",
        }
        values.update(overrides)
        return load_settings(**values)

    return make


class PollerRun:
    """A poller on the embedded bus of ``settings.data_dir``, run once or for a while in a thread."""

    def __init__(self, settings: Settings, *, guard_exempt: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.guard_exempt = guard_exempt

    def _poller(self, bus: Any, state: StateFile) -> Poller:
        fetcher = None
        if self.guard_exempt:
            backend = GuardedBackend(allow_private=False, exempt=self.guard_exempt)
            fetcher = Fetcher(self.settings, network_backend=backend)
        return Poller(self.settings, bus, state, fetcher=fetcher)

    def run(self, *, once: bool = True, seconds: float = 0.0) -> None:
        import asyncio

        from newswire.bus import pipeline_topics

        bus = open_bus(self.settings, embedded=True)
        bus.ensure_topics(pipeline_topics(self.settings))
        state = StateFile.in_dir(self.settings.data_dir)
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set) if not once else None
        try:
            if timer:
                timer.start()
            asyncio.run(self._poller(bus, state).run(stop, once=once))
        finally:
            if timer:
                timer.cancel()
            state.close()
            bus.close()

    def articles(self) -> list[Article]:
        """Every article on the raw topic, in order of partition and offset."""
        bus = open_bus(self.settings, embedded=True)
        try:
            consumer = bus.consumer([self.settings.topic_raw], f"check-{id(self)}-{threading.get_ident()}")
            found: list[Article] = []
            while batch := consumer.poll(1000, 0.2):
                found += [decode_raw(record.value) for record in batch]
            consumer.close()
            return found
        finally:
            bus.close()

    def feeds(self) -> dict[str, Feed]:
        """The feeds in the state file, by configured URL."""
        state = StateFile.in_dir(self.settings.data_dir)
        try:
            return {feed.config.url: feed for feed in state.feeds()}
        finally:
            state.close()


@pytest.fixture
def poller_run() -> Callable[..., PollerRun]:
    return PollerRun
