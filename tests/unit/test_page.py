"""The search page's files against the API they read: the elements the scripts look up and the JSON fields they use.

The page itself is driven in a browser by ``tests/e2e/test_page_browser.py``; these checks run without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.contract import HeadlineChange, Revision
from newswire.indexer.embedded import EmbeddedStore
from tests.factories import article_factory, enriched_factory

LOCAL = "http://localhost"
REVISED = Revision(
    previous_title="Convoy <b>nears</b> Moscow",
    title_changed=True,
    revised_at=datetime(2023, 6, 24, 18, 30, tzinfo=UTC),
    history=[
        HeadlineChange(title="Convoy leaves Rostov", until=datetime(2023, 6, 24, 9, 15, tzinfo=UTC)),
        HeadlineChange(title="Convoy <b>nears</b> Moscow", until=datetime(2023, 6, 24, 18, 30, tzinfo=UTC)),
    ],
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    store.upsert(
        [
            enriched_factory(article_factory(title="Wagner mutiny: dated report")),
            enriched_factory(article_factory(title="Wagner mutiny: undated report", published_estimated=True)),
            enriched_factory(article_factory(title="Convoy turns back: third headline", revision=3, revised=REVISED)),
        ]
    )
    store.close()
    with TestClient(create_app(lambda: EmbeddedStore(path)), base_url=LOCAL) as test_client:
        yield test_client


def test_every_element_the_scripts_look_up_is_on_the_page(client: TestClient) -> None:
    page = client.get("/").text
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    for script in ("/app.js", "/live.js"):
        looked_up = set(re.findall(r'\$\("([a-z-]+)"\)', client.get(script).text))
        assert looked_up, script
        # the facet lists are looked up as "facet-" + their name
        assert looked_up - {"facet-"} <= ids, (script, looked_up - ids)
    assert {"facet-entities", "facet-topics", "facet-sources", "article-view", "results-view", "health"} <= ids


def test_hits_say_whether_their_date_was_estimated_and_the_script_marks_it(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "wagner mutiny"}).json()["hits"]
    estimated = {hit["title"]: hit["published_estimated"] for hit in hits}
    assert estimated == {"Wagner mutiny: dated report": False, "Wagner mutiny: undated report": True}
    assert "published_estimated" in client.get("/app.js").text


def test_the_article_view_and_health_line_read_fields_the_api_gives(client: TestClient) -> None:
    script = client.get("/app.js").text
    hit = client.get("/api/search", params={"q": "undated"}).json()["hits"][0]
    article = client.get(f"/api/articles/{hit['id']}").json()
    for name in ("title", "source", "published", "fetched", "url", "summary", "entities", "topics", "event_id"):
        assert name in article and f".{name}" in script, name
    for name in ("storyline_id", "duplicate_of", "published_estimated"):
        assert name in article and f"article.{name}" in script, name
    health = client.get("/api/health").json()
    assert (health["status"], health["articles"]) == ("ok", 3) and "health.articles" in script
    assert health["last_indexed"] and "health.last_indexed" in script


def test_the_article_view_lists_the_earlier_headlines_the_api_gives_as_text(client: TestClient) -> None:
    hit = client.get("/api/search", params={"q": "third headline"}).json()["hits"][0]
    history = client.get(f"/api/articles/{hit['id']}").json()["revised"]["history"]
    assert history == [
        {"title": "Convoy leaves Rostov", "until": "2023-06-24T09:15:00Z"},
        {"title": "Convoy <b>nears</b> Moscow", "until": "2023-06-24T18:30:00Z"},
    ]
    script = client.get("/app.js").text
    assert "revised.history" in script and "change.title" in script and "change.until" in script
    # Headlines are the feed's text, shown as text: the script never parses HTML it was given.
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
