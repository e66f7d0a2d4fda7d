"""What ``SearchStore.stories`` must answer, computed in plain Python from the articles: the tests' reference.

Also a small corpus of mutiny stories (:class:`Mutiny`) that the store tests of both stores share.

Which articles match a query's text and filters is the store's search (tested on its own, and for parity); this model
does the rest from the definition in :mod:`newswire.search`: a story is listed when one of its articles matches, and
everything said about it counts all its articles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from newswire.contract import EnrichedArticle, Entity
from newswire.search import SearchStore, StoriesResult, StoryQuery, StorySummary, top_entities
from tests.factories import article_factory, enriched_factory

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2023, 6, 24, 6, 0, tzinfo=UTC)
LABELS = {
    "Yevgeny Prigozhin": "PERSON",
    "Vladimir Putin": "PERSON",
    "Sergei Shoigu": "PERSON",
    "Valery Gerasimov": "PERSON",
    "Alexander Lukashenko": "PERSON",
    "Rostov-on-Don": "GPE",
    "Moscow": "GPE",
    "Belarus": "GPE",
    "Wagner Group": "ORG",
}


def make(
    title: str,
    *,
    hours: float = 0,
    story_id: str | None = None,
    source: str = "Harbour Post",
    entities: tuple[str, ...] = (),
    duplicate_of: str | None = None,
    **fields: Any,
) -> EnrichedArticle:
    published = T0 + timedelta(hours=hours)
    raw = article_factory(
        title=title, summary="", content="", source=source, published=published, fetched=published, **fields
    )
    return enriched_factory(
        raw,
        entities=[Entity(name=name, label=LABELS.get(name, "ORG"), count=1) for name in entities],
        topics=[],
        story_id=story_id,
        duplicate_of=duplicate_of,
    )


class Mutiny:
    """Three stories of the mutiny and one article that belongs to no story, with the first articles' ids as ids."""

    def __init__(self) -> None:
        self.rostov = make(
            "Wagner fighters hold Rostov-on-Don headquarters",
            hours=1,
            entities=("Yevgeny Prigozhin", "Rostov-on-Don", "Wagner Group"),
        )
        rostov = self.rostov.id
        self.rostov = self.rostov.model_copy(update={"story_id": rostov})
        self.rostov_copy = make(
            "Wagner fighters hold Rostov-on-Don headquarters",
            hours=1.5,
            story_id=rostov,
            source="Wire Relay",
            entities=("Yevgeny Prigozhin", "Rostov-on-Don"),
            duplicate_of=rostov,
        )
        self.shoigu = make(
            "Prigozhin demands to meet Shoigu and Gerasimov",
            hours=0.5,  # dated before the story's first article, as a feed may
            story_id=rostov,
            source="Capital Courier",
            entities=("Yevgeny Prigozhin", "Sergei Shoigu", "Valery Gerasimov"),
        )
        self.putin = make(
            "Putin calls the armed mutiny treason", hours=4, entities=("Vladimir Putin", "Yevgeny Prigozhin")
        )
        self.putin = self.putin.model_copy(update={"story_id": self.putin.id})
        self.deal = make(
            "Lukashenko brokers a deal to halt the march",
            hours=28,
            story_id="story-deal",  # its first article is not in the store
            source="Northern Courier",
            entities=("Alexander Lukashenko", "Belarus", "Yevgeny Prigozhin"),
        )
        self.deal_later = make(
            "Prigozhin to leave for Belarus, Kremlin says",
            hours=30,
            story_id="story-deal",
            entities=("Belarus", "Yevgeny Prigozhin"),
        )
        self.moscow = make("Moscow lifts its counter-terrorism regime", hours=50, entities=("Moscow",))  # no story

    @property
    def articles(self) -> list[EnrichedArticle]:
        return [self.rostov, self.rostov_copy, self.shoigu, self.putin, self.deal, self.deal_later, self.moscow]


