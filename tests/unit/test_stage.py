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


def test_a_stage_with_a_lookahead_is_told_of_the_next_batch_first_and_commits_only_what_it_handled(tmp_path):
    """The processor's spaCy worker starts on the next batch while this one is finished; a batch read ahead and not
    handled when the stage stops is not committed, so the next member of the group reads it."""
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec(name, 1) for name in ("in", "out", "dead")])
    producer = bus.producer()
    for number in range(7):
        producer.send("in", b"k", f"article {number}".encode())
    producer.flush()
    told: list[list[bytes]] = []
    handled: list[list[bytes]] = []
    stop = threading.Event()

    def lookahead(records: Sequence[Record]) -> None:
        told.append([record.value for record in records])

    def handle(records: Sequence[Record]) -> BatchOutcome:
        handled.append([record.value for record in records])
        if len(handled) == 2:
            stop.set()  # stop while the third batch has been read ahead
        return BatchOutcome(outputs=[Output("out", record.key, record.value) for record in records])

    stage = Stage(
        name="test",
        bus=bus,
        topics=["in"],
        group="g",
        handle=handle,
        deadletter_topic="dead",
        batch_size=3,
        poll_timeout=0.05,
        lookahead=lookahead,
    )
    try:
        stage.run(stop)
        batches = [[f"article {n}".encode() for n in range(start, min(start + 3, 7))] for start in (0, 3, 6)]
        assert handled == batches[:2]
        # each batch is told before it is handled, and the next one before that: 0, 1 (ahead), 1 (in hand), 2 (ahead)
        assert told == [batches[0], batches[1], batches[1], batches[2]]
        assert bus.committed("g", "in") == {0: 6}  # the third batch was read ahead only: it is read again
        again: list[bytes] = []
        second_stop = threading.Event()

        def handle_again(records: Sequence[Record]) -> BatchOutcome:
            again.extend(record.value for record in records)
            second_stop.set()
            return BatchOutcome()

        Stage(
            name="test",
            bus=bus,
            topics=["in"],
            group="g",
            handle=handle_again,
            deadletter_topic="dead",
            poll_timeout=0.05,
        ).run(second_stop)
        assert again == batches[2]
    finally:
        bus.close()
