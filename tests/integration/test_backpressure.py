"""Backpressure with bounded memory: a stage slower than what feeds it, and a broker that stops answering.

- A processor (the real ``newswire process``) fed far faster than spaCy can enrich: its lag grows by thousands,
  ``newswire status`` shows it growing, and the process's resident memory does not grow with the backlog (the
  consumer holds one batch and kafka-python's bounded prefetch, never the topic).
- ``newswire ingest`` polling a feed farm whose articles keep appearing while its broker (one of the test's own:
  the shared broker is never paused) is frozen with SIGSTOP for longer than the producer waits: the service stays
  up, counts the failed publications, keeps its memory within a bound, and once the broker is back every article
  the farm published is on the raw topic (some twice: the re-poll after a failed flush sends again what the
  producer still delivers; the stores absorb repeats by article id).

Each test prints its figures (memory before, peak and after, lag reached, duplicates, time to catch up).
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import psutil
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from newswire.bus import open_bus, pipeline_topics
from newswire.contract import encode_raw
from newswire.settings import load_settings
from tests.conftest import pipeline_names
from tests.e2e.conftest import NEWSWIRE, Service, base_env, run_newswire
from tests.factories import article_factory
from tests.feedfarm import demo_texts, serve_feeds
from tests.memory_sampler import SAMPLE_SECONDS, MemorySampler
from tests.own_broker import OwnBroker, free_port, own_broker

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _long_text(rng: random.Random, texts: list[tuple[str, str]], sentences: int) -> str:
    """A few kB of news-like prose made of the demo feeds' sentences, shuffled."""
    pool = [sentence for _title, summary in texts for sentence in summary.split(". ") if sentence]
    return ". ".join(rng.choice(pool) for _ in range(sentences)) + "."


# --- a slow consumer ---------------------------------------------------------------------------------------------

BACKLOG_ARTICLES = 9000  # of about 10 kB each: some 90 MB, far more than spaCy takes in the time
PRODUCE_SECONDS = 30.0  # the articles arrive over this long, so the lag grows while memory is watched
# What the processor may grow by after warming up (its model loaded, its first batch committed) while its lag grows
# by thousands. Measured: 21-41 MiB, what enrichment keeps of the articles it has done (entities, events, stories),
# which grows with what it processed. A consumer that buffered what waits would hold, on top of that, at least the
# bytes of the backlog (checked below to be more than this bound), and a user would see it grow with the lag until
# it ran out of memory; kafka-python's prefetch is bounded (1 MB a partition), and one batch is in hand at a time.
PROCESSOR_GROWTH_BOUND_MIB = 70.0


WARM_ARTICLES = 48  # three full batches of 16
# The spaCy worker's working set for a batch of 16 of these texts: 540-720 MiB measured (the model, and arrays sized
# by the batch's longest texts). A worker that were handed the backlog would pass this within seconds.
SPACY_WORKER_BOUND_MIB = 1024.0


