"""Bad input in embedded mode is handled as with Kafka: dead-lettered with the reason, counted, the stages go on."""

from __future__ import annotations

import json
import threading
import time

import pytest

from newswire.bus import open_bus, pipeline_topics
from newswire.contract import decode_deadletter, encode_raw
from newswire.indexer import open_store
from newswire.indexer.service import build_index_stage
from newswire.processors.service import build_process_stage
from newswire.settings import load_settings
from tests.factories import article_factory

pytestmark = [pytest.mark.e2e]


def test_poison_messages_are_set_aside_and_good_ones_indexed(data_dir):
    settings = load_settings(data_dir=data_dir, batch_size=8)
    bus = open_bus(settings, embedded=True)
    bus.ensure_topics(pipeline_topics(settings))
    store = open_store(settings, embedded=True)
    store.ensure_ready()
    good = [article_factory(), article_factory()]
    wrong_schema = json.dumps({"schema": "newswire.raw/9", "id": "abc"}).encode()
    producer = bus.producer()
    producer.send(settings.topic_raw, good[0].id.encode(), encode_raw(good[0]))
    producer.send(settings.topic_raw, b"poison-1", b"{not json")
    producer.send(settings.topic_raw, b"poison-2", wrong_schema)
    producer.send(settings.topic_raw, good[1].id.encode(), encode_raw(good[1]))
    producer.flush()

    stages = [build_process_stage(settings, bus), build_index_stage(settings, bus, store)]
    stop = threading.Event()
    threads = [threading.Thread(target=stage.run, args=(stop,), daemon=True) for stage in stages]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while store.count() < 2 and time.monotonic() < deadline and all(t.is_alive() for t in threads):
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert store.count() == 2
    assert {store.get(a.id).title for a in good} == {a.title for a in good}  # type: ignore[union-attr]
    process_stage = stages[0]
    assert process_stage.counters["deadlettered"] == 2
    assert process_stage.counters["consumed"] == 4

    consumer = bus.consumer([settings.topic_deadletter], "check-deadletters")
    letters = [decode_deadletter(record.value) for record in consumer.poll(100, 2.0)]
    consumer.close()
    assert len(letters) == 2
    by_key = {letter.origin.key: letter for letter in letters}
    assert "not JSON" in by_key["poison-1"].reason
    assert by_key["poison-1"].payload == "{not json"
    assert by_key["poison-2"].origin.topic == settings.topic_raw
    assert by_key["poison-2"].origin.offset is not None
    assert all(letter.stage == process_stage.name for letter in letters)
    store.close()
    bus.close()
