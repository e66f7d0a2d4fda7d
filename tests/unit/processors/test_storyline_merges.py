"""Storyline merges: the tracker's rule, the survivor, and every replica applying the merge from the state topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from newswire.errors import ContractError
from newswire.processors.state import StorylineMerge, decode_state, encode_merge, encode_state
from newswire.processors.stories import Assignment, Features, StoryTracker
from newswire.processors.storylines import StorylineTracker

T0 = datetime(2023, 6, 24, 6, tzinfo=UTC)
MEANING = np.array([1.0, 0.0, 0.0], dtype=np.float32)
ENTITIES = {"ORG:wagner group": 2.0, "PERSON:yevgeny prigozhin": 2.0, "GPE:rostov-on-don": 1.0}


def two_storylines(tracker: StorylineTracker) -> None:
    """``line-a`` (older) and ``line-b``, opened apart though about the same people, meaning the same."""
    tracker.observe("line-a", "line-a", T0, ENTITIES, MEANING)
    tracker.observe("line-b", "line-b", T0 + timedelta(hours=2), ENTITIES, MEANING)
    tracker.observe("other", "other", T0, {"ORG:ecb": 1.0}, np.array([0.0, 1.0, 0.0], dtype=np.float32))


def test_an_event_linking_strongly_to_two_storylines_merges_them_into_the_older():
    tracker = StorylineTracker(embedder=None)
    two_storylines(tracker)
    link = tracker.link("event-c", T0 + timedelta(hours=30), MEANING, ENTITIES)
    assert (link.storyline_id, link.merged) == ("line-a", ("line-b",))
    tracker.merge(link.storyline_id, link.merged)
    assert tracker.resolve("line-b") == "line-a"
    assert tracker.storyline_of("line-b") == "line-a"  # the event that opened line-b
    assert tracker.storyline_count == 2
    # A later event of either is in the survivor, and a stale record naming line-b lands there too.
    tracker.observe("event-d", "line-b", T0 + timedelta(hours=31), ENTITIES)
    assert tracker.storyline_of("event-d") == "line-a"


def test_a_weak_second_link_merges_nothing():
    tracker = StorylineTracker(embedder=None, merge_threshold=5.0)
    two_storylines(tracker)
    link = tracker.link("event-c", T0 + timedelta(hours=30), MEANING, ENTITIES)
    assert link.merged == ()
    assert link.storyline_id in {"line-a", "line-b"}


def test_merging_is_idempotent_and_follows_chains():
    tracker = StorylineTracker(embedder=None)
    two_storylines(tracker)
    tracker.observe("line-z", "line-z", T0 - timedelta(hours=1), ENTITIES, MEANING)
    for _ in range(2):
        tracker.merge("line-a", ["line-b"])
        tracker.merge("line-z", ["line-a"])
    assert tracker.resolve("line-b") == "line-z"
    assert tracker.storyline_of("line-b") == "line-z"


def features(article_id: str, hours: float) -> Features:
    return Features(article_id, T0 + timedelta(hours=hours), {"rostov": 2.0, "wagner": 1.0}, dict(ENTITIES))


def test_a_replica_replaying_the_state_topic_applies_the_merge():
    # What the deciding replica published: the events of both storylines, then the merge record before the record
    # of the article whose event showed it.
    records = [
        encode_state(features("line-a", 0), Assignment("line-a", None, "line-a"), "r1", MEANING),
        encode_state(features("line-b", 2), Assignment("line-b", None, "line-b"), "r1", MEANING),
        encode_merge(StorylineMerge("line-a", ("line-b",), "event-c"), "r1"),
        encode_state(features("event-c", 30), Assignment("event-c", None, "line-a"), "r1", MEANING),
    ]
    replica = StoryTracker(storylines=StorylineTracker(embedder=None))
    for value in records:
        decoded = decode_state(value)
        if isinstance(decoded, StorylineMerge):
            replica.merge_storylines(decoded.into, decoded.merged)
        elif decoded is not None:
            replica.observe(*decoded)
    # A later article of line-b's event (within its span) takes the survivor, as on the deciding replica.
    assert replica.decide(features("late-b", 3)).storyline_id == "line-a"
    assert replica.storylines is not None
    assert replica.storylines.resolve("line-b") == "line-a"


def test_the_deciding_tracker_merges_when_it_observes_its_own_decision():
    tracker = StoryTracker(storylines=StorylineTracker(embedder=None))
    tracker.observe(features("line-a", 0), Assignment("line-a", None, "line-a"))
    tracker.observe(features("line-b", 2), Assignment("line-b", None, "line-b"))
    tracker.observe(features("event-c", 30), Assignment("event-c", None, "line-a", ("line-b",)))
    assert tracker.storylines is not None
    assert tracker.storylines.resolve("line-b") == "line-a"


@pytest.mark.parametrize(
    "document",
    [
        {"into": "a", "merged": [], "event": "e"},
        {"into": "a", "merged": ["a"], "event": "e"},
        {"into": "", "merged": ["b"], "event": "e"},
        {"into": "a", "merged": "b", "event": "e"},
        {"into": "a", "merged": [1], "event": "e"},
        {"into": "a", "merged": ["b"] * 65, "event": "e"},
        {"into": "a", "merged": ["b"]},
    ],
)
def test_a_malformed_merge_record_is_a_contract_error(document):
    with pytest.raises(ContractError):
        decode_state(json.dumps({"schema": "newswire.storystate-merge/1", **document}).encode())


def test_a_merge_record_round_trips():
    merge = StorylineMerge("line-a", ("line-b", "line-c"), "event-c")
    assert decode_state(encode_merge(merge, "r1")) == merge
