"""Settings: defaults that work on localhost, environment and flags, one clear error for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswire.errors import ConfigError
from newswire.settings import load_settings


def test_defaults_work_on_localhost():
    settings = load_settings()
    assert settings.kafka_servers == "127.0.0.1:9092"
    assert settings.es_url == "http://127.0.0.1:9200"
    assert settings.topic_raw == "news.raw"
    assert settings.kafka is None and settings.es is None


def test_environment_is_read_under_the_prefix(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_KAFKA", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("NEWSWIRE_BATCH_SIZE", "16")
    settings = load_settings()
    assert settings.kafka_servers == "broker-1:9092,broker-2:9092"
    assert settings.batch_size == 16


def test_flags_win_over_environment_and_none_flags_do_not_hide_it(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_ES", "http://es.internal:9200")
    monkeypatch.setenv("NEWSWIRE_DATA_DIR", "/var/lib/newswire")
    settings = load_settings(es="http://127.0.0.1:9201", data_dir=None)
    assert settings.es_url == "http://127.0.0.1:9201"
    assert settings.data_dir == Path("/var/lib/newswire")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"kafka": "localhost"}, "NEWSWIRE_KAFKA"),
        ({"kafka": "localhost:99999"}, "NEWSWIRE_KAFKA"),
        ({"es": "localhost:9200"}, "NEWSWIRE_ES"),
        ({"es": "ftp://es.example"}, "NEWSWIRE_ES"),
        ({"batch_size": 0}, "NEWSWIRE_BATCH_SIZE"),
    ],
)
def test_a_bad_value_is_one_config_error_naming_the_setting(overrides, named):
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_environment_value_is_reported_too(monkeypatch):
    monkeypatch.setenv("NEWSWIRE_POLL_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="NEWSWIRE_POLL_INTERVAL"):
        load_settings()


def test_an_unknown_setting_is_refused():
    with pytest.raises(ConfigError, match="NEWSWIRE_KAFAK"):
        load_settings(kafak="localhost:9092")


def test_settings_are_frozen():
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.batch_size = 3  # type: ignore[misc]
