"""Ingest benchmark: full polling cycles over thousands of generated feeds, against plain feedparser.

A feed server in a separate process serves ``--feeds`` feeds (20-100 entries each, written by this script, with
ETags) on loopback. The poller (``newswire.ingest.service.Poller``, the real fetch/parse/dedupe/publish path, with
its SQLite state file) runs full cycles with ``once``:

1. first sight: every feed new, every entry a new article;
2. 90% unchanged: one feed in ten has five new entries, the rest answer 304;
3. all changed: every feed has five new entries (every body is fetched and parsed);

and, in the same run, plain ``feedparser.parse`` over the bodies of cycle 3 (the parse ceiling). The bus is an
in-memory one that keeps the feeds topic and DISCARDS the articles (counting them), so the broker is not what is
measured. Feeds all live on one host here, so the per-host limits (concurrency and budget) are lifted for it.

Then the crowded-host case: a new farm of the same feeds where ``--crowded`` of them (500) share one host
(127.0.0.2) with the per-host budget ``--crowded-budget`` (default 10/1), the others on 127.0.0.1 standing in for
hosts of their own (no budget); first sight, once. The server counts request starts per host address, and the
bench reports the peak starts per second at the crowded host (target: at most its budget) and how long the other
feeds took (they must not wait for the crowded host); and, from the poller's network backend, when it wrote each
request to the crowded host: the peak as the poller sent them, and how long each took from the write to the server's
reading of its request line (what the poller cannot control).

    .venv/bin/python bench/ingest_bench.py [--feeds 5000] [--concurrency 32] [--crowded 500] [--crowded-budget 10/1]

Targets: cycle 2 under 60 s for 5,000 feeds; cycle 3 at least 0.7 times the parse ceiling in feeds/s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import multiprocessing
import platform
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import feedparser
import httpcore

from newswire.bus import Bus, Consumer, Producer, Record, TopicSpec
from newswire.ingest.fetch import Fetcher
from newswire.ingest.netguard import GuardedBackend
from newswire.ingest.politeness import PACING_MARGIN
from newswire.ingest.service import Poller
from newswire.ingest.state import StateFile
from newswire.settings import load_settings

CROWDED_HOST = "127.0.0.2"

# --- generated feeds ---------------------------------------------------------------------------------------------

PEOPLE = ["Yevgeny Prigozhin", "Vladimir Putin", "Sergei Shoigu", "Valery Gerasimov", "Alexander Lukashenko"]
PLACES = ["Rostov-on-Don", "Moscow", "Belarus", "Voronezh", "Lipetsk"]
VERBS = ["says", "denies", "confirms", "questions", "welcomes", "warns about"]
THINGS = ["the deal", "the march", "the column", "the amnesty", "the checkpoints", "the talks"]


def entry_count(feed: int) -> int:
    return 20 + (feed * 7919) % 81  # 20-100, fixed per feed


def entry_xml(feed: int, number: int) -> str:
    rng = random.Random(feed * 1_000_003 + number)
    person, place = rng.choice(PEOPLE), rng.choice(PLACES)
    title = f"{person} {rng.choice(VERBS)} {rng.choice(THINGS)} in {place}"
    paragraphs = "".join(
        f"<p>{person} spoke about {rng.choice(THINGS)} as reports from {rng.choice(PLACES)} came in; "
        f"officials said {rng.choice(THINGS)} would be {rng.choice(['reviewed', 'extended', 'dropped'])}.</p>"
        for _ in range(rng.randint(1, 4))
    )
    when = datetime(2023, 6, 23, tzinfo=UTC) + timedelta(minutes=number * 7 + feed % 60)
    return (
        f"<item><title>{escape(title)}</title>"
        f"<link>https://outlet{feed}.example.org/2023/06/{number}.html?utm_source=rss</link>"
        f'<guid isPermaLink="false">o{feed}-{number}</guid><pubDate>{format_datetime(when)}</pubDate>'
        f"<dc:creator>Desk {rng.randint(1, 9)}</dc:creator><category>{escape(place)}</category>"
        f"<description>{escape(paragraphs)}</description></item>"
    )


def feed_body(feed: int, generation: int) -> bytes:
    """Feed ``feed`` at ``generation``: the newest ``entry_count`` entries, five more per generation."""
    newest = entry_count(feed) + 5 * generation
    items = "".join(entry_xml(feed, number) for number in range(newest - 1, newest - 1 - entry_count(feed), -1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example.org/</link><language>en</language>"
        f"{items}</channel></rss>"
    ).encode()


# --- the feed server (its own process) -----------------------------------------------------------------------


def serve(
    port_pipe: multiprocessing.connection.Connection,
    feeds: int,
    address: str = "127.0.0.1",
    port: int = 0,
    preload: int = 0,
) -> None:
    """Serve the farm on ``address``; the bodies of the first ``preload`` feeds are made before it starts, so that
    this server's timestamps are not held up by its own work (the crowded host's server)."""
    generations = [0] * feeds
    ready = {feed: feed_body(feed, 0) for feed in range(preload)}
    requests: Counter[int] = Counter()
    starts: dict[str, list[float]] = {}  # request starts by the address they reached
    arrivals: dict[str, dict[str, float]] = {}  # the last request start by address and path

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                if path.startswith("/_control/bump"):
                    every = int(path.rsplit("=", 1)[1])
                    for feed in range(0, feeds, every):
                        generations[feed] += 1
                    body, status, extra = b"ok", "200 OK", ""
                elif path == "/_control/requests":
                    body, status, extra = str(sum(requests.values())).encode(), "200 OK", ""
                elif path == "/_control/starts":
                    body, status, extra = json.dumps(starts).encode(), "200 OK", ""
                elif path == "/_control/arrivals":
                    body, status, extra = json.dumps(arrivals).encode(), "200 OK", ""
                else:
                    feed = int(path.split("/")[2].split(".")[0])
                    requests[feed] += 1
                    arrived = time.monotonic()
                    address = writer.get_extra_info("sockname")[0]
                    starts.setdefault(address, []).append(arrived)
                    arrivals.setdefault(address, {})[path] = arrived
                    etag = f'"{feed}-{generations[feed]}"'
                    if headers.get("if-none-match") == etag:
                        body, status, extra = b"", "304 Not Modified", f"ETag: {etag}\r\n"
                    else:
                        made = ready.get(feed) if generations[feed] == 0 else None
                        body, status = made or feed_body(feed, generations[feed]), "200 OK"
                        extra = f"ETag: {etag}\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, address, port, backlog=1024)
        port_pipe.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- a bus that keeps the feeds topic and discards the articles ------------------------------------------------


class DiscardBus(Bus):
    def __init__(self, feeds_topic: str) -> None:
        self.feeds_topic = feeds_topic
        self.feed_records: list[Record] = []
        self.discarded: Counter[str] = Counter()
        self.lock = threading.Lock()

    def ensure_topics(self, topics: Iterable[TopicSpec]) -> None:
        pass

    def producer(self) -> Producer:
        return _DiscardProducer(self)

    def consumer(self, topics: Sequence[str], group: str, *, from_beginning: bool = True) -> Consumer:
        return _ListConsumer(self)

    def close(self) -> None:
        pass


class _DiscardProducer(Producer):
    def __init__(self, bus: DiscardBus) -> None:
        self.bus = bus

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        with self.bus.lock:
            if topic == self.bus.feeds_topic:
                offset = len(self.bus.feed_records)
                self.bus.feed_records.append(Record(topic, 0, offset, key, value, int(time.time() * 1000)))
            else:
                self.bus.discarded[topic] += 1

    def flush(self, timeout: float = 30.0) -> None:
        pass

    def close(self) -> None:
        pass


class _ListConsumer(Consumer):
    def __init__(self, bus: DiscardBus) -> None:
        self.bus = bus
        self.position = 0

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        with self.bus.lock:
            records = self.bus.feed_records[self.position : self.position + max_records]
        self.position += len(records)
        if not records:
            time.sleep(min(timeout, 0.05))
        return records

    def commit(self, records: Sequence[Record]) -> None:
        pass

    def close(self) -> None:
        pass


# --- the poller's side of the crowded host: when each request was written ---------------------------------------


class _TimedStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, written: dict[str, float]) -> None:
        self._inner = inner
        self._written = written

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer.startswith(b"GET "):  # a request's head: its path is the farm's feed
            self._written[buffer.split(b" ", 2)[1].decode("ascii")] = time.monotonic()
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class TimedBackend(httpcore.AsyncNetworkBackend):
    """The poller's network backend, noting when each request to ``address`` was handed to the socket (by path):
    the poller's side of what the feed server counts."""

    def __init__(self, address: str) -> None:
        self._inner = GuardedBackend(allow_private=True)
        self.address = address
        self.written: dict[str, float] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _TimedStream(stream, self.written) if host == self.address else stream

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --- the run ---------------------------------------------------------------------------------------------------


