"""Articles whose date was estimated (no date in the feed; ``published`` is the fetch time), and what both stores
must do with them: keep them out of the histogram, after the dated articles when sorting newest first, and out of a
story's times and title unless the story has nothing else. Used by the unit test (embedded) and the integration test
(Elasticsearch, and both compared)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newswire.contract import EnrichedArticle
from newswire.search import SearchQuery, SearchStore, StoryQuery
from tests.factories import article_factory, enriched_factory

MUTINY = datetime(2023, 6, 24, 8, 0, tzinfo=UTC)
FETCHED = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # "today": when the undated pieces were fetched


def _article(title: str, published: datetime, story: str | None, *, estimated: bool = False) -> EnrichedArticle:
    raw = article_factory(title=title, published=published, fetched=published, published_estimated=estimated)
    article = enriched_factory(raw)
    story = story or article.id
    return article.grouped(story, story, None)


def corpus() -> list[EnrichedArticle]:
    """A mutiny storyline with an undated explainer in it (grouped first), and an undated story of its own."""
    explainer = _article("Wagner mutiny explainer: who is Prigozhin", FETCHED, None, estimated=True)
    story = explainer.id
    return [
        explainer,
        _article("Wagner mutiny: fighters hold Rostov-on-Don", MUTINY, story),
        _article("Wagner mutiny: column nears Moscow", MUTINY + timedelta(hours=6), story),
        _article("Wagner mutiny ends with a deal", MUTINY + timedelta(hours=14), story),
        _article("Wagner mutiny background: an undated profile", FETCHED - timedelta(hours=1), None, estimated=True),
    ]


def check(store: SearchStore, articles: list[EnrichedArticle]) -> None:
    explainer, rostov, moscow, deal, profile = articles
    newest = store.search(SearchQuery(text="wagner mutiny", sort="date", size=10, histogram="day"))
    assert [hit.article.id for hit in newest.hits] == [deal.id, moscow.id, rostov.id, explainer.id, profile.id]
    assert [(bucket.start, bucket.count) for bucket in newest.histogram] == [(datetime(2023, 6, 24, tzinfo=UTC), 3)]
    everything = store.search(SearchQuery(sort="date", size=10))  # no query text: the same order
    assert [hit.article.id for hit in everything.hits] == [deal.id, moscow.id, rostov.id, explainer.id, profile.id]
    stories = store.stories(StoryQuery(level="storyline", sort="latest")).stories
    assert [story.story_id for story in stories] == [explainer.id, profile.id]  # the undated story comes last
    mutiny = stories[0]
    assert mutiny.title == rostov.title  # the earliest dated article's, not the explainer grouped first
    assert (mutiny.first_published, mutiny.last_published) == (rostov.published, deal.published)
    assert mutiny.size == 4
    undated = stories[1]
    assert (undated.title, undated.last_published) == (profile.title, profile.published)
