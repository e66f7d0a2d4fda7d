"""docker compose, run for real: the stack of docker-compose.yml comes up, turns the demo feeds into search results and
an enriched stream on the published ports, survives a killed processor, and goes down.

The images are the stand-ins scripts/docker-setup builds where no registry is reachable (deploy/docker/
compose.local.yml changes the images and nothing else). The published ports are moved off 9092 and 9200, where the
loopback services of the other tests listen, with the file's own KAFKA_PORT and ES_PORT variables. Without a Docker
engine or the images, the test fails under CI with one line and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from newswire.contract import encode_raw
from tests.conftest import UNDER_CI
from tests.e2e.conftest import REPO, base_env, demo_entry_count, run_newswire, wait_until
from tests.factories import article_factory

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.slow]

FILES = ["-f", "docker-compose.yml", "-f", "deploy/docker/compose.local.yml"]
LOCAL = yaml.safe_load((REPO / "deploy" / "docker" / "compose.local.yml").read_text())["services"]
IMAGES = ("newswire:latest", LOCAL["kafka"]["image"], LOCAL["elasticsearch"]["image"])
SETUP_STATUS = REPO / ".services" / "docker-setup.status"
SETUP_WAIT = 1500


def _missing(message: str) -> None:
    if UNDER_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _wait_for_setup() -> None:
    """When `make test` started scripts/docker-setup in the background, wait for its outcome line."""
    log = SETUP_STATUS.with_suffix(".log")
    if not log.exists():
        return  # set up another way (by hand, or a previous run): the engine and image checks below decide
    deadline = time.monotonic() + SETUP_WAIT
    while not SETUP_STATUS.exists() and time.monotonic() < deadline:
        time.sleep(5)
    outcome = SETUP_STATUS.read_text().strip() if SETUP_STATUS.exists() else f"still running after {SETUP_WAIT} s"
    if outcome != "ok":
        _missing(f"scripts/docker-setup {outcome} (log {log})")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    kafka: str
    es: str

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "compose", "-p", self.project, *FILES, *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60").stdout

    def running(self, service: str) -> list[str]:
        """Container ids of ``service`` that are running."""
        result = self.compose("ps", "--status", "running", "-q", service)
        return result.stdout.split()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _wait_for_setup()
    engine = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if engine.returncode != 0:
        _missing("no Docker engine answers (`docker info` failed); run scripts/docker-setup (make test does)")
    images = subprocess.run(["docker", "image", "inspect", *IMAGES], capture_output=True, check=False)
    if images.returncode != 0:
        _missing(f"the compose images {', '.join(IMAGES)} are not built; run scripts/docker-setup (make test does)")
    kafka_port, es_port = _free_port(), _free_port()
    env = base_env()
    env.update(KAFKA_PORT=str(kafka_port), ES_PORT=str(es_port))
    stack = Stack(
        f"newswire-test-{uuid.uuid4().hex[:8]}", env, f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{es_port}"
    )
    started = stack.compose("up", "-d", timeout=600)
    try:
        assert started.returncode == 0, f"docker compose up failed:\n{started.stderr[-3000:]}"
        yield stack
    finally:
        log = tmp_path_factory.mktemp("compose") / "compose.log"
        log.write_text(stack.logs())
        print(f"compose logs of {stack.project}: {log}")
        stack.compose("down", "-v", "--timeout", "20", timeout=300)


def _indexed(es: str) -> set[str]:
    client = Elasticsearch(es)
    try:
        if not client.indices.exists_alias(name="news"):
            return set()
        client.indices.refresh(index="news")
        response = client.search(index="news", size=1000, source=False, query={"match_all": {}})
        return {hit["_id"] for hit in response["hits"]["hits"]}
    except Exception:  # the node is still starting: not indexed yet
        return set()
    finally:
        client.close()


@pytest.mark.timeout(SETUP_WAIT + 900)
def test_compose_up_serves_search_and_the_enriched_stream(stack: Stack) -> None:
    expected = demo_entry_count()
    assert len(stack.running("processor")) == 2, "docker-compose.yml asks for two processor replicas"

    def indexed_all() -> bool:
        restarting = stack.compose("ps", "--status", "restarting", "--format", "{{.Service}}").stdout.split()
        assert not restarting, f"restarting: {restarting}\n{stack.logs()[-4000:]}"
        return len(_indexed(stack.es)) >= expected

    wait_until(indexed_all, 480, f"{expected} demo articles in the compose stack", every=3)
    ids = _indexed(stack.es)
    assert len(ids) == expected

    # The search interface, pointed at the stack's published Elasticsearch port.
    result = run_newswire("search", "Prigozhin", "--json", "--size", "5", "--es", stack.es, env=base_env())
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert hits and all(hit["id"] in ids for hit in hits)

    # Any Kafka client on the published port: the enriched stream holds every indexed article, enriched.
    consumer = KafkaConsumer(
        "news.enriched",
        bootstrap_servers=stack.kafka,
        auto_offset_reset="earliest",
        group_id=f"plain-{uuid.uuid4().hex}",
        consumer_timeout_ms=15_000,
    )
    streamed: dict[str, dict] = {}
    for message in consumer:
        document = json.loads(message.value)
        streamed[document["id"]] = document
        if len(streamed) >= expected:
            break
    consumer.close()
    assert set(streamed) == ids
    assert all(doc["schema"] == "newswire.enriched/2" and doc["event_id"] for doc in streamed.values())
    assert any(entity["name"] == "Yevgeny Prigozhin" for doc in streamed.values() for entity in doc["entities"])


def test_a_crashed_processor_is_restarted_by_compose(stack: Stack) -> None:
    before = _demo_indexed(stack)
    restarts = _restarts(stack, "processor")
    victim = stack.running("processor")[0]
    # SIGKILL the container's process from the host, as a crash would end it (`docker kill` counts as a manual stop,
    # which no restart policy undoes).
    os.kill(int(_inspect("{{.State.Pid}}", victim)[0]), signal.SIGKILL)

    def restarted() -> bool:
        return _restarts(stack, "processor") == restarts + 1 and len(stack.running("processor")) == 2

    # restart: unless-stopped brings it back; the index keeps exactly the same documents.
    wait_until(restarted, 120, "compose to restart the crashed processor")
    assert _indexed(stack.es) == before
    assert Elasticsearch(stack.es).count(index="news")["count"] == len(before)


def _publish_raw(stack: Stack, count: int, tag: str) -> set[str]:
    """``count`` new raw articles onto the stack's news.raw, as a poller would publish them; their ids."""
    articles = [
        article_factory(
            url=f"https://harbourpost.example/2023/06/25/{tag}-{number}", title=f"Wagner convoy ({tag} {number})"
        )
        for number in range(count)
    ]
    producer = _producer(stack.kafka)
    for article in articles:
        producer.send("news.raw", key=article.id.encode(), value=encode_raw(article))
    producer.flush()
    producer.close()
    return {article.id for article in articles}


