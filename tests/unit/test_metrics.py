"""A service's /metrics: its stage's counters, dead letters by type and its group's lag, as Prometheus reads them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import httpx

from newswire.bus import Record, TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.metrics import serve_metrics, watch_stage
from newswire.stage import BatchOutcome, Rejection, Stage


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}


def test_a_stage_shows_what_it_did_and_how_far_behind_its_group_is(tmp_path, unique_name):
    topic, name, group = unique_name("news.raw"), "processor", unique_name("processor")
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec(topic, 1), TopicSpec("news.deadletter", 1)])
    producer = bus.producer()
    for n in range(10):
        producer.send(topic, f"k{n}".encode(), b"{}" if n else b"poison")
    producer.flush()

    def handle(records: Sequence[Record]) -> BatchOutcome:
        outcome = BatchOutcome()
        outcome.rejections += [Rejection(r, "not JSON", "ContractError") for r in records if r.value == b"poison"]
        return outcome

    stage = Stage(name=name, bus=bus, topics=[topic], group=group, handle=handle, deadletter_topic="news.deadletter",
                  batch_size=4)  # fmt: skip
    lag_bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    watch_stage(stage, lag_bus)
    server = serve_metrics("127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        before = _samples(httpx.get(url).text)
        lag = f'newswire_consumer_lag_messages{{group="{group}",stage="{name}",topic="{topic}"}}'
        assert before[lag] == 10  # nothing committed yet
        stop = threading.Event()
        runner = threading.Thread(target=stage.run, args=(stop,))
        runner.start()
        deadline = time.monotonic() + 30
        while stage.counters["consumed"] < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        runner.join()
        after = _samples(httpx.get(url).text)
        assert after[f'newswire_stage_messages_total{{group="{group}",outcome="consumed",stage="{name}"}}'] == 10
        assert after[f'newswire_deadletters_total{{error_type="ContractError",group="{group}",stage="{name}"}}'] == 1
        assert after[f'newswire_batch_seconds_count{{stage="{name}"}}'] >= 3
    finally:
        server.shutdown()
        server.server_close()
        lag_bus.close()
        bus.close()


def test_the_lag_is_read_again_only_after_its_interval(tmp_path, unique_name):
    from newswire.metrics import COUNTERS, watch_gauge

    reads = []
    watch_gauge(unique_name("newswire_test_gauge"), {}, lambda: reads.append(1) or float(len(reads)), every=60)
    list(COUNTERS.collect())
    list(COUNTERS.collect())
    assert len(reads) == 1
