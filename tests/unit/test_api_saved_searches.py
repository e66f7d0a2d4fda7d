"""``/api/saved-searches`` over the embedded store: save, list, read, delete, and follow one live."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.indexer.embedded import EmbeddedStore
from tests.factories import article_factory, enriched_factory

LOCAL = "http://localhost"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    store = EmbeddedStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    store.close()
    return store.path


@pytest.fixture
def client(path: Path):
    with TestClient(create_app(lambda: EmbeddedStore(path)), base_url=LOCAL) as client:
        yield client


def test_a_saved_search_is_listed_read_and_deleted(client, path):
    created = client.post(
        "/api/saved-searches",
        content=json.dumps({"name": "Mutiny", "q": "mutineers", "entity": ["Prigozhin"], "topic": ["Politics"]}),
        headers=JSON,
    )
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["id"].startswith("ss-") and saved["kind"] == "articles" and saved["q"] == "mutineers"
    assert client.get("/api/saved-searches").json()["saved_searches"] == [saved]
    assert client.get(f"/api/saved-searches/{saved['id']}").json() == saved
    reopened = EmbeddedStore(path)  # kept in the store, for the indexer to read
    assert [s.id for s in reopened.saved_searches()] == [saved["id"]]
    reopened.close()
    assert client.delete(f"/api/saved-searches/{saved['id']}").status_code == 204
    assert client.get(f"/api/saved-searches/{saved['id']}").status_code == 404
    assert client.delete(f"/api/saved-searches/{saved['id']}").status_code == 404


def test_a_story_alert_keeps_its_kind_and_threshold(client):
    body = {"id": "growing-wagner", "name": "Wagner grows", "kind": "story_growth", "q": "wagner", "min_articles": 4}
    saved = client.post("/api/saved-searches", content=json.dumps(body), headers=JSON).json()
    assert (saved["id"], saved["kind"], saved["min_articles"], saved["window_minutes"]) == (
        "growing-wagner", "story_growth", 4, 60,
    )  # fmt: skip
    again = client.post("/api/saved-searches", content=json.dumps(body), headers=JSON)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        ('{"name": "x", "q": "\\"unclosed"}', JSON, 400, "quote"),
        ('{"name": "x"}', JSON, 400, "query text or at least one filter"),
        ('{"name": "x", "q": "wagner", "colour": "red"}', JSON, 400, "unknown field 'colour'"),
        ('{"name": "x", "q": "wagner", "kind": "hourly"}', JSON, 400, "kind"),
        ('{"name": "x", "entity": "Putin", "q": 3}', JSON, 400, "text"),
        ('{"name": "x", "entity": [1]}', JSON, 400, "list of names"),
        ("[1, 2]", JSON, 400, "JSON object"),
        ("{not json", JSON, 400, "not JSON"),
        ('{"name": "x", "q": "wagner"}', {"Content-Type": "text/plain"}, 415, "application/json"),
        ('{"name": "x", "q": "wagner"}', {**JSON, "Origin": "https://elsewhere.example"}, 403, "own pages"),
        ('{"name": "' + "x" * 20_000 + '"}', JSON, 413, "at most"),
    ],
)
def test_a_saved_search_it_cannot_take_is_refused_with_the_reason(client, body, headers, status, message):
    response = client.post("/api/saved-searches", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert client.get("/api/saved-searches").json()["saved_searches"] == []


def test_a_page_of_this_server_may_save_and_delete(client):
    origin = {**JSON, "Origin": "http://localhost:8000"}
    saved = client.post("/api/saved-searches", content='{"name": "x", "q": "wagner"}', headers=origin)
    assert saved.status_code == 201
    assert (
        client.delete(
            f"/api/saved-searches/{saved.json()['id']}", headers={"Origin": "http://evil.example"}
        ).status_code
        == 403
    )
    assert client.delete(f"/api/saved-searches/{saved.json()['id']}", headers=origin).status_code == 204


def test_the_live_stream_follows_a_saved_search(client, path):
    saved = client.post("/api/saved-searches", content='{"name": "m", "q": "mutineers"}', headers=JSON).json()
    writer = EmbeddedStore(path)
    arrivals = [
        enriched_factory(article_factory(title="Mutineer column turns back")),
        enriched_factory(article_factory(title="Rates held", summary="No change.", content="Banks.")),
    ]

    def write() -> None:
        time.sleep(0.4)
        writer.upsert(arrivals)

    thread = threading.Thread(target=write)
    thread.start()
    response = client.get(f"/api/live?saved={saved['id']}&seconds=2")
    thread.join()
    writer.close()
    data = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [hit["title"] for hit in data] == ["Mutineer column turns back"]
    assert client.get("/api/live?saved=ss-nothere&seconds=1").status_code == 404
    both = client.get(f"/api/live?saved={saved['id']}&q=wagner&seconds=1")
    assert both.status_code == 400 and "not both" in both.json()["error"]


def test_a_revised_headline_is_shown_with_the_one_before(client, path):
    from datetime import timedelta

    from newswire.contract import Revision

    first = article_factory(title="Wagner column nears Moscow")
    revised = first.model_copy(
        update={
            "revision": 2,
            "title": "Wagner column turns back 200 km from Moscow",
            "revised": Revision(
                previous_title=first.title, title_changed=True, lede_changed=False,
                revised_at=first.fetched + timedelta(hours=2),
            ),
        }
    )  # fmt: skip
    writer = EmbeddedStore(path)
    writer.upsert([enriched_factory(first)])
    writer.upsert([enriched_factory(revised)])
    writer.close()
    (hit,) = client.get("/api/search", params={"q": "wagner column"}).json()["hits"]
    assert (hit["title"], hit["revision"], hit["previous_title"]) == (revised.title, 2, first.title)
    article = client.get(f"/api/articles/{hit['id']}").json()
    assert article["revised"]["previous_title"] == first.title
