"""Fixtures every test area shares: a clean environment, the real services, unique names.

The real Kafka broker and Elasticsearch node are the ones ``newswire services up`` starts (``make test`` does that
first). Their addresses can be changed with ``NEWSWIRE_TEST_KAFKA`` and ``NEWSWIRE_TEST_ES``. When one is missing, a
test that needs it fails under CI (``CI=true``) and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

TEST_KAFKA = os.environ.get("NEWSWIRE_TEST_KAFKA", "127.0.0.1:9092")
TEST_ES = os.environ.get("NEWSWIRE_TEST_ES", "http://127.0.0.1:9200")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NEWSWIRE_* variable of the developer's shell may leak into a test."""
    for name in list(os.environ):
        if name.startswith("NEWSWIRE_"):
            monkeypatch.delenv(name)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require(service: str, host: str, port: int) -> None:
    if _answers(host, port):
        return
    message = f"{service} is not answering on {host}:{port}; start it with `newswire services up` (make test does)"
    if UNDER_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_servers() -> str:
    """Bootstrap servers of the real Kafka broker."""
    host, _, port = TEST_KAFKA.split(",")[0].rpartition(":")
    _require("Kafka", host, int(port))
    return TEST_KAFKA


@pytest.fixture(scope="session")
def es_url() -> str:
    """URL of the real Elasticsearch node."""
    parts = urlsplit(TEST_ES)
    _require("Elasticsearch", parts.hostname or "127.0.0.1", parts.port or 9200)
    return TEST_ES


_counter = itertools.count()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names (topics, groups, indexes) no other test, and no other run, uses: ``unique_name("news.raw")``."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    salt = f"{os.getpid()}{next(_counter)}"

    def make(base: str) -> str:
        return f"test-{base}-{digest}-{salt}".lower()

    return make


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path


def pipeline_names(unique_name: Callable[[str], str]) -> dict[str, str]:
    """Topic, group and index settings of a pipeline no other test shares."""
    return {
        "topic_raw": unique_name("raw"),
        "topic_enriched": unique_name("enriched"),
        "topic_deadletter": unique_name("deadletter"),
        "topic_feeds": unique_name("feeds"),
        "processor_group": unique_name("processor"),
        "indexer_group": unique_name("indexer"),
        "index_alias": unique_name("news"),
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that need Docker run last: `make test` builds their images while the others run."""
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)
