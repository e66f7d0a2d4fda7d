"""A poller stopped between Kafka's acknowledgement and its record publishes nothing twice (real broker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newswire.bus import Bus, TopicSpec, open_bus
from newswire.settings import load_settings
from tests import publish_scenarios as scenarios

pytestmark = [pytest.mark.kafka]


@pytest.fixture
def topics(unique_name) -> tuple[str, str]:
    return unique_name("raw"), unique_name("feeds")


@pytest.fixture
def bus(kafka_servers: str, topics: tuple[str, str], data_dir: Path) -> Iterator[Bus]:
    bus = open_bus(load_settings(kafka=kafka_servers, data_dir=data_dir), embedded=False, client_id="test-pending")
    bus.ensure_topics([TopicSpec(topics[0], 3), TopicSpec(topics[1], 1, compacted=True)])
    yield bus
    bus.close()


def test_a_stop_after_the_flush_publishes_nothing_twice(bus: Bus, topics: tuple[str, str], data_dir: Path) -> None:
    scenarios.a_stop_after_the_flush_publishes_nothing_twice(bus, data_dir / "state.sqlite3", topics)
