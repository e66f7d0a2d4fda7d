"""The live stream: ``GET /api/live`` over the embedded store, and the look-back that catches late-visible writes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery
from newswire.indexer.embedded import EmbeddedStore
from newswire.live import LiveFeed
from newswire.search import LivePosition, SearchHit, SearchQuery, SearchResult, SearchStore, StoriesResult, UpsertResult
from tests.factories import article_factory, enriched_factory

LOCAL = "http://localhost"


def _article(title: str, revision: int = 1, **raw: object) -> EnrichedArticle:
    return enriched_factory(article_factory(title=title, revision=revision, **raw))


def _events(text: str) -> list[dict[str, str]]:
    """The events of an SSE body, each a dict of its fields (comments left out)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields.get("event"):
            events.append(fields)
    return events


def _app(store: EmbeddedStore):
    """The API over its own store on the file of ``store`` (the app closes its store when it stops)."""
    return create_app(lambda: EmbeddedStore(store.path))


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    return store


def _stream(
    store: EmbeddedStore, params: str, arrivals: Sequence[EnrichedArticle], headers: dict[str, str] | None = None
):
    """The events of a 2-second stream during which ``arrivals`` are written, one every 0.2 s."""
    app = _app(store)

    def write() -> None:
        time.sleep(0.4)
        for article in arrivals:
            store.upsert([article])
            time.sleep(0.2)

    with TestClient(app, base_url=LOCAL) as client:
        writer = threading.Thread(target=write)
        writer.start()
        response = client.get(f"/api/live?seconds=2&{params}", headers=headers or {})
        writer.join()
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return _events(response.text)


def test_articles_indexed_while_the_stream_is_open_arrive_once_each_and_only_if_they_match(store):
    before = _article("Wagner column leaves Rostov-on-Don")
    store.upsert([before])  # indexed before the stream starts: not live news
    matching = [_article("Mutineers reach Voronezh region"), _article("Mutineer convoy turns back")]
    other = _article("Central bank holds rates", summary="The decision surprised nobody.", content="Rates held.")
    events = _stream(store, "q=mutineers", [matching[0], other, matching[1]])
    assert [event["event"] for event in events] == ["article", "article"]
    hits = [json.loads(event["data"]) for event in events]
    assert [hit["id"] for hit in hits] == [article.id for article in matching]  # "mutineers" finds "mutineer" too
    assert hits[0]["title"] == "Mutineers reach Voronezh region"
    with TestClient(_app(store), base_url=LOCAL) as client:
        searched = client.get("/api/search", params={"q": "mutineers", "sort": "date"}).json()["hits"]
    assert {hit["id"]: hit for hit in searched}[hits[1]["id"]] == hits[1]  # the same JSON as a search hit


def test_a_client_that_reconnects_with_last_event_id_misses_nothing_and_sees_nothing_twice(store):
    first = _stream(store, "q=wagner", [_article("Wagner talks in Minsk")])
    assert len(first) == 1
    store.upsert([_article("Wagner fighters head for Belarus")])  # while the client is away
    again = _stream(
        store, "q=wagner", [_article("Wagner camp built near Osipovichi")], {"Last-Event-ID": first[-1]["id"]}
    )
    assert [json.loads(event["data"])["title"] for event in again] == [
        "Wagner fighters head for Belarus",
        "Wagner camp built near Osipovichi",
    ]


def test_a_replay_is_not_news_and_a_new_revision_is(store):
    story = _article("Prigozhin agrees to leave for Belarus")
    store.upsert([story])
    revised = story.model_copy(update={"revision": 2, "title": "Prigozhin leaves for Belarus, Kremlin says"})
    events = _stream(store, "entity=Yevgeny+Prigozhin", [story, revised, story])
    assert [json.loads(event["data"])["title"] for event in events] == ["Prigozhin leaves for Belarus, Kremlin says"]


