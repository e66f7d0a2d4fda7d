"""The walking skeleton as a user runs it: the docker-compose service commands on a real Kafka and Elasticsearch.

Demo feeds served on loopback -> `newswire ingest` -> `newswire process` -> `newswire index`; then results read
back with `newswire search` and with a plain kafka-python consumer (not project code); then all three services are
killed and restarted, and the index must not change.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer

from tests.conftest import pipeline_names
from tests.e2e.conftest import (
    base_env,
    compose_command,
    demo_entry_count,
    run_newswire,
    story_of_title,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.elasticsearch]

SPORT_WORDS = ("football", "tennis", "cup", "match", "league", "sport", "final", "open")


@pytest.fixture
def pipeline_env(kafka_servers, es_url, unique_name, demo_server, tmp_path):
    names = pipeline_names(unique_name)
    env = base_env(
        kafka=kafka_servers,
        es=es_url,
        feeds=",".join(demo_server.feed_urls()),
        allow_private_addresses="true",
        data_dir=str(tmp_path / "data"),
        poll_interval="5",
        min_poll_interval="5",
        topic_partitions="3",
        batch_size="16",
        **names,
    )
    yield env, names
    client = Elasticsearch(es_url)
    client.options(ignore_status=404).indices.delete(index=f"{names['index_alias']}*")
    client.options(ignore_status=404).indices.delete_index_template(name=f"newswire-articles-{names['index_alias']}")
    client.close()


def _index_state(es_url: str, alias: str) -> tuple[int, set[str]]:
    client = Elasticsearch(es_url)
    try:
        if not client.indices.exists_alias(name=alias):
            return 0, set()
        client.indices.refresh(index=alias)
        response = client.search(index=alias, size=1000, source=False, query={"match_all": {}})
        ids = {hit["_id"] for hit in response["hits"]["hits"]}
        return int(response["hits"]["total"]["value"]), ids
    finally:
        client.close()


def _start_all(services, env):
    return [
        services(name, compose_command(service), env)
        for name, service in (
            ("ingest", "ingest"),
            ("process", "processor"),
            ("index", "indexer"),
        )
    ]


def test_feeds_to_search_and_stream_survive_a_crash(pipeline_env, services, es_url, kafka_servers):
    env, names = pipeline_env
    expected = demo_entry_count()
    assert expected >= 25

    topics = run_newswire(*compose_command("topics")[1:], env=env)
    assert topics.returncode == 0, topics.stderr
    running = _start_all(services, env)

    def indexed_all() -> bool:
        for service in running:
            assert service.alive(), f"{service.name} died:\n{service.log()[-3000:]}"
        return _index_state(es_url, names["index_alias"])[0] >= expected

    wait_until(indexed_all, 600, f"{expected} demo articles in Elasticsearch")
    count, ids = _index_state(es_url, names["index_alias"])
    assert count == expected

    # Search as a user: mutiny coverage first, no sport in the top five.
    result = run_newswire("search", "Wagner mutiny", "--json", "--size", "10", env=env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert hits, "no hit for 'Wagner mutiny'"
    stories = story_of_title()
    top_stories = [stories.get(hit["title"], "") for hit in hits[:5]]
    assert all(not any(word in story for word in SPORT_WORDS) for story in top_stories), top_stories
    assert "wagner" in hits[0]["title"].lower() or "Wagner Group" in hits[0]["matched_entities"]

    # Subscribe as any Kafka client would: a plain kafka-python consumer on the enriched topic.
    consumer = KafkaConsumer(
        names["topic_enriched"],
        bootstrap_servers=kafka_servers,
        auto_offset_reset="earliest",
        group_id=f"plain-{uuid.uuid4().hex}",
        consumer_timeout_ms=10_000,
    )
    people = set()
    for seen, message in enumerate(consumer, start=1):
        document = json.loads(message.value)
        assert document["schema"] == "newswire.enriched/2"
        assert message.key.decode() == document["id"]
        people |= {e["name"] for e in document["entities"] if e["label"] == "PERSON"}
        if seen >= expected:
            break
    consumer.close()
    assert any("Prigozhin" in name for name in people), sorted(people)

    # Kill -9 all three and start them again: the index keeps exactly the same documents.
    for service in running:
        service.kill()
    running = _start_all(services, env)
    settle_until = time.monotonic() + 30
    while time.monotonic() < settle_until:
        for service in running:
            assert service.alive(), f"{service.name} died after restart:\n{service.log()[-3000:]}"
        assert _index_state(es_url, names["index_alias"]) == (count, ids)
        time.sleep(2)
    assert "Traceback" not in "".join(service.log() for service in running)
