"""Alerts of saved searches: what the indexer sends to news.alerts as it writes articles, on the embedded store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from newswire.alerts import SavedSearch
from newswire.bus import Record
from newswire.contract import Alert, EnrichedArticle, Entity, decode_alert, encode_enriched, json_schema
from newswire.errors import SearchUnavailable
from newswire.indexer.alerts import AlertWatcher
from newswire.indexer.embedded import EmbeddedStore
from newswire.indexer.service import index_handler
from newswire.stage import BatchOutcome
from tests.factories import BASE_TIME, article_factory, enriched_factory

TOPIC = "news.alerts"
NOW = BASE_TIME + timedelta(hours=2)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    return store


class Clock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def _watcher(store: EmbeddedStore, clock: Clock | None = None) -> AlertWatcher:
    return AlertWatcher(store, TOPIC, reload_seconds=5.0, clock=clock or Clock(), now=lambda: NOW)


def _records(articles: list[EnrichedArticle]) -> list[Record]:
    return [
        Record(
            topic="news.enriched", partition=0, offset=n, key=a.id.encode(), value=encode_enriched(a), timestamp_ms=0
        )
        for n, a in enumerate(articles)
    ]


def _alerts(outcome: BatchOutcome, *, delivered: bool = True) -> list[Alert]:
    """The alerts of a handled batch; ``delivered``: the bus took them (the stage then runs the callbacks)."""
    assert all(output.topic == TOPIC for output in outcome.outputs)
    if delivered:
        for callback in outcome.delivered:
            callback()
    return [decode_alert(output.value) for output in outcome.outputs]


def _article(title: str, minutes: int = 0, **fields: object) -> EnrichedArticle:
    raw = article_factory(title=title, published=NOW - timedelta(minutes=minutes))
    return enriched_factory(raw, **fields)


def test_each_written_article_that_matches_a_saved_search_is_one_alert_keyed_by_the_search(store):
    mutiny = SavedSearch(id="mutiny", name="The mutiny", text="mutineers")
    banks = SavedSearch(id="banks", name="Central banks", text="rates", topics=("Economy",))
    store.save_search(mutiny)
    store.save_search(banks)
    matching = _article("Mutineer column turns back at Yelets")
    other = _article("Wagner talks in Minsk", summary="Talks went on.", content="No more.")
    outcome = index_handler(store, _watcher(store))(_records([matching, other]))
    assert outcome.rejections == []
    alerts = _alerts(outcome)
    assert [(alert.saved_search.id, alert.article.id) for alert in alerts] == [("mutiny", matching.id)]
    assert outcome.outputs[0].key == b"mutiny"
    assert alerts[0].article.title == "Mutineer column turns back at Yelets"
    assert alerts[0].id == f"mutiny/{matching.id}/1"
    assert store.get(matching.id) is not None  # written before it was announced


def test_a_replayed_batch_gives_the_same_alert_ids_and_a_new_revision_a_new_alert(store):
    store.save_search(SavedSearch(id="prigozhin", name="Prigozhin", entities=("prigozhin",)))
    story = _article("Prigozhin agrees to leave for Belarus")
    handle = index_handler(store, _watcher(store))
    first = _alerts(handle(_records([story])))
    again = _alerts(handle(_records([story])))
    revised = story.model_copy(update={"revision": 2, "title": "Prigozhin leaves for Belarus"})
    third = _alerts(handle(_records([revised])))
    assert [alert.id for alert in first] == [alert.id for alert in again]  # a consumer keeping ids drops the repeat
    assert [alert.article.title for alert in third] == ["Prigozhin leaves for Belarus"]
    assert third[0].id != first[0].id


def test_a_search_saved_or_deleted_is_seen_after_the_reload_interval(store):
    clock = Clock()
    watcher = _watcher(store, clock)
    handle = index_handler(store, watcher)
    assert _alerts(handle(_records([_article("Wagner convoy nears Moscow")]))) == []
    store.save_search(SavedSearch(id="convoy", name="Convoy", text="convoy"))
    assert _alerts(handle(_records([_article("Wagner convoy passes Voronezh")]))) == []  # not read again yet
    clock.seconds = 5.0
    assert len(_alerts(handle(_records([_article("Wagner convoy stops near Moscow")])))) == 1
    store.delete_saved_search("convoy")
    clock.seconds = 10.0
    assert _alerts(handle(_records([_article("Wagner convoy turns back")]))) == []


def test_a_new_storyline_naming_an_entity_is_announced_once_and_its_follow_ups_are_not(store):
    store.save_search(SavedSearch(id="new-shoigu", name="New Shoigu story", kind="new_story", entities=("Shoigu",)))
    shoigu = [*enriched_factory().entities]
    shoigu.append(Entity(name="Sergei Shoigu", label="PERSON", count=1, surface_forms=["Shoigu"]))
    first = _article("Shoigu seen for the first time since the mutiny", entities=shoigu)
    first = first.model_copy(update={"event_id": first.id, "storyline_id": first.id, "story_id": first.id})
    follow = _article("Shoigu visits troops", entities=shoigu)
    follow = follow.model_copy(update={"event_id": follow.id, "storyline_id": first.id, "story_id": follow.id})
    alerts = _alerts(index_handler(store, _watcher(store))(_records([first, follow])))
    assert [(alert.article.id, alert.story and alert.story.id) for alert in alerts] == [(first.id, first.id)]
    assert alerts[0].id == f"new-shoigu/new/{first.id}"


def test_a_storyline_that_comes_to_name_the_entity_later_is_announced_at_its_first_match_and_a_replay_repeats_it(
    store,
):
    store.save_search(SavedSearch(id="new-shoigu", name="New Shoigu story", kind="new_story", entities=("Shoigu",)))
    shoigu = [*enriched_factory().entities]
    shoigu.append(Entity(name="Sergei Shoigu", label="PERSON", count=1, surface_forms=["Shoigu"]))
    founder = _article("Wagner seizes Rostov headquarters", minutes=60)  # names no Shoigu
    founder = founder.model_copy(update={"event_id": founder.id, "storyline_id": founder.id, "story_id": founder.id})
    line = {"storyline_id": founder.id}
    named = _article("Prigozhin demands Shoigu", minutes=40, entities=shoigu, **line)
    again = _article("Shoigu silent as column advances", minutes=20, entities=shoigu, **line)
    handle = index_handler(store, _watcher(store))
    assert _alerts(handle(_records([founder]))) == []
    batch = _records([named])
    alerts = _alerts(handle(batch))
    assert [(alert.article.id, alert.story and alert.story.id) for alert in alerts] == [(named.id, founder.id)]
    replayed = _alerts(handle(batch))  # the same batch again, as after a crash before the commit
    assert [alert.id for alert in replayed] == [alerts[0].id]
    assert _alerts(handle(_records([again]))) == []  # the storyline named Shoigu before


def test_a_story_that_grows_past_the_threshold_within_the_window_is_announced_once_a_window(store):
    store.save_search(
        SavedSearch(id="growing", name="Growing", kind="story_growth", text="wagner", min_articles=3, window_minutes=60)
    )
    founder = _article("Wagner seizes Rostov headquarters", minutes=50)
    storyline = founder.id
    old = _article("Wagner recruits in Siberia", minutes=300, storyline_id=storyline)  # outside the hour

    def member(title: str, minutes: int) -> EnrichedArticle:
        return _article(title, minutes, storyline_id=storyline, event_id=founder.id, story_id=founder.id)

    founder = founder.model_copy(update={"storyline_id": storyline, "event_id": founder.id, "story_id": founder.id})
    watcher = _watcher(store)
    handle = index_handler(store, watcher)
    assert _alerts(handle(_records([old, founder, member("Wagner column on the M4", 30)]))) == []  # 2 in the hour
    grown = _alerts(handle(_records([member("Wagner convoy nears Moscow", 10)])))
    assert len(grown) == 1 and grown[0].story is not None
    assert (grown[0].story.id, grown[0].story.articles_in_window, grown[0].story.window_minutes) == (storyline, 3, 60)
    assert _alerts(handle(_records([member("Wagner turns back", 5)]))) == []  # once a window


def test_a_growth_alert_the_bus_did_not_take_is_sent_again_with_the_retried_batch(store):
    store.save_search(SavedSearch(id="g", name="G", kind="story_growth", text="wagner", min_articles=2))
    founder = _article("Wagner seizes Rostov headquarters", minutes=20)
    update = {"storyline_id": founder.id, "event_id": founder.id, "story_id": founder.id}
    batch = _records([founder.model_copy(update=update), _article("Wagner convoy on the M4", 10, **update)])
    handle = index_handler(store, _watcher(store))
    failed = _alerts(handle(batch), delivered=False)
    retried = _alerts(handle(batch))
    assert len(failed) == 1 and [alert.id for alert in retried] == [failed[0].id]


def test_alerts_are_what_the_schema_describes(store):
    store.save_search(SavedSearch(id="mutiny", name="Mutiny", text="wagner"))
    outcome = index_handler(store, _watcher(store))(_records([_article("Wagner fighters in Rostov")]))
    assert outcome.outputs
    for output in outcome.outputs:
        jsonschema.validate(json.loads(output.value), json_schema("alert"))


def test_saved_searches_survive_the_store_being_opened_again(store):
    store.save_search(SavedSearch(id="b", name="Second", text="moscow", created=NOW))
    store.save_search(SavedSearch(id="a", name="First", text="rostov", created=NOW - timedelta(days=1)))
    store.save_search(SavedSearch(id="a", name="First, renamed", text="rostov", created=NOW - timedelta(days=1)))
    store.close()
    again = EmbeddedStore(store.path)
    try:
        assert [(saved.id, saved.name) for saved in again.saved_searches()] == [
            ("a", "First, renamed"),
            ("b", "Second"),
        ]
        assert again.delete_saved_search("a") is True
        assert again.delete_saved_search("a") is False
    finally:
        again.close()


class _FlakyStore(EmbeddedStore):
    down = False

    def saved_searches(self) -> tuple[SavedSearch, ...]:
        if self.down:
            raise SearchUnavailable("the store is down")
        return super().saved_searches()


def test_while_the_saved_searches_cannot_be_read_the_last_ones_read_go_on(tmp_path):
    store = _FlakyStore(tmp_path / "search.sqlite3")
    store.ensure_ready()
    store.save_search(SavedSearch(id="kept", name="Kept", text="wagner"))
    clock = Clock()
    handle = index_handler(store, _watcher(store, clock))
    assert len(_alerts(handle(_records([_article("Wagner fighters in Rostov")])))) == 1
    store.down, clock.seconds = True, 60.0
    outcome = handle(_records([_article("Wagner fighters leave Rostov")]))
    assert [alert.saved_search.id for alert in _alerts(outcome)] == ["kept"]
