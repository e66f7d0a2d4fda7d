"""Poison, dead letters (list, replay) and lag (status) on a real Kafka broker: the scenarios of
tests/unit/test_recovery.py, each on topics and groups of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newswire.bus import Bus, open_bus, pipeline_topics
from newswire.settings import Settings, load_settings
from tests import recovery_scenarios as scenarios

pytestmark = [pytest.mark.kafka]


@pytest.fixture
def settings(kafka_servers: str, unique_name, data_dir) -> Settings:
    return load_settings(
        kafka=kafka_servers,
        data_dir=data_dir,
        topic_raw=unique_name("news.raw"),
        topic_enriched=unique_name("news.enriched"),
        topic_deadletter=unique_name("news.deadletter"),
        topic_feeds=unique_name("news.feeds"),
        topic_partitions=3,
        processor_group=unique_name("processor"),
        indexer_group=unique_name("indexer"),
    )


@pytest.fixture
def bus(settings: Settings) -> Iterator[Bus]:
    bus = open_bus(settings, embedded=False, client_id="test-recovery")
    bus.ensure_topics(pipeline_topics(settings))
    yield bus
    bus.close()


def test_poison_is_dead_lettered_with_reason_and_origin_then_replayed_after_a_fix(settings, bus):
    scenarios.poison_is_dead_lettered_with_reason_and_origin_then_replayed_after_a_fix(settings, bus)


def test_a_record_lettered_again_after_a_missed_commit_is_one_letter_replayed_once(settings, bus):
    scenarios.a_record_lettered_again_after_a_missed_commit_is_one_letter_replayed_once(settings, bus)


def test_oversized_messages_are_dead_lettered_and_the_stage_goes_on(settings, bus):
    scenarios.oversized_output_and_near_limit_input_are_dead_lettered_and_the_stage_goes_on(settings, bus)


def test_lag_grows_while_the_processor_is_away_and_falls_after(settings, bus):
    scenarios.lag_grows_while_the_processor_is_away_and_falls_after(settings, bus)
