"""Which feeds a poller owns, from feeds-topic records: latest state wins, commands apply once, moves let go."""

from __future__ import annotations

from newswire.bus import Record
from newswire.ingest.base import Feed, FeedConfig, FeedState
from newswire.ingest.directory import ADD, ENABLE, FeedDirectory, command_record

TOPIC = "news.feeds"
WIRE = FeedConfig(url="https://wire.example.org/rss", title="Steppe Wire")
offsets = iter(range(10_000))


def record(key: bytes, value: bytes, partition: int = 0) -> Record:
    return Record(TOPIC, partition, next(offsets), key, value, 0)


def state_record(feed: Feed, partition: int = 0) -> Record:
    return record(feed.key.encode(), feed.to_json(), partition)


def test_the_highest_seq_wins_whatever_the_order():
    directory = FeedDirectory(TOPIC)
    newer = Feed(config=WIRE, state=FeedState(last_status="200 3 new"), seq=5)
    older = Feed(config=WIRE, state=FeedState(last_status="304 not modified"), seq=4)
    directory.apply([state_record(newer), state_record(older)], None)
    assert directory.feeds[newer.key].state.last_status == "200 3 new"


def test_enable_applies_once_even_when_the_partition_is_read_again():
    directory = FeedDirectory(TOPIC)
    disabled = Feed(config=WIRE, state=FeedState(disabled=True, disabled_reason="HTTP 410 Gone"), seq=3)
    key, value = command_record(WIRE, ENABLE, issued=100.0)
    enable = record(key, value)
    directory.apply([state_record(disabled), enable], None)
    enabled = directory.feeds[disabled.key]
    assert not enabled.state.disabled
    assert directory.take_changed() == [enabled]

    # The poller disables it again later; reading the partition from the start must not re-enable it.
    again = Feed(config=WIRE, state=enabled.state.model_copy(update={"disabled": True}), seq=enabled.seq + 1)
    directory.apply([state_record(disabled), enable, state_record(again)], None)
    assert directory.feeds[disabled.key].state.disabled
    assert directory.take_changed() == []


def test_add_of_a_known_feed_updates_its_config_and_keeps_its_state():
    directory = FeedDirectory(TOPIC)
    known = Feed(config=WIRE, state=FeedState(etag='"v7"', new_items_total=40), seq=9)
    key, value = command_record(WIRE.model_copy(update={"title": "Steppe Wire (World)"}), ADD, issued=50.0)
    directory.apply([state_record(known), record(key, value)], None)
    feed = directory.feeds[known.key]
    assert feed.config.title == "Steppe Wire (World)"
    assert feed.state.etag == '"v7"'
    assert feed.seq == 10


def test_feeds_of_partitions_taken_away_are_dropped_unless_being_polled():
    directory = FeedDirectory(TOPIC)
    here = Feed(config=WIRE, seq=1)
    there = Feed(config=FeedConfig(url="https://volga.example.org/atom"), seq=1)
    busy = Feed(config=FeedConfig(url="https://tass.example.org/rss"), seq=1)
    directory.apply([state_record(here, 0), state_record(there, 1), state_record(busy, 1)], None)
    directory.busy.add(busy.key)

    directory.apply([], frozenset({(TOPIC, 0)}))

    assert set(directory.feeds) == {here.key, busy.key}
    directory.release(busy.key)
    directory.apply([], frozenset({(TOPIC, 0)}))
    assert set(directory.feeds) == {here.key}


def test_unreadable_records_are_skipped():
    directory = FeedDirectory(TOPIC)
    feed = Feed(config=WIRE, seq=1)
    directory.apply(
        [record(feed.key.encode(), b"{not json"), record(b"other-key", feed.to_json()), state_record(feed)], None
    )
    assert list(directory.feeds) == [feed.key]