def control(port: int, path: str, host: str = "127.0.0.1") -> str:
    import httpx  # noqa: PLC0415

    return httpx.get(f"http://{host}:{port}{path}", timeout=60).text


def run_cycle(
    settings, bus: DiscardBus, data_dir: Path, fetcher: Fetcher | None = None
) -> tuple[float, int, Counter[str]]:
    before = bus.discarded[settings.topic_raw]
    state = StateFile.in_dir(data_dir)
    try:
        poller = Poller(settings, bus, state, fetcher=fetcher)
        asyncio.run(poller.run(threading.Event(), once=True))
    finally:
        state.close()
    assert poller.cycle_seconds is not None
    return poller.cycle_seconds, bus.discarded[settings.topic_raw] - before, poller.counters


def peak_per_second(times: list[float]) -> int:
    """The most ``times`` within any one-second window."""
    ordered = sorted(times)
    peak, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def crowded_host_case(options: argparse.Namespace, port: int, common: dict[str, Any]) -> None:
    """First sight of a farm where ``options.crowded`` feeds share one host with its own budget."""
    crowded = min(options.crowded, options.feeds)
    starts, _, seconds = options.crowded_budget.partition("/")
    expected = float(starts) / float(seconds)
    urls = ",".join(
        f"http://{CROWDED_HOST if feed < crowded else '127.0.0.1'}:{port}/feed/{feed}.xml"
        for feed in range(options.feeds)
    )
    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(sender, options.feeds, CROWDED_HOST, port, crowded))
    server.daemon = True
    server.start()
    receiver.recv()
    before = json.loads(control(port, "/_control/starts")) | json.loads(control(port, "/_control/starts", CROWDED_HOST))
    with tempfile.TemporaryDirectory(prefix="ingest-bench-crowded-") as tmp:
        budgets = f"127.0.0.1=100000/1,{CROWDED_HOST}={options.crowded_budget}"
        settings = load_settings(**{**common, "data_dir": Path(tmp), "feeds": urls, "host_fetch_budgets": budgets})
        bus = DiscardBus(settings.topic_feeds)
        backend = TimedBackend(CROWDED_HOST)
        cycle, articles, counters = run_cycle(settings, bus, Path(tmp), Fetcher(settings, network_backend=backend))
    after = json.loads(control(port, "/_control/starts")) | json.loads(control(port, "/_control/starts", CROWDED_HOST))
    arrived = json.loads(control(port, "/_control/arrivals", CROWDED_HOST)).get(CROWDED_HOST, {})
    server.terminate()
    crowded_starts = after.get(CROWDED_HOST, [])[len(before.get(CROWDED_HOST, [])) :]
    others = after.get("127.0.0.1", [])[len(before.get("127.0.0.1", [])) :]
    first = min(crowded_starts + others)
    peak = peak_per_second(crowded_starts)
    print()
    print(
        f"crowded host: {crowded} of {options.feeds} feeds on {CROWDED_HOST}, budget {options.crowded_budget}: "
        f"{len(crowded_starts)} starts there over {max(crowded_starts) - first:.1f} s, peak {peak} starts/s "
        f"(target <= {expected:g}: {'met' if peak <= expected else 'MISSED'}); the other {len(others)} feeds done "
        f"{max(others) - first:.1f} s after the first start; whole cycle {cycle:.1f} s, {articles} articles, "
        f"errors {counters['feed_errors']}"
    )
    written = sorted(backend.written.values())
    spacing = [(later - earlier) * 1000 for earlier, later in itertools.pairwise(written)]
    on_the_way = sorted((arrived[path] - moment) * 1000 for path, moment in backend.written.items() if path in arrived)
    print(
        f"  as the poller wrote them: peak {peak_per_second(written)} requests/s, the closest two "
        f"{min(spacing, default=0):.1f} ms apart (budget gap {1000 / expected * PACING_MARGIN:.1f} ms); "
        f"from the poller's write to the server's read of the request line: median "
        f"{on_the_way[len(on_the_way) // 2]:.1f} ms, 99th percentile {on_the_way[len(on_the_way) * 99 // 100]:.1f} ms, "
        f"most {on_the_way[-1]:.1f} ms"
    )