def _producer(servers: str, patience: float = 300.0) -> KafkaProducer:
    """A producer on ``servers``, tried again until the broker takes clients: a restarted broker's container runs
    (and its published port accepts connections) well before the broker inside answers them."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return KafkaProducer(bootstrap_servers=servers, acks="all")
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _inspect(template: str, *containers: str) -> list[str]:
    """``docker inspect -f template`` of each container, one value each."""
    inspected = subprocess.run(
        ["docker", "inspect", "-f", template, *containers], capture_output=True, text=True, check=True
    )
    return inspected.stdout.split()


def _demo_indexed(stack: Stack) -> set[str]:
    """The ids in the index once every demo article is there: a test run on its own must not count the demo feeds'
    articles still arriving as its own."""
    expected = demo_entry_count()
    wait_until(lambda: len(_indexed(stack.es)) >= expected, 480, f"{expected} demo articles", every=3)
    return _indexed(stack.es)


def _restarts(stack: Stack, service: str) -> int:
    """How often compose has restarted the containers of ``service``, in all."""
    return sum(
        int(count) for count in _inspect("{{.RestartCount}}", *stack.compose("ps", "-a", "-q", service).stdout.split())
    )


@pytest.mark.timeout(600)
def test_elasticsearch_paused_for_a_minute_loses_nothing(stack: Stack) -> None:
    before = _demo_indexed(stack)
    indexer_restarts = _restarts(stack, "indexer")
    paused = stack.compose("pause", "elasticsearch")
    assert paused.returncode == 0, paused.stderr
    try:
        new = _publish_raw(stack, 40, "pause")
        time.sleep(60)
    finally:
        stack.compose("unpause", "elasticsearch")
    resumed = time.monotonic()
    wait_until(lambda: _indexed(stack.es) >= before | new, 300, "the articles published while Elasticsearch was paused")
    print(f"compose: all 40 articles searchable {time.monotonic() - resumed:.1f} s after Elasticsearch resumed")
    assert _indexed(stack.es) == before | new
    assert Elasticsearch(stack.es).count(index="news")["count"] == len(before | new)
    assert _restarts(stack, "indexer") == indexer_restarts, "the indexer should wait for Elasticsearch, not crash"


@pytest.mark.timeout(600)
def test_a_broker_restart_loses_nothing(stack: Stack) -> None:
    before = _demo_indexed(stack)
    first = _publish_raw(stack, 20, "before-restart")
    restarted = stack.compose("restart", "kafka", timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    wait_until(lambda: stack.compose("ps", "--status", "running", "-q", "kafka").stdout.strip() != "", 120, "Kafka")
    _producer(stack.kafka).close()  # "back": the broker takes clients again
    back = time.monotonic()
    second = _publish_raw(stack, 20, "after-restart")
    wanted = before | first | second
    wait_until(lambda: _indexed(stack.es) >= wanted, 300, "the articles published around the broker restart")
    print(f"compose: all 40 articles searchable {time.monotonic() - back:.1f} s after the broker came back")
    assert _indexed(stack.es) == wanted
    assert Elasticsearch(stack.es).count(index="news")["count"] == len(wanted)