@pytest.mark.parametrize(
    ("params", "headers", "message"),
    [
        ("q=%22unclosed", {}, "quote"),
        ("after=12", {}, "not a live stream position"),
        ("", {"Last-Event-ID": "x:y"}, "not a live stream position"),
        ("seconds=0", {}, "seconds must be"),
        ("size=10", {}, "unknown parameter"),
    ],
)
def test_a_bad_request_gets_a_400_with_the_reason(store, params, headers, message):
    with TestClient(_app(store), base_url=LOCAL) as client:
        response = client.get(f"/api/live?{params}", headers=headers)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_positions_order_by_mark_then_id_and_survive_their_text_form():
    positions = [LivePosition(5, "b" * 16), LivePosition(5, "a" * 16), LivePosition(4, "f" * 16), LivePosition(6)]
    assert sorted(positions) == [positions[2], positions[1], positions[0], positions[3]]
    for position in positions:
        assert LivePosition.decode(position.encode()) == position
    for text in ("", "5", "-1:" + "a" * 16, "5:not-hex", "1" * 30 + ":" + "a" * 16):
        with pytest.raises(InvalidQuery):
            LivePosition.decode(text)


class LateStore(SearchStore):
    """A store whose writes become visible out of the order of their positions (as Elasticsearch's can)."""

    live_lookback = 100

    def __init__(self) -> None:
        self.visible: list[tuple[LivePosition, SearchHit]] = []

    def show(self, mark: int, title: str) -> None:
        article = _article(title)
        self.visible.append((LivePosition(mark, article.id), SearchHit(article=article, score=0.0)))

    def live_position(self) -> LivePosition:
        return max((position for position, _ in self.visible), default=LivePosition(0))

    def indexed_after(self, query: SearchQuery, after: LivePosition, limit: int):
        return tuple(sorted(item for item in self.visible if item[0] > after)[:limit])

    def ensure_ready(self) -> None: ...
    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchResult:
        raise NotImplementedError

    def stories(self, query) -> StoriesResult:
        raise NotImplementedError

    def get(self, article_id: str) -> EnrichedArticle | None:
        return None

    def count(self) -> int:
        return len(self.visible)

    def refresh(self) -> None: ...
    def close(self) -> None: ...


def test_a_write_that_becomes_visible_late_within_the_look_back_is_still_sent_once():
    store = LateStore()
    store.show(1000, "before the stream")
    feed = LiveFeed(store, SearchQuery())
    store.show(1050, "second writer, visible first")
    assert [hit.article.title for _, hit in feed.poll()] == ["second writer, visible first"]
    store.show(1020, "first writer, visible late")
    sent = feed.poll()
    assert [hit.article.title for _, hit in sent] == ["first writer, visible late"]
    assert sent[0][0] == LivePosition(1050, store.visible[1][0].article_id)  # resuming from it repeats nothing
    assert feed.poll() == []
    store.show(900, "older than the look-back")  # later than 100 marks: the one case the feed cannot see
    store.show(1300, "much later")
    assert [hit.article.title for _, hit in feed.poll()] == ["much later"]


def test_many_writes_in_one_poll_come_in_pages_without_loss():
    store = LateStore()
    feed = LiveFeed(store, SearchQuery())
    for mark in range(1, 700):
        store.show(mark, f"article {mark}")
    first = feed.poll(limit=500)
    rest = feed.poll(limit=500)
    titles = [hit.article.title for _, hit in first + rest]
    assert titles == [f"article {mark}" for mark in range(1, 700)]


def test_a_store_made_before_the_live_stream_is_migrated_and_streams_what_comes_next(tmp_path):
    path = tmp_path / "search.sqlite3"
    old = EmbeddedStore(path)
    old.ensure_ready()
    written = [_article("Wagner column leaves Rostov-on-Don"), _article("Wagner convoy nears Moscow")]
    old.upsert(written)
    old.close()
    with sqlite3.connect(path) as connection:  # back to schema version 3: no indexed_seq column
        connection.executescript(
            "DROP INDEX articles_by_indexed; ALTER TABLE articles DROP COLUMN indexed_seq; PRAGMA user_version = 3;"
        )
    migrated = EmbeddedStore(path)
    migrated.ensure_ready()
    try:
        start = LivePosition(mark=0, article_id="")
        old_order = [hit.article.id for _, hit in migrated.indexed_after(SearchQuery(text="wagner"), start, 10)]
        assert old_order == [article.id for article in written]  # numbered in the order first written
        here = migrated.live_position()
        arrival = _article("Wagner fighters head for Belarus")
        migrated.upsert([arrival])
        arrived = migrated.indexed_after(SearchQuery(text="wagner"), here, 10)
        assert [hit.article.id for _, hit in arrived] == [arrival.id]
    finally:
        migrated.close()
