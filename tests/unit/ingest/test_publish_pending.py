"""A poller stopped between the bus's acknowledgement and its record publishes nothing twice (embedded bus)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from newswire.bus import Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.errors import BusError
from newswire.ingest.publish import Publisher
from newswire.ingest.state import StateFile
from tests import publish_scenarios as scenarios
from tests.factories import article_factory

TOPICS = ("raw", "feeds")


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[EmbeddedBus]:
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec("raw", 3), TopicSpec("feeds", 1, compacted=True)])
    yield bus
    bus.close()


def test_a_stop_after_the_flush_publishes_nothing_twice(bus: EmbeddedBus, tmp_path: Path) -> None:
    scenarios.a_stop_after_the_flush_publishes_nothing_twice(bus, tmp_path / "state.sqlite3", TOPICS)


def test_an_acknowledged_batch_leaves_nothing_pending(bus: EmbeddedBus, tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state.sqlite3")
    articles = [article_factory() for _ in range(3)]

    async def publish() -> None:
        publisher = Publisher(bus, state, topic_raw="raw", topic_feeds="feeds")
        await publisher.start()
        try:
            await publisher.publish(None, articles, [scenarios.known(a) for a in articles])  # type: ignore[arg-type]
        finally:
            await publisher.close()

    asyncio.run(publish())
    assert state.pending() == {}
    assert set(state.known(a.id for a in articles)) == {a.id for a in articles}
    state.close()


class _Unreadable(EmbeddedBus):
    def read(self, topic: str, *, since_ms: int | None = None, batch: int = 500) -> Iterator[list[Record]]:
        raise BusError(f"cannot read {topic!r} outside a consumer group")


def test_a_bus_that_cannot_be_read_back_means_publishing_again_not_losing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = _Unreadable(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec("raw", 1), TopicSpec("feeds", 1, compacted=True)])
    state = StateFile(tmp_path / "state.sqlite3")
    waiting = [article_factory() for _ in range(2)]
    state.record_pending([scenarios.known(a) for a in waiting], sent_ms=1_700_000_000_000)
    with caplog.at_level(logging.WARNING, logger="newswire.ingest.publish"):
        publisher = Publisher(bus, state, topic_raw="raw", topic_feeds="feeds")

        async def start_and_close() -> None:
            await publisher.start()
            await publisher.close()

        asyncio.run(start_and_close())
    assert "cannot look for 2 pending articles in raw, so they are published again" in caplog.text
    assert state.pending() == {}
    assert state.known(a.id for a in waiting) == {}  # not recorded: the next poll publishes them
    state.close()
    bus.close()
