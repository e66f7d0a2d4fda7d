"""The OpenAPI description stays true: schemathesis drives the app in-process (ASGI) from ``/openapi.json``.

Every documented operation gets generated parameters (valid ones and, in the negative phase, invalid ones); each
answer must be no 5xx, a documented status code with its documented content type, and a body that fits its schema,
and an undocumented method must be a 405 with ``Allow``. Bounded: a few dozen examples per operation, no shrinking
deadline, so the file runs in well under a minute on the embedded store.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.python import asgi

from newswire.app.api import create_app
from newswire.contract import Entity, Topic
from newswire.indexer.embedded import EmbeddedStore
from tests.factories import article_factory, enriched_factory

MAX_EXAMPLES = 25


def _store_path() -> Path:
    """A small embedded store in a temporary folder, made once per run (the schema is loaded at import time, before
    any fixture) and removed when the run ends."""
    folder = tempfile.mkdtemp(prefix="newswire-openapi-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    articles = [
        enriched_factory(
            article_factory(title=f"Wagner column {n} marched north", summary="Prigozhin's men <b>moved</b>."),
            entities=[Entity(name="Yevgeny Prigozhin", label="PERSON", count=1)],
            topics=[Topic(label="conflict_war_peace", score=0.8)],
            story_id="mutiny" if n % 2 else None,
        )
        for n in range(6)
    ]
    store.upsert(articles)
    store.close()
    return path


APP = create_app(lambda: EmbeddedStore(_store_path()), allowed_hosts=(asgi.HOST,))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.exclude(path="/api/live").parametrize()  # a stream stays open for its seconds: checked below, once
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_described(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_description_names_every_operation() -> None:
    assert {operation.path for operation in (result.ok() for result in schema.get_all_operations())} == {
        "/api/search",
        "/api/articles/{article_id}",
        "/api/stories",
        "/api/stories/{story_id}",
        "/api/suggest",
        "/api/health",
        "/api/live",
        "/api/saved-searches",
        "/api/saved-searches/{saved_search_id}",
    }


def test_the_live_stream_answers_as_described() -> None:
    operation = schema["/api/live"]["GET"]
    case = operation.Case(query={"q": "wagner", "seconds": 1})
    case.call_and_validate(
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_headers_conformance,
        ]
    )
    bad = operation.Case(query={"seconds": 0})
    case_response = bad.call()
    assert case_response.status_code == 400


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_an_undocumented_method_is_a_405_with_allow(method: str) -> None:
    from starlette.testclient import TestClient

    with TestClient(APP, base_url=f"http://{asgi.HOST}") as client:
        for path in ("/api/search", "/api/health", "/api/suggest", "/openapi.json"):
            response = client.request(method, path)
            assert response.status_code == 405
            assert "GET" in response.headers["allow"]
