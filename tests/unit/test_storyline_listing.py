"""Storylines and their events as a reader finds them: the embedded store, ``newswire stories``/``story``, the API."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.app.cli import main
from newswire.contract import decode_enriched, encode_enriched
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, StoryQuery, story_articles
from tests.story_model import Storylines, expected_stories, matching_ids


@pytest.fixture(scope="module")
def corpus() -> Storylines:
    return Storylines()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, corpus: Storylines) -> Path:
    directory = tmp_path_factory.mktemp("storylines")
    store = EmbeddedStore(directory / "search.sqlite3")
    store.ensure_ready()
    assert store.upsert(corpus.articles).written == len(corpus.articles)
    store.close()
    return directory


@pytest.fixture()
def store(data_dir: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(data_dir / "search.sqlite3")
    yield store
    store.close()


@pytest.mark.parametrize("level", ["storyline", "event"])
@pytest.mark.parametrize(
    "query", [{}, {"text": "prigozhin"}, {"sort": "size"}, {"size": 2, "offset": 1}, {"text": "radio"}]
)
def test_listings_follow_the_definition_at_both_levels(store, corpus, level, query):
    story_query = StoryQuery(level=level, **query)
    assert store.stories(story_query) == expected_stories(
        corpus.articles, matching_ids(store, story_query), story_query
    )


def test_the_mutiny_is_one_storyline_of_three_events_and_the_look_alike_stays_apart(store, corpus):
    storylines = {story.story_id: story for story in store.stories(StoryQuery(level="storyline")).stories}
    mutiny = storylines[corpus.mutiny]
    assert (mutiny.size, mutiny.events, mutiny.copies, mutiny.title) == (5, 3, 1, corpus.seized.title)
    assert corpus.lookalike.id in storylines and storylines[corpus.lookalike.id].events == 1
    events = store.stories(StoryQuery(level="event")).stories
    assert len(events) == len(storylines) + 2  # the mutiny's three events are one storyline
    assert "story-rouble" in storylines  # a version 1 article: its story is its storyline


def test_search_filters_by_storyline_and_by_event(store, corpus):
    in_storyline = store.search(SearchQuery(storyline_id=corpus.mutiny, size=20))
    assert {hit.article.id for hit in in_storyline.hits} == {
        corpus.seized.id,
        corpus.seized_copy.id,
        corpus.address.id,
        corpus.reaction.id,
        corpus.belarus.id,
    }
    in_event = store.search(SearchQuery(story_id=corpus.address.id, size=20))
    assert {hit.article.id for hit in in_event.hits} == {corpus.address.id, corpus.reaction.id}
    total, articles = story_articles(store, corpus.mutiny, level="storyline")
    assert total == 5 and articles[0] == corpus.seized


def test_newswire_story_prints_the_storyline_as_a_timeline_of_events(data_dir, corpus, capsys):
    assert main(["story", corpus.mutiny, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"storyline {corpus.mutiny}" in out
    assert "3 events, oldest first:" in out
    timeline = out.split("3 events, oldest first:")[1]
    positions = [timeline.index(title) for title in (corpus.seized.title, corpus.address.title, corpus.belarus.title)]
    assert positions == sorted(positions)
    assert main(["story", corpus.mutiny, "--json", "--data-dir", str(data_dir)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [event["event_id"] for event in document["events"]] == [
        corpus.seized.id,
        corpus.address.id,
        corpus.belarus.id,
    ]
    assert [event["size"] for event in document["events"]] == [2, 2, 1]
    assert document["story"]["level"] == "storyline" and document["story"]["events"] == 3


def test_newswire_stories_lists_storylines_unless_asked_for_events(data_dir, corpus, capsys):
    assert main(["stories", "--data-dir", str(data_dir)]) == 0
    storylines = capsys.readouterr().out
    assert "(3 events)" in storylines
    assert main(["stories", "--level", "event", "--json", "--data-dir", str(data_dir)]) == 0
    events = json.loads(capsys.readouterr().out)
    assert corpus.address.id in {story["story_id"] for story in events["stories"]}
    assert all(story["level"] == "event" for story in events["stories"])


def test_the_api_serves_storylines_events_and_the_filters(data_dir, corpus):
    app = create_app(lambda: EmbeddedStore(data_dir / "search.sqlite3"))
    with TestClient(app, base_url="http://localhost") as client:  # the API answers to localhost by default
        storyline = client.get(f"/api/stories/{corpus.mutiny}").json()
        assert [event["title"] for event in storyline["events"]] == [
            corpus.seized.title,
            corpus.address.title,
            corpus.belarus.title,
        ]
        event = client.get(f"/api/stories/{corpus.address.id}", params={"level": "event"}).json()
        assert event["story"]["events"] == 1 and event["articles_total"] == 2
        assert client.get("/api/search", params={"storyline": corpus.mutiny}).json()["total"] == 5
        assert client.get("/api/search", params={"event": corpus.address.id}).json()["total"] == 2
        assert client.get("/api/search", params={"event": "a", "story": "b"}).status_code == 400
        assert client.get("/api/stories", params={"level": "chapter"}).status_code == 400


def test_a_version_1_message_reads_as_its_event_in_a_storyline_of_its_own(corpus):
    document = json.loads(encode_enriched(corpus.reaction))
    assert (document["schema"], document["event_id"], document["storyline_id"], document["story_id"]) == (
        "newswire.enriched/2",
        corpus.address.id,
        corpus.mutiny,
        corpus.address.id,
    )
    old = {key: value for key, value in document.items() if key not in ("event_id", "storyline_id")}
    old["schema"] = "newswire.enriched/1"
    read = decode_enriched(json.dumps(old))
    assert (read.event, read.storyline, read.schema_) == (corpus.address.id, corpus.address.id, "newswire.enriched/2")


def test_a_store_made_before_storylines_is_migrated_in_place(tmp_path, corpus):
    path = tmp_path / "search.sqlite3"
    store = EmbeddedStore(path)
    store.ensure_ready()
    store.upsert([corpus.reaction])
    store.close()
    with sqlite3.connect(path) as connection:  # back to schema version 1: no storyline column
        connection.executescript(
            "DROP INDEX articles_by_storyline; DROP INDEX articles_by_storyline_key;"
            " ALTER TABLE articles DROP COLUMN storyline_id; PRAGMA user_version = 1;"
        )
    store = EmbeddedStore(path)
    try:
        store.ensure_ready()
        assert store.get(corpus.reaction.id) == corpus.reaction
        (storyline,) = store.stories(StoryQuery(level="storyline")).stories
        assert storyline.story_id == corpus.address.id  # its event, as a version 1 store knew it
        store.upsert([corpus.address])
        assert store.search(SearchQuery(storyline_id=corpus.mutiny)).total == 1
    finally:
        store.close()