def _spacy_worker(processor_pid: int) -> int:
    """The process id of the processor's spaCy worker (its child next to multiprocessing's resource tracker)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for child in psutil.Process(processor_pid).children():
            if "spawn_main" in " ".join(child.cmdline()):
                return int(child.pid)
        time.sleep(0.2)
    raise AssertionError("the processor started no spaCy worker process within 120 s")


def _processor_status(env: dict[str, str]) -> tuple[int, int]:
    """The processor's lag and committed position as ``newswire status --json`` reports them."""
    shown = run_newswire("status", "--json", env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    stages = {stage["stage"]: stage for stage in json.loads(shown.stdout)["stages"]}
    return int(stages["processor"]["lag"]), int(stages["processor"]["committed"])


def _lag(env: dict[str, str]) -> int:
    return _processor_status(env)[0]


@pytest.mark.timeout(240)
def test_a_slow_processor_falls_behind_visibly_and_its_memory_stays_bounded(kafka_servers, unique_name, tmp_path):
    names = pipeline_names(unique_name)
    settings = load_settings(kafka=kafka_servers, **names)
    # Small batches, so the processor polls every few seconds: it reads all along, as a busy stage does.
    env = base_env(kafka=kafka_servers, data_dir=str(tmp_path / "processor"), batch_size="16", **names)
    bus = open_bus(settings, embedded=False, client_id="test-backpressure")
    processor = Service("process", [NEWSWIRE, "process"], env, tmp_path / "process.log")
    try:
        bus.ensure_topics(pipeline_topics(settings))
        rng = random.Random(6041)
        texts = demo_texts()
        generated = [
            article_factory(content=_long_text(rng, texts, 56), summary=_long_text(rng, texts, 3))
            for _ in range(BACKLOG_ARTICLES)
        ]
        articles = [(article.id.encode("ascii"), encode_raw(article)) for article in generated]
        processor.start()
        assert processor.process is not None
        memory = MemorySampler(processor.process.pid).start()
        spacy = MemorySampler(_spacy_worker(processor.process.pid)).start()

        # Warm-up: the model is loaded and the first batches (full ones, of these long texts) committed, so that
        # spaCy's arrays have reached what a batch of them needs; from here memory is the stage's own.
        deadline = time.monotonic() + 180
        producer = bus.producer()
        for key, value in articles[:WARM_ARTICLES]:
            producer.send(settings.topic_raw, key, value)
        producer.flush()
        while sum(bus.committed(settings.processor_group, settings.topic_raw).values()) < WARM_ARTICLES:
            assert processor.alive(), processor.log()[-3000:]
            assert time.monotonic() < deadline, f"the processor did not commit {WARM_ARTICLES} articles in 180 s"
            time.sleep(0.5)
        warm = time.monotonic()
        time.sleep(2 * SAMPLE_SECONDS)
        lag_before = _lag(env)

        per_round = 100
        interval = PRODUCE_SECONDS * per_round / BACKLOG_ARTICLES
        lags = [lag_before]
        for start in range(WARM_ARTICLES, BACKLOG_ARTICLES, per_round):
            began = time.monotonic()
            for key, value in articles[start : start + per_round]:
                producer.send(settings.topic_raw, key, value)
            producer.flush()
            if start % (BACKLOG_ARTICLES // 2) < per_round:
                lags.append(_lag(env))
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
        time.sleep(3.0)  # the processor keeps taking from the backlog while memory is sampled
        lag, committed = _processor_status(env)
        lags.append(lag)
        assert processor.alive(), processor.log()[-3000:]
        done = time.monotonic()
    finally:
        processor.stop()
        bus.close()
    memory.stop()
    spacy.stop()

    watched = memory.between(warm, done)
    baseline, peak, last = memory.at(warm), max(watched), watched[-1]
    spacy_warm, spacy_watched = spacy.between(0, warm), spacy.between(warm, done)
    print(
        f"\nslow processor: lag {lags} (status, in order), {committed} articles done; RSS after warm-up "
        f"{baseline:.0f} MiB, peak {peak:.0f} MiB, last {last:.0f} MiB ({len(watched)} samples over "
        f"{done - warm:.0f}s); {memory.trace(warm)}; its spaCy worker: peak {max(spacy_warm):.0f} MiB warming up, "
        f"{max(spacy_watched):.0f} MiB after; {spacy.trace(warm)}"
    )
    # The spaCy worker is only ever handed one batch of texts; what it needs for one swings with their lengths
    # (arrays over glibc's mmap threshold go back to the kernel after each), but does not grow with the backlog.
    assert max(spacy_watched) < SPACY_WORKER_BOUND_MIB, f"the spaCy worker grew: {spacy.trace(warm)}"
    assert lags[-1] - lags[0] >= 2000, f"the lag did not grow by thousands: {lags}"
    waiting_mib = lags[-1] * sum(len(value) for _key, value in articles) / len(articles) / 2**20
    assert waiting_mib > PROCESSOR_GROWTH_BOUND_MIB, f"only {waiting_mib:.0f} MiB waited: the bound tells nothing"
    assert lags == sorted(lags), f"the lag shown did not keep growing: {lags}"
    assert peak - baseline < PROCESSOR_GROWTH_BOUND_MIB, (
        f"the processor grew by {peak - baseline:.0f} MiB while its lag grew to {lags[-1]}: {memory.trace(warm)}"
    )


# --- a broker that stops answering -------------------------------------------------------------------------------

FARM_FEEDS = 8
FARM_ARTICLES = 400
ARRIVAL_SECONDS = 30.0  # articles appear over this long: before, during and after the pause begins
PAUSE_SECONDS = 35.0  # longer than the producer's flush timeout (30 s), so a publication must fail
# What ingest may grow by while its broker is frozen, about a third of its whole footprint (~170 MiB). The producer
# keeps what it could not deliver (kafka-python has no buffer limit of its own: a record stays until the broker takes
# it or its delivery timeout, 120 s, expires) and a failed publication is sent again at the next poll: here a few
# hundred articles of a few kB, a few MiB. Measured: 3-4 MiB; before the Kafka driver paced its polls, a consumer
# on the frozen broker spun and grew by 250-420 MiB (see newswire/bus/kafka.py, _pace_fetch_waits).
INGEST_GROWTH_BOUND_MIB = 60.0


class GrowingFarm:
    """``FARM_FEEDS`` RSS feeds on loopback; article ``n`` appears ``n * ARRIVAL_SECONDS / FARM_ARTICLES`` seconds
    after the farm starts, with a few kB of text, and stays in its feed."""

    def __init__(self) -> None:
        rng = random.Random(2506)
        texts = demo_texts()
        self.run = uuid.uuid4().hex[:8]
        self.items = [(rng.choice(texts)[0], _long_text(rng, texts, 10)) for _ in range(FARM_ARTICLES)]
        self.published = datetime(2023, 6, 24, 6, 0, tzinfo=UTC)
        self.start = time.monotonic()

    def url(self, number: int) -> str:
        return f"http://farm.example/{self.run}/article/{number}"

    def visible(self) -> int:
        return min(FARM_ARTICLES, int((time.monotonic() - self.start) * FARM_ARTICLES / ARRIVAL_SECONDS) + 1)

    def feed_xml(self, feed: int) -> bytes:
        entries = []
        for number in range(feed, self.visible(), FARM_FEEDS):
            title, text = self.items[number]
            entries.append(
                f"<item><title>{escape(title)} ({number})</title><link>{self.url(number)}</link>"
                f"<guid>{self.url(number)}</guid><pubDate>{format_datetime(self.published + timedelta(minutes=number))}"
                f"</pubDate><description>{escape(text)}</description></item>"
            )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Growing farm {feed}</title>'
            f"<link>http://farm.example/{feed}</link><description>generated</description>{''.join(entries)}"
            "</channel></rss>"
        ).encode()

    def __enter__(self) -> GrowingFarm:
        self.server = serve_feeds(self.feed_xml)
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def feed_urls(self) -> list[str]:
        port = self.server.server_address[1]
        return [f"http://127.0.0.1:{port}/{feed}.xml" for feed in range(FARM_FEEDS)]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    """A broker of this module's own, which its tests may pause."""
    with own_broker(tmp_path_factory.mktemp("own-kafka")) as running:
        yield running


def _raw_urls(servers: str, topic: str) -> Counter[str]:
    """Every article on ``topic``, by URL, with how many times it is there (read with a plain consumer).

    Just after the broker resumes it lists no brokers for a moment (its controller fenced it while it was frozen):
    the read is tried again for a while.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            return _read_urls(servers, topic)
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _read_urls(servers: str, topic: str) -> Counter[str]:
    reader = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, number) for number in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        urls: Counter[str] = Counter()
        while any(reader.position(partition) < ends[partition] for partition in partitions):
            for records in reader.poll(timeout_ms=1000).values():
                urls.update(json.loads(record.value)["url"] for record in records)
        return urls
    finally:
        reader.close()


def _ingest_events(port: int) -> dict[str, float]:
    """``newswire_ingest_events_total`` from the service's /metrics, by event."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    events = {}
    for line in text.splitlines():
        if line.startswith('newswire_ingest_events_total{event="'):
            labels, _, value = line.partition("} ")
            events[labels.split('"')[1]] = float(value)
    return events


@pytest.mark.timeout(300)
def test_ingest_rides_out_a_frozen_broker_within_a_memory_bound_and_loses_nothing(broker, unique_name, tmp_path):
    names = pipeline_names(unique_name)
    metrics_port = free_port()
    # Made before ingest starts, so that reading the raw topic never meets a missing one (which a plain consumer's
    # metadata request would have the broker create, with one partition).
    settings = load_settings(kafka=broker.servers, topic_partitions=2, **names)
    bus = open_bus(settings, embedded=False, client_id="test-backpressure")
    bus.ensure_topics(pipeline_topics(settings))
    bus.close()
    with GrowingFarm() as farm:
        env = base_env(
            kafka=broker.servers,
            feeds=",".join(farm.feed_urls()),
            allow_private_addresses="true",
            data_dir=str(tmp_path / "ingest"),
            poll_interval="2",
            min_poll_interval="2",
            topic_partitions="2",
            host_fetch_budgets="127.0.0.1=1000/1",  # the farm is one host: lift the per-host politeness budget
            metrics_port=str(metrics_port),
            **names,
        )
        ingest = Service("ingest", [NEWSWIRE, "ingest"], env, tmp_path / "ingest.log").start()
        try:
            assert ingest.process is not None
            memory = MemorySampler(ingest.process.pid, tree=True).start()  # its parser processes too
            deadline = time.monotonic() + 60
            while sum(_raw_urls(broker.servers, names["topic_raw"]).values()) < 40:
                assert ingest.alive(), ingest.log()[-3000:]
                assert time.monotonic() < deadline, "ingest published nothing within 60 s"
                time.sleep(0.5)
            paused = time.monotonic()
            broker.pause()
            try:
                time.sleep(PAUSE_SECONDS)
                assert ingest.alive(), ingest.log()[-3000:]
            finally:
                broker.resume()
            resumed = time.monotonic()
            expected = {farm.url(number) for number in range(FARM_ARTICLES)}
            deadline = resumed + 120
            while not expected <= set(urls := _raw_urls(broker.servers, names["topic_raw"])):
                assert ingest.alive(), ingest.log()[-3000:]
                assert time.monotonic() < deadline, f"{len(expected - set(urls))} articles never reached the raw topic"
                time.sleep(0.5)
            caught_up = time.monotonic() - resumed
            time.sleep(5.0)  # what the producer still held would show now
            urls = _raw_urls(broker.servers, names["topic_raw"])
            events = _ingest_events(metrics_port)
            assert ingest.alive(), ingest.log()[-3000:]
            done = time.monotonic()
        finally:
            ingest.stop()
    memory.stop()

    before, during = memory.at(paused), memory.between(paused, done)
    after = during[-1]
    repeats = sum(urls.values()) - len(urls)
    print(
        f"\nfrozen broker {PAUSE_SECONDS:.0f}s: ingest RSS before {before:.0f} MiB, peak {max(during):.0f} MiB, "
        f"after {after:.0f} MiB; {len(urls)} articles on raw, {repeats} repeats; all on raw {caught_up:.1f}s after "
        f"the broker resumed; ingest events {events}"
    )
    assert set(urls) == expected  # every article, and nothing the farm did not publish
    assert events.get("publish_failures", 0) >= 1  # the outage was seen, not silent
    assert "publishing" in ingest.log() and "failed, will poll again" in ingest.log()
    assert max(during) - before < INGEST_GROWTH_BOUND_MIB, (
        f"ingest grew by {max(during) - before:.0f} MiB while its broker was frozen: {memory.trace(paused)}"
    )
