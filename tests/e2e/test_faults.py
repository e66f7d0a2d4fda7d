"""Nothing lost, nothing doubled, while services are killed: the service commands of docker-compose.yml on the real
Kafka and Elasticsearch, fed by a farm of feeds whose articles appear while a random service (ingest, one of two
processor replicas, the indexer) is SIGKILLed and restarted, again and again.

Afterwards every generated article is in Elasticsearch exactly once and enriched, and the dead-letter topic holds the
deliberately poisoned messages and nothing else. The size is set by FAULT_ARTICLES and FAULT_KILLS; CI runs the
defaults, the issue's 10,000 articles and 20 kills (``FAULT_ARTICLES=1200 FAULT_KILLS=8`` for a quick run).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from tests.conftest import pipeline_names
from tests.e2e.conftest import base_env, compose_command, run_newswire, wait_until
from tests.feedfarm import demo_texts, serve_feeds

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.elasticsearch, pytest.mark.slow]

ARTICLES = min(10_000, int(os.environ.get("FAULT_ARTICLES", "10000")))
KILLS = int(os.environ.get("FAULT_KILLS", "20"))
FEEDS = 40
ARRIVAL_SECONDS = 90  # the articles appear over this long, so kills land while every stage has work
POISON = [b"{not json", b"\xff\xfe garbage", b'{"schema": "newswire.raw/99", "id": "x"}', b"[]"]


class FeedFarm:
    """``FEEDS`` RSS feeds on loopback; article ``n`` appears at ``start + n * ARRIVAL_SECONDS / ARTICLES``."""

    def __init__(self, articles: int) -> None:
        rng = random.Random(1480)
        demo = demo_texts()
        self.start = time.monotonic()
        self.published = datetime(2023, 6, 24, 6, 0, tzinfo=UTC)
        self.items: list[tuple[int, str, str]] = []
        for number in range(articles):
            title, summary = rng.choice(demo)
            sentences = summary.split(". ")
            rng.shuffle(sentences)
            self.items.append((number, f"{title} ({number})", ". ".join(sentences)))

    def url(self, number: int) -> str:
        return f"http://farm.example/article/{number}"

    def visible(self) -> int:
        elapsed = time.monotonic() - self.start
        return min(len(self.items), int(elapsed * len(self.items) / ARRIVAL_SECONDS) + 1)

    def feed_xml(self, feed: int) -> bytes:
        entries = []
        for number, title, summary in self.items[: self.visible()]:
            if number % FEEDS != feed:
                continue
            when = format_datetime(self.published + timedelta(seconds=30 * number))
            entries.append(
                f"<item><title>{escape(title)}</title><link>{self.url(number)}</link><guid>{self.url(number)}</guid>"
                f"<pubDate>{when}</pubDate><description>{escape(summary)}</description></item>"
            )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Farm {feed}</title>'
            f"<link>http://farm.example/{feed}</link><description>generated</description>{''.join(entries)}"
            "</channel></rss>"
        ).encode()

    def feed_urls(self) -> list[str]:
        port = self.server.server_address[1]
        return [f"http://127.0.0.1:{port}/{feed}.xml" for feed in range(FEEDS)]

    def __enter__(self) -> FeedFarm:
        self.server = serve_feeds(self.feed_xml)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def farm() -> Iterator[FeedFarm]:
    with FeedFarm(ARTICLES) as running:
        yield running


def _indexed(es_url: str, alias: str) -> tuple[int, dict[str, dict]]:
    """How many documents the index holds, and each by id (the run stays within one 10,000-hit page)."""
    client = Elasticsearch(es_url)
    try:
        if not client.indices.exists_alias(name=alias):
            return 0, {}
        client.indices.refresh(index=alias)
        total = client.count(index=alias)["count"]
        hits = client.search(
            index=alias, size=10_000, source=["url", "entities", "event_id", "storyline_id"], query={"match_all": {}}
        )["hits"]["hits"]
        return int(total), {hit["_id"]: hit["_source"] for hit in hits}
    finally:
        client.close()


def _dead_letters(kafka_servers: str, topic: str) -> list[dict]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_servers,
        auto_offset_reset="earliest",
        group_id=f"plain-{uuid.uuid4().hex}",
        consumer_timeout_ms=8_000,
    )
    letters = [json.loads(message.value) for message in consumer]
    consumer.close()
    return letters


@pytest.mark.timeout(1500)
def test_random_kills_lose_nothing_and_double_nothing(
    farm, services, kafka_servers, es_url, unique_name, tmp_path, capsys
):
    names = pipeline_names(unique_name)
    env = base_env(
        kafka=kafka_servers,
        es=es_url,
        feeds=",".join(farm.feed_urls()),
        allow_private_addresses="true",
        data_dir=str(tmp_path / "data"),
        poll_interval="5",
        min_poll_interval="5",
        topic_partitions="4",
        batch_size="32",
        # the farm is one host: lift the per-host politeness budget that protects real publishers
        host_fetch_budgets="127.0.0.1=1000/1",
        **names,
    )
    topics = run_newswire(*compose_command("topics")[1:], env=env)
    assert topics.returncode == 0, topics.stderr

    # The deliberately poisoned messages, straight onto the raw topic as a broken producer would send them.
    producer = KafkaProducer(bootstrap_servers=kafka_servers)
    for number, value in enumerate(POISON):
        producer.send(names["topic_raw"], key=f"poison-{number}".encode(), value=value)
    producer.flush()
    producer.close()

    roles = {"ingest": "ingest", "process-1": "processor", "process-2": "processor", "index": "indexer"}
    running = {
        name: services(name, compose_command(service), {**env, "NEWSWIRE_DATA_DIR": str(tmp_path / name)})
        for name, service in roles.items()
    }

    rng = random.Random(20230624)
    killed: Counter[str] = Counter()
    interval = ARRIVAL_SECONDS * 1.5 / KILLS
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.3, 1.0) * interval)
        victim = rng.choice(sorted(roles))
        running[victim].kill()
        killed[victim] += 1
        running[victim] = services(
            victim, compose_command(roles[victim]), {**env, "NEWSWIRE_DATA_DIR": str(tmp_path / victim)}
        )

    last_kill = time.monotonic()
    expected = {farm.url(number) for number in range(ARTICLES)}

    def all_indexed() -> bool:
        for service in running.values():
            assert service.alive(), f"{service.name} died:\n{service.log()[-3000:]}"
        return _indexed(es_url, names["index_alias"])[0] >= ARTICLES

    wait_until(all_indexed, 900, f"{ARTICLES} articles indexed after {sum(killed.values())} kills", every=3)
    caught_up = time.monotonic()  # to within the 3 s between looks
    time.sleep(5)  # anything doubled or late would show now
    total, documents = _indexed(es_url, names["index_alias"])
    links = Counter(document["url"] for document in documents.values())
    assert total == len(documents) == ARTICLES, f"{total} documents for {ARTICLES} articles"
    assert set(links) == expected and max(links.values()) == 1
    assert all(document["event_id"] and document["storyline_id"] for document in documents.values())
    assert all("entities" in document for document in documents.values())

    letters = _dead_letters(kafka_servers, names["topic_deadletter"])
    # A processor killed after sending a letter and before committing its record reads the record again and letters
    # it again (at-least-once): the letters of one origin are one letter (as `newswire deadletters list` shows them).
    by_origin = {
        (letter["stage"], letter["origin"]["topic"], letter["origin"]["partition"], letter["origin"]["offset"]): letter
        for letter in letters
    }
    assert sorted(letter["payload"].encode("utf-8", "replace")[:8] for letter in by_origin.values()) == sorted(
        value.decode("utf-8", "replace").encode("utf-8", "replace")[:8] for value in POISON
    ), [letter["reason"] for letter in letters]
    assert {letter["stage"] for letter in letters} == {"processor"}
    assert set(killed) <= set(roles) and sum(killed.values()) == KILLS
    with capsys.disabled():  # the run's figures go into the README: show them in every log, CI's included
        reasons = Counter(letter["reason"] for letter in by_origin.values())
        print(
            f"\nfault run: {ARTICLES} articles, kills {dict(killed)}, dead letters {dict(reasons)} "
            f"({len(letters) - len(by_origin)} sent again after a kill)"
        )
        print(
            f"fault run: all indexed {caught_up - last_kill:.0f} s after the last kill and restart, "
            f"{caught_up - farm.start - ARRIVAL_SECONDS:.0f} s after the last article appeared (to within 3 s)"
        )
