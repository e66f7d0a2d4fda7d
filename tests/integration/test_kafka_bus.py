"""What only the Kafka driver does: failing fast without a broker, topic settings on the broker, broker-side
refusals surfacing as BusError, topic creation racing another process. The shared contract is in test_bus_contract.py.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator

import pytest

from newswire.bus import TopicSpec
from newswire.bus.kafka import KafkaBus
from newswire.errors import BusError, BusUnavailable


@pytest.fixture
def kafka_bus(kafka_servers: str) -> Iterator[KafkaBus]:
    bus = KafkaBus(kafka_servers, client_id="test-kafka-bus")
    yield bus
    bus.close()


def topic_configs(servers: str, topic: str) -> dict[str, str]:
    """The settings the broker holds for ``topic`` beyond its defaults."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kafka import KafkaAdminClient
        from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(bootstrap_servers=servers, client_id="test-kafka-bus-inspector")
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    return {name: entry["value"] for name, entry in described["topic"][topic].items()}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("servers", ["127.0.0.1:1", "broker.invalid:9092", "127.0.0.1:1,127.0.0.1:2"])
def test_without_a_broker_opening_fails_at_once_with_one_line_naming_the_servers(servers):
    with pytest.raises(BusUnavailable) as error:
        KafkaBus(servers)

    message = str(error.value)
    assert message.startswith(f"no Kafka broker answers at {servers}")
    assert "\n" not in message


@pytest.mark.kafka
def test_created_topics_carry_their_retention_and_cleanup_policy(kafka_bus, kafka_servers, unique_name):
    raw, feeds = unique_name("news.raw"), unique_name("news.feeds")

    kafka_bus.ensure_topics([TopicSpec(raw, 2, retention_ms=3_600_000), TopicSpec(feeds, 1, compacted=True)])

    assert topic_configs(kafka_servers, raw)["retention.ms"] == "3600000"
    assert topic_configs(kafka_servers, feeds)["cleanup.policy"] == "compact"


@pytest.mark.kafka
def test_two_processes_creating_the_same_topics_at_once_both_succeed(kafka_servers, unique_name):
    specs = [TopicSpec(unique_name(f"news.raw-{n}"), 2) for n in range(4)]
    buses = [KafkaBus(kafka_servers, client_id=f"racer-{n}") for n in range(2)]
    errors: list[BaseException] = []

    def create(bus: KafkaBus) -> None:
        try:
            bus.ensure_topics(specs)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(bus,)) for bus in buses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for bus in buses:
        bus.close()

    assert errors == []


@pytest.mark.kafka
def test_a_message_too_large_for_kafka_fails_naming_its_topic(kafka_bus, unique_name):
    name = unique_name("news.raw")
    kafka_bus.ensure_topics([TopicSpec(name, 1)])
    producer = kafka_bus.producer()

    with pytest.raises(BusError, match=name):
        producer.send(name, b"prigozhin-dossier", b"x" * 3_000_000)
        producer.flush()
    producer.close()
