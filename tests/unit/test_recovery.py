"""Poison, dead letters (list, replay) and lag (status) on the embedded bus; the same scenarios run on Kafka in
tests/integration/test_recovery_kafka.py."""

from __future__ import annotations

import json

import pytest

from newswire.app.cli import main
from newswire.bus import open_bus, pipeline_topics
from newswire.contract import encode_enriched
from newswire.settings import Settings, load_settings
from tests import recovery_scenarios as scenarios
from tests.factories import enriched_factory


@pytest.fixture
def settings(data_dir) -> Settings:
    return load_settings(data_dir=data_dir, topic_partitions=3)


@pytest.fixture
def bus(settings):
    bus = open_bus(settings, embedded=True)
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


def test_the_commands_list_replay_and_show_the_lag(settings, bus, data_dir, capsys):
    refused = enriched_factory()
    scenarios.publish(
        bus, settings.topic_enriched, [(b"broken", b"{nope"), (refused.id.encode(), encode_enriched(refused))]
    )
    store = scenarios.MemoryStore(refuse=[refused.id])
    with scenarios.running(scenarios.indexer(settings, bus, store)) as stage:
        scenarios.wait_until(lambda: stage.counters["consumed"] >= 2, "both messages to be committed")
    flags = ["--embedded", "--data-dir", str(data_dir)]

    assert main(["deadletters", "list", "--json", *flags]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(item["article_id"], item["stage"], item["replayed"]) for item in listed} == {
        ("broken", "indexer", False),
        (refused.id, "indexer", False),
    }
    assert all(item["origin"]["topic"] == settings.topic_enriched for item in listed)

    assert main(["deadletters", "list", "--reason", "not json", *flags]) == 0
    text = capsys.readouterr().out
    assert "broken" in text and refused.id not in text and "1 dead letters" in text

    assert main(["deadletters", "replay", "--reason", "SearchRejected", *flags]) == 0
    assert "replayed 1 dead letters" in capsys.readouterr().out
    assert main(["deadletters", "replay", "--reason", "SearchRejected", *flags]) == 0
    assert "replayed 0 dead letters to their topics; 1 replayed before, skipped" in capsys.readouterr().out
    assert main(["deadletters", "list", "--json", "--since", "2999-01-01", *flags]) == 0
    assert capsys.readouterr().out == ""

    assert main(["status", "--json", *flags]) == 0
    status = json.loads(capsys.readouterr().out)
    by_stage = {item["stage"]: item for item in status["stages"]}
    # The indexer committed both messages; the replayed one waits on the topic for it.
    assert (by_stage["indexer"]["end"], by_stage["indexer"]["committed"], by_stage["indexer"]["lag"]) == (3, 2, 1)
    assert by_stage["processor"]["lag"] == 0 and status["deadletters"] == 2
    assert main(["status", *flags]) == 0
    assert "indexer" in capsys.readouterr().out


def test_reindex_rebuilds_the_embedded_store_from_the_bus_while_searches_run(settings, bus):
    from newswire.indexer.embedded import EmbeddedStore

    store = EmbeddedStore(settings.embedded_store_path)
    store.ensure_ready()
    reader = EmbeddedStore(settings.embedded_store_path)  # as `newswire serve` reads it, from its own connections
    try:
        scenarios.reindex_rebuilds_from_the_topic_while_searches_run(settings, bus, store, reader)
    finally:
        reader.close()
        store.close()
    assert sorted(p.name for p in settings.data_dir.iterdir() if "rebuild" in p.name) == []


def test_reprocess_re_enriches_what_came_since_a_time_on_the_embedded_bus(settings, bus):
    from newswire.indexer.embedded import EmbeddedStore

    store = EmbeddedStore(settings.embedded_store_path)
    store.ensure_ready()
    try:
        scenarios.reprocess_re_enriches_what_came_since_a_time_and_the_index_takes_it(settings, bus, store)
    finally:
        store.close()
