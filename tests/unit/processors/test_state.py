"""Storylines shared by processor replicas through the state topic: the record carries the event's embedding."""

from __future__ import annotations

import numpy as np
import pytest

from newswire.bus import open_bus
from newswire.errors import ContractError
from newswire.processors.state import SharedGrouping, decode_embedding, decode_state, encode_embedding, state_topic
from newswire.processors.stories import StoryTracker
from newswire.processors.storylines import WINDOW as STORYLINE_WINDOW
from newswire.processors.storylines import StorylineTracker
from newswire.settings import load_settings
from tests.unit.processors.test_storylines import CountingEmbedder, _flood_in_poland, _report


def _replica(bus, topic: str, embedder: CountingEmbedder) -> SharedGrouping:
    tracker = StoryTracker(storylines=StorylineTracker(embedder))
    replica = SharedGrouping(bus, topic, "processor", tracker=tracker, start_timeout=10)
    replica.start()
    return replica


def _publish(bus, replica: SharedGrouping) -> list[bytes]:
    outputs = replica.drain_outputs()
    producer = bus.producer()
    for output in outputs:
        producer.send(output.topic, output.key, output.value)
    producer.flush()
    producer.close()
    return [output.value for output in outputs]


def test_a_replica_continues_the_storyline_another_replica_opened_without_embedding_its_event(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    bus = open_bus(settings, embedded=True)
    topic = state_topic(settings)
    bus.ensure_topics([topic])
    first_embedder, second_embedder = CountingEmbedder(), CountingEmbedder()
    first = _replica(bus, topic.name, first_embedder)
    second = _replica(bus, topic.name, second_embedder)
    try:
        [flood] = first.assign([_flood_in_poland()])
        [record] = _publish(bus, first)
        features, assignment = decode_state(record)  # type: ignore[misc]
        assert features.embedding is not None and assignment.storyline_id == flood.storyline_id == flood.id
        inquiry = _report(  # the follow-up that joins the flood's storyline in one process (test_storylines)
            "Poland opens inquiry into embankment that failed in Zalesie floods",
            "Prosecutors said the embankment on the Szklanka river gave way; the floods forced hundreds from Zalesie.",
            ["Poland", "Zalesie"],
            hours=80,
        )
        [inquiry] = second.assign([inquiry])
        assert inquiry.storyline_id == flood.id  # the storyline the other replica opened
        assert inquiry.event_id == inquiry.id != flood.event_id  # a new event of it, days later
        assert len(first_embedder.texts) == 1
        assert len(second_embedder.texts) == 1  # its own new event only: the flood's came with the record
    finally:
        first.close()
        second.close()
        bus.close()


def test_the_state_topic_outlives_a_paused_storyline(tmp_path):
    topic = state_topic(load_settings(data_dir=tmp_path))
    assert topic.retention_ms is not None and topic.retention_ms >= STORYLINE_WINDOW.total_seconds() * 1000


def test_an_embedding_survives_the_record_and_a_broken_one_is_refused():
    vector = np.random.default_rng(3).normal(size=384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    assert float(decode_embedding(encode_embedding(vector)) @ vector) > 0.9999  # float16 on the wire
    for broken in ("", "not base64!", encode_embedding(np.zeros(4, dtype=np.float32))):
        with pytest.raises(ContractError):
            decode_embedding(broken)


class OtherModel(CountingEmbedder):
    name = "another-model"


def test_a_replica_with_another_model_leaves_the_others_embedding_out(tmp_path, caplog):
    settings = load_settings(data_dir=tmp_path)
    bus = open_bus(settings, embedded=True)
    topic = state_topic(settings)
    bus.ensure_topics([topic])
    first = _replica(bus, topic.name, CountingEmbedder())
    try:
        [flood] = first.assign([_flood_in_poland()])
        [record] = _publish(bus, first)
        mine, _ = decode_state(record, CountingEmbedder.name)  # type: ignore[misc]
        theirs, assignment = decode_state(record, OtherModel.name)  # type: ignore[misc]
        assert mine.embedding is not None
        assert theirs.embedding is None and assignment.storyline_id == flood.id  # the decision itself still holds
        upgraded = _replica(bus, topic.name, OtherModel())  # catches up on the record written by the old model
        try:
            assert upgraded.tracker.embedding_of(flood.id) is None
            assert "leaving out embeddings made by stub-bag-of-words" in caplog.text
        finally:
            upgraded.close()
    finally:
        first.close()
        bus.close()
