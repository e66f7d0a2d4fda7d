"""WebSub bench: publication-to-published latency of a push against polling, on loopback and the embedded bus.

A feed server and a WebSub hub (the ones of ``tests/unit/ingest``) run in this process with the real poller
(``newswire.ingest.service.Poller``: fetch, parse in worker processes, dedupe, publish, state file). A story is
"published" by the outlet when it appears in the feed (and, with WebSub, when the hub pushes the feed to the poller's
callback); it is "published" by newswire when it is on ``news.raw``, read by a consumer tailing the topic.

1. push: WebSub on, the subscription verified, polling at its safety-net rate; each story is pushed by the hub.
2. poll: WebSub off, the feed polled every ``--poll-interval`` seconds (a fixed schedule); each story appears at a
   random moment of the interval.

    .venv/bin/python bench/websub_bench.py [--samples 10] [--poll-interval 10]

Prints the median and worst latency of both and the ratio poll / push.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newswire.bus import Bus, open_bus, pipeline_topics
from newswire.contract import decode_raw
from newswire.ingest.service import Poller
from newswire.ingest.state import StateFile
from newswire.settings import Settings, load_settings
from tests.unit.ingest.feedserver import FeedServer
from tests.unit.ingest.test_websub_loopback import LoopbackHub, atom_feed, free_port

WAIT_SECONDS = 60.0


def settings_for(data_dir: Path, feed_url: str, poll_interval: float, *, websub: bool) -> Settings:
    port = free_port()
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "feeds": feed_url,
        "poll_interval": poll_interval,
        "min_poll_interval": poll_interval,
        "max_poll_interval": poll_interval,
        "allow_private_addresses": True,
        "topic_partitions": 1,
        "host_fetch_budgets": "127.0.0.1=1000/1",
    }
    if websub:
        values |= {
            "websub": True,
            "websub_callback": f"http://127.0.0.1:{port}/websub",
            "websub_listen_port": port,
            "websub_poll_interval": 3600.0,
        }
    return load_settings(**values)


class Run:
    """The poller in a thread and a consumer tailing news.raw."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus: Bus = open_bus(settings, embedded=True)
        self.bus.ensure_topics(pipeline_topics(settings))
        self.state = StateFile.in_dir(settings.data_dir)
        self.poller = Poller(settings, self.bus, self.state)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self.poller.run(self.stop)), daemon=True)
        self.consumer = self.bus.consumer([settings.topic_raw], f"bench-{secrets.token_hex(4)}")
        self.seen: set[str] = set()

    def start(self) -> Run:
        self.thread.start()
        return self

    def wait_for(self, guid: str) -> float:
        """Waits until the story ``guid`` is on news.raw; the moment it was read (time.time())."""
        deadline = time.monotonic() + WAIT_SECONDS
        while guid not in self.seen:
            if time.monotonic() > deadline:
                raise SystemExit(f"{guid} not published within {WAIT_SECONDS:.0f}s")
            for record in self.consumer.poll(100, 0.01):
                self.seen.add(decode_raw(record.value).guid or "")
        return time.time()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.consumer.close()
        self.state.close()
        self.bus.close()


def measure_push(samples: int, poll_interval: float) -> list[float]:
    hub = LoopbackHub().start()
    server = FeedServer().start()
    feed_url = server.url("/wire.xml")
    server.routes["/wire.xml"] = atom_feed(1, hub=hub.url, self_url=feed_url)
    with tempfile.TemporaryDirectory() as data_dir:
        run = Run(settings_for(Path(data_dir), feed_url, poll_interval, websub=True)).start()
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while feed_url not in hub.subscribers:
                if time.monotonic() > deadline:
                    raise SystemExit("the hub never verified the subscription")
                time.sleep(0.05)
            run.wait_for("urn:steppe-wire:story-0")
            latencies = []
            for number in range(1, samples + 1):
                body = atom_feed(number + 1, hub=hub.url, self_url=feed_url)
                server.routes["/wire.xml"] = body
                published = time.time()
                status = hub.push(feed_url, body)
                if status != 202:
                    raise SystemExit(f"the callback answered HTTP {status}")
                latencies.append(run.wait_for(f"urn:steppe-wire:story-{number}") - published)
                time.sleep(random.uniform(0.1, 0.5))
            return latencies
        finally:
            run.close()
            hub.stop()
            server.stop()


def measure_poll(samples: int, poll_interval: float) -> list[float]:
    server = FeedServer().start()
    feed_url = server.url("/wire.xml")
    no_hub = "https://hub.invalid/"  # WebSub is off: the link is never followed
    server.routes["/wire.xml"] = atom_feed(1, hub=no_hub, self_url=feed_url)
    with tempfile.TemporaryDirectory() as data_dir:
        run = Run(settings_for(Path(data_dir), feed_url, poll_interval, websub=False)).start()
        try:
            run.wait_for("urn:steppe-wire:story-0")
            latencies = []
            for number in range(1, samples + 1):
                time.sleep(random.uniform(0, poll_interval))
                server.routes["/wire.xml"] = atom_feed(number + 1, hub=no_hub, self_url=feed_url)
                published = time.time()
                latencies.append(run.wait_for(f"urn:steppe-wire:story-{number}") - published)
            return latencies
        finally:
            run.close()
            server.stop()


def describe(name: str, latencies: list[float]) -> str:
    return (
        f"{name:<5} n={len(latencies):<3} median {statistics.median(latencies) * 1000:8.1f} ms   "
        f"worst {max(latencies) * 1000:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=10.0, help="Seconds between polls without WebSub.")
    args = parser.parse_args()
    push = measure_push(args.samples, args.poll_interval)
    poll = measure_poll(args.samples, args.poll_interval)
    print(f"publication to published on news.raw (embedded bus), {platform.processor() or platform.machine()}")
    print(describe("push", push))
    print(describe("poll", poll) + f"   (polled every {args.poll_interval:g} s)")
    print(f"ratio poll / push (medians): {statistics.median(poll) / statistics.median(push):.1f}")


if __name__ == "__main__":
    main()