class Storylines:
    """Two storylines over four days: the mutiny (three events, a copy, a follow-up days later) and a look-alike
    (an armed takeover in another country the same night), one version 1 article (a story only) and one ungrouped.
    """

    def __init__(self) -> None:
        def grouped(article: EnrichedArticle, event: str, storyline: str) -> EnrichedArticle:
            return article.grouped(event, storyline, article.duplicate_of)

        seized = make(
            "Wagner fighters seize the Rostov headquarters", hours=1, entities=("Wagner Group", "Rostov-on-Don")
        )
        mutiny = seized.id
        self.seized = grouped(seized, seized.id, mutiny)
        self.seized_copy = grouped(
            make("Mercenaries take over army HQ in Rostov", hours=1.5, source="Wire Relay", duplicate_of=seized.id),
            seized.id,
            mutiny,
        )
        address = make("Putin calls the mutiny treason", hours=4, entities=("Vladimir Putin", "Yevgeny Prigozhin"))
        self.address = grouped(address, address.id, mutiny)
        reaction = make("Prigozhin rejects the treason charge", hours=5, entities=("Yevgeny Prigozhin",))
        self.reaction = grouped(reaction, address.id, mutiny)
        belarus = make("Lukashenko confirms Prigozhin is in Belarus", hours=75, entities=("Alexander Lukashenko",))
        self.belarus = grouped(belarus, belarus.id, mutiny)
        lookalike = make("Army seizes the radio station in Port Halden", hours=2, source="Northern Courier")
        self.lookalike = grouped(lookalike, lookalike.id, lookalike.id)
        self.version_1 = make("Rouble slides after the weekend revolt", hours=48, story_id="story-rouble")
        self.ungrouped = make("Heat warnings spread across southern Europe", hours=30)

    @property
    def mutiny(self) -> str:
        return self.seized.id

    @property
    def articles(self) -> list[EnrichedArticle]:
        return [
            self.seized,
            self.seized_copy,
            self.address,
            self.reaction,
            self.belarus,
            self.lookalike,
            self.version_1,
            self.ungrouped,
        ]


def story_of(article: EnrichedArticle, level: str = "event") -> str:
    if level == "storyline":
        return article.storyline or article.id
    return article.story_id or article.id


def millis(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def matching_ids(store: SearchStore, query: StoryQuery) -> set[str]:
    """The ids of the articles that match ``query``'s text and filters, by the store's own search."""
    search = replace(query.article_filter(), size=1000)
    result = store.search(search)
    assert result.total <= 1000, "the reference is for small corpora"
    return {hit.article.id for hit in result.hits}


def summary(
    story: str, members: list[EnrichedArticle], by_id: dict[str, EnrichedArticle], level: str = "event"
) -> StorySummary:
    # The earliest dated article names the story; its times are its dated articles' (all its articles' when every
    # date was estimated).
    earliest = min(members, key=lambda article: (article.published_estimated, millis(article.published), article.id))
    dated = [article for article in members if not article.published_estimated] or members
    entities: dict[tuple[str, str], int] = defaultdict(int)
    for article in members:
        for key in {(entity.name, entity.label) for entity in article.entities}:
            entities[key] += 1
    return StorySummary(
        story_id=story,
        title=earliest.title,
        size=len(members),
        copies=sum(article.duplicate_of is not None for article in members),
        first_published=EPOCH + timedelta(milliseconds=min(millis(article.published) for article in dated)),
        last_published=EPOCH + timedelta(milliseconds=max(millis(article.published) for article in dated)),
        sources=len({article.source for article in members}),
        top_entities=top_entities(dict(entities)),
        events=len({story_of(article) for article in members}),
        level="storyline" if level == "storyline" else "event",
    )


def expected_stories(articles: Iterable[EnrichedArticle], matching: set[str], query: StoryQuery) -> StoriesResult:
    """The answer to ``query`` over ``articles``, of which those in ``matching`` match its text and filters."""
    by_id = {article.id: article for article in articles}
    stories: dict[str, list[EnrichedArticle]] = defaultdict(list)
    for article in by_id.values():
        stories[story_of(article, query.level)].append(article)
    listed = {
        story_of(article, query.level)
        for article in by_id.values()
        if article.id in matching and query.story_id in (None, story_of(article, query.level))
    }
    summaries = [summary(story, stories[story], by_id, query.level) for story in listed]
    all_estimated = {story for story in listed if all(article.published_estimated for article in stories[story])}
    summaries.sort(key=lambda item: item.story_id)
    summaries.sort(key=lambda item: item.last_published, reverse=True)
    summaries.sort(key=lambda item: item.story_id in all_estimated)  # stories of estimated dates only come last
    if query.sort == "size":
        summaries.sort(key=lambda item: item.size, reverse=True)
    return StoriesResult(total=len(summaries), stories=tuple(summaries[query.offset : query.offset + query.size]))
