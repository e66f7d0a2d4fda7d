"""Storylines: events linked over days and weeks, look-alikes kept apart, one embedding per event."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pytest

from newswire.contract import EnrichedArticle, Entity
from newswire.processors.stories import StoryTracker, features_of, group_articles
from newswire.processors.storylines import StorylineTracker, event_text
from tests.factories import BASE_TIME, article_factory, enriched_factory


class CountingEmbedder:
    """Hashed bag of words, unit length: texts that share words are close. Counts the texts it embeds."""

    name = "stub-bag-of-words"
    dimension = 256

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += texts
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{4,}", text.casefold()):
                rows[row, int(hashlib.sha1(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return (rows / norms).astype(np.float32)


def _report(
    title: str, summary: str, places: Sequence[str], people: Sequence[str] = (), *, hours: float
) -> EnrichedArticle:
    article = article_factory(
        title=title, summary=summary, content=summary, published=BASE_TIME + timedelta(hours=hours)
    )
    entities = [Entity(name=name, label="GPE", count=2, surface_forms=[name]) for name in places]
    entities += [Entity(name=name, label="PERSON", count=1, surface_forms=[name]) for name in people]
    return enriched_factory(article, entities=entities)


def _tracker(embedder: CountingEmbedder) -> StoryTracker:
    return StoryTracker(storylines=StorylineTracker(embedder))


def _flood_in_poland(hours: float = 0.0) -> EnrichedArticle:
    return _report(
        "Hundreds evacuated as river floods town in southwest Poland",
        "Floodwater swept through Zalesie after the Szklanka river burst its banks; soldiers joined rescuers.",
        ["Poland", "Zalesie"],
        hours=hours,
    )


def test_a_follow_up_days_later_joins_the_storyline_of_its_event():
    embedder = CountingEmbedder()
    flood = _flood_in_poland()
    follow_up = _report(
        "Poland opens inquiry into embankment that failed in Zalesie floods",
        "Prosecutors said the embankment on the Szklanka river gave way; the floods forced hundreds from Zalesie.",
        ["Poland", "Zalesie"],
        hours=80,
    )
    first, later = group_articles([flood, follow_up], _tracker(embedder))
    first_line, later_line = first.storyline_id, later.storyline_id
    assert later.story_id != first.story_id  # a new event, days later
    assert first_line == first.story_id and later_line == first_line


def test_a_look_alike_in_another_country_opens_another_storyline():
    embedder = CountingEmbedder()
    poland = _flood_in_poland()
    portugal = _report(
        "Hundreds evacuated as river floods town in northern Portugal",
        "Floodwater swept through Azenhas after the Lameira river burst its banks; soldiers joined rescuers.",
        ["Portugal", "Azenhas"],
        hours=60,  # past the span of the Polish event, so only the storyline level can join them
    )
    poland_article, other = group_articles([poland, portugal], _tracker(embedder))
    poland_line, portugal_line = poland_article.storyline_id, other.storyline_id
    assert portugal_line != poland_line and portugal_line == other.story_id == other.id


def test_a_storyline_resumes_after_a_pause_of_two_weeks():
    embedder = CountingEmbedder()
    adjourned = _report(
        "Larkspur fraud trial of Daniel Sallow adjourned for two weeks",
        "The fraud trial of Daniel Sallow at Southwark was adjourned after a juror fell ill.",
        ["Southwark"],
        ["Daniel Sallow"],
        hours=0,
    )
    resumed = _report(
        "Sallow fraud trial resumes with evidence from finance chief",
        "The fraud trial of Daniel Sallow resumed at Southwark as the former finance chief gave evidence.",
        ["Southwark"],
        ["Daniel Sallow"],
        hours=14 * 24 + 3,
    )
    first, later = group_articles([adjourned, resumed], _tracker(embedder))
    first_line, later_line = first.storyline_id, later.storyline_id
    assert later_line == first_line == first.story_id


def test_a_replay_keeps_its_event_and_storyline_without_embedding_again():
    embedder = CountingEmbedder()
    tracker = _tracker(embedder)
    flood = _flood_in_poland()
    follow_up = _report(
        "Poland declares disaster zone in flooded Zalesie",
        "The government in Poland declared Zalesie a disaster zone and promised aid after the Szklanka floods.",
        ["Poland", "Zalesie"],
        hours=50,
    )
    first = [tracker.assign(features_of(article)) for article in (flood, follow_up)]
    calls = len(embedder.texts)
    again = [tracker.assign(features_of(article)) for article in (flood, follow_up)]
    assert again == first and first[1].storyline_id == first[0].storyline_id
    assert len(embedder.texts) == calls == 2  # one per event


def test_later_articles_and_copies_of_an_event_are_not_embedded():
    embedder = CountingEmbedder()
    flood = _flood_in_poland()
    copy = flood.model_copy(update={"id": "copy-of-flood", "url": "https://copy.example/1"})
    report = _report(
        "Polish army joins flood rescue in Zalesie as river floods town",
        "Soldiers joined rescuers in Zalesie, Poland, where the Szklanka river burst its banks overnight.",
        ["Poland", "Zalesie"],
        hours=2,
    )
    grouped = group_articles([flood, copy, report], _tracker(embedder))
    assert {article.storyline_id for article in grouped} == {grouped[0].story_id}
    assert grouped[1].duplicate_of == flood.id
    assert embedder.texts == [event_text(flood)]


def test_observe_with_another_replicas_embedding_does_not_embed_again():
    mine, theirs = CountingEmbedder(), CountingEmbedder()
    here, there = _tracker(mine), _tracker(theirs)
    flood = _flood_in_poland()
    features = features_of(flood)
    assignment = there.decide(features)
    embedding = there.embedding_of(flood.id)
    assert embedding is not None and assignment.storyline_id == assignment.story_id
    there.observe(features, assignment)
    # The record read back from the shared state carries the embedding: the other replica takes it as it is.
    here.observe(replace(features, embedding=embedding), assignment)
    assert mine.texts == []
    follow_up = features_of(
        _report(
            "Poland opens inquiry into embankment that failed in Zalesie floods",
            "Prosecutors said the embankment on the Szklanka river gave way in Zalesie, Poland.",
            ["Poland", "Zalesie"],
            hours=80,
        )
    )
    assert here.assign(follow_up).storyline_id == assignment.storyline_id
    assert len(mine.texts) == 1  # the follow-up's own event


def test_the_real_model_keeps_look_alikes_apart_and_links_a_follow_up():
    pytest.importorskip("onnxruntime")
    tracker = StoryTracker(storylines=StorylineTracker())
    poland = _flood_in_poland()
    portugal = _report(
        "Two dead as flash flood hits town in northern Portugal",
        "A flash flood tore through Azenhas do Rio in northern Portugal, killing two and wrecking cars.",
        ["Portugal", "Azenhas do Rio"],
        hours=40,
    )
    follow_up = _report(
        "Poland declares disaster zone in flood-hit Zalesie, pledges aid",
        "The government in Poland declared a disaster zone around Zalesie after the Szklanka river floods.",
        ["Poland", "Zalesie"],
        hours=52,
    )
    lines = [article.storyline_id for article in group_articles([poland, portugal, follow_up], tracker)]
    assert lines[0] != lines[1] and lines[2] == lines[0]
