"""The stage loop on the embedded bus: when it counts as idle, and how it stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from newswire.bus import Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.stage import BatchOutcome, Output, Stage


def test_a_stage_that_has_not_begun_consuming_is_not_idle_and_the_stop_event_ends_it(tmp_path):
    """`newswire run --once` drains until every stage is idle: one still warming up must not count as idle."""
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec(name, 1) for name in ("in", "out", "dead")])
    warm = threading.Event()
    handled: list[bytes] = []

    def handle(records: Sequence[Record]) -> BatchOutcome:
        handled.extend(record.value for record in records)
        return BatchOutcome(outputs=[Output("out", record.key, record.value) for record in records])

    class WarmingStage(Stage):
        def run(self, stop: threading.Event) -> None:
            warm.wait(10)  # as a processor warms its model up before its loop
            super().run(stop)

    stage = WarmingStage(
        name="test", bus=bus, topics=["in"], group="g", handle=handle, deadletter_topic="dead", poll_timeout=0.05
    )
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    try:
        producer = bus.producer()
        producer.send("in", b"k", b"article")
        producer.flush()
        thread.start()
        time.sleep(0.3)
        assert stage.idle_for() == 0.0  # warming up: not idle, however long it takes
        warm.set()
        deadline = time.monotonic() + 10
        while not handled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert handled == [b"article"]
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert stage.counters["consumed"] == 1
    finally:
        stop.set()
        warm.set()
        bus.close()