def parse_ceiling(feeds: int, generation: int) -> tuple[float, int]:
    bodies = [feed_body(feed, generation) for feed in range(feeds)]
    started = time.perf_counter()
    entries = 0
    for body in bodies:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)  # its defaults
    return time.perf_counter() - started, entries


def polling_cycles(options: argparse.Namespace, port: int, common: dict[str, Any], urls: str) -> None:
    """The three full cycles and the parse ceiling, with their targets."""
    feeds = options.feeds
    data_dir = common["data_dir"]
    bus = DiscardBus(load_settings(**common).topic_feeds)
    results = []
    cycles = [("first sight (all new)", urls, None), ("90% unchanged (304)", None, 10), ("all changed", None, 1)]
    for name, seed, bump_every in cycles:
        if bump_every:
            control(port, f"/_control/bump?every={bump_every}")
        seconds, articles, counters = run_cycle(load_settings(**common, feeds=seed), bus, data_dir)
        results.append((name, seconds, articles))
        print(
            f"  {name:<24} {seconds:7.1f} s  {feeds / seconds:8.1f} feeds/s  {articles / seconds:9.1f} "
            f"new articles/s  ({articles} articles; parsed {counters['parsed']}, errors {counters['feed_errors']})"
        )

    ceiling_seconds, entries = parse_ceiling(feeds, generation=1)
    ceiling_rate = feeds / ceiling_seconds
    print(
        f"  {'feedparser.parse only':<24} {ceiling_seconds:7.1f} s  {ceiling_rate:8.1f} feeds/s  "
        f"({entries} entries parsed, bodies of the all-changed cycle)"
    )
    unchanged_seconds = results[1][1]
    changed_rate = feeds / results[2][1]
    print()
    print(
        f"90% unchanged cycle: {unchanged_seconds:.1f} s for {feeds} feeds "
        f"(target < 60 s for 5,000: {'met' if unchanged_seconds * 5000 / feeds < 60 else 'MISSED'})"
    )
    print(
        f"all changed / parse ceiling: {changed_rate / ceiling_rate:.2f}x "
        f"(target >= 0.70: {'met' if changed_rate / ceiling_rate >= 0.7 else 'MISSED'})"
    )
    print(f"first sight / parse ceiling: {feeds / results[0][1] / ceiling_rate:.2f}x")
    print(f"articles discarded by the bus: {sum(bus.discarded.values())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--crowded", type=int, default=500, help="feeds on the crowded host (0: skip the case)")
    parser.add_argument("--crowded-budget", default="10/1", help="the crowded host's budget, STARTS/SECONDS")
    parser.add_argument("--crowded-only", action="store_true", help="run only the crowded-host case")
    options = parser.parse_args()

    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(sender, options.feeds), daemon=True)
    server.start()
    port = receiver.recv()
    feeds = options.feeds
    print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{feeds} feeds, {sum(entry_count(f) for f in range(feeds))} entries, served on 127.0.0.1:{port}")

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        data_dir = Path(tmp)
        urls = ",".join(f"http://127.0.0.1:{port}/feed/{feed}.xml" for feed in range(feeds))
        common = {
            "data_dir": data_dir,
            "allow_private_addresses": True,
            "global_concurrency": options.concurrency,
            "per_host_concurrency": options.concurrency,
            "host_fetch_budgets": "127.0.0.1=100000/1",
            "fetch_timeout": 60.0,
        }
        if not options.crowded_only:
            polling_cycles(options, port, common, urls)
        if options.crowded:
            crowded_host_case(options, port, common)
    server.terminate()


if __name__ == "__main__":
    main()
