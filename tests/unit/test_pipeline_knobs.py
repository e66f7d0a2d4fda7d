"""The knobs issue 16 measures reach the clients: the producer's linger and the article index's refresh interval."""

from __future__ import annotations

from typing import Any

import pytest

from newswire.bus import open_bus
from newswire.errors import ConfigError
from newswire.indexer import open_store
from newswire.settings import load_settings


class _Admin:
    """kafka-python's admin client with no broker behind it: the bus only opens and closes it here."""

    def __init__(self, **config: Any) -> None:
        self.config = config

    def close(self) -> None: ...


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("newswire.bus.kafka._probe", lambda servers, timeout: None)
    monkeypatch.setattr("newswire.bus.kafka.KafkaAdminClient", _Admin)


@pytest.mark.parametrize(
    ("given", "linger_ms"), [({}, 5), ({"producer_linger_ms": 0}, 0), ({"producer_linger_ms": 50}, 50)]
)
def test_the_producer_lingers_as_the_settings_say(no_broker, given, linger_ms):
    bus = open_bus(load_settings(**given), embedded=False)
    try:
        assert bus.producer_config()["linger_ms"] == linger_ms
    finally:
        bus.close()


def test_the_linger_comes_from_the_environment_too(no_broker, monkeypatch):
    monkeypatch.setenv("NEWSWIRE_PRODUCER_LINGER_MS", "20")
    bus = open_bus(load_settings(), embedded=False)
    try:
        assert bus.producer_config()["linger_ms"] == 20
    finally:
        bus.close()


@pytest.mark.parametrize(
    "overrides", [{"producer_linger_ms": -1}, {"producer_linger_ms": 1001}, {"index_refresh_seconds": 0}]
)
def test_out_of_range_knobs_are_refused(overrides):
    with pytest.raises(ConfigError, match=next(iter(overrides)).upper()):
        load_settings(**overrides)


def test_unset_the_index_keeps_elasticsearchs_refresh():
    store = open_store(load_settings(), embedded=False)
    try:
        # No refresh_interval at all: Elasticsearch's default, which also skips refreshes of an index nobody
        # searches (an explicit "1s" would not).
        assert store.index_settings() == {"number_of_shards": 1, "number_of_replicas": 0}
    finally:
        store.close()


@pytest.mark.parametrize(("seconds", "interval"), [(0.5, "500ms"), (1.0, "1000ms"), (5.0, "5000ms"), (0.0015, "2ms")])
def test_the_refresh_setting_reaches_the_index_settings(seconds, interval):
    store = open_store(load_settings(index_refresh_seconds=seconds), embedded=False)
    try:
        assert store.index_settings()["refresh_interval"] == interval
        assert store.index_settings()["number_of_shards"] == 1
    finally:
        store.close()
