"""Alerts: the indexer tells ``news.alerts`` when a newly written article matches a saved search.

The indexer is where this runs because it is the one place that sees every article as it becomes searchable (the
node has no percolator; see :mod:`newswire.alerts`). After each bulk write, :meth:`AlertWatcher.alerts` matches the
written articles against the saved searches (read from the store, again every ``reload_seconds``) and gives one
alert message each, keyed by the saved search's id, which the stage sends with the batch's other outputs before it
commits: an alert is never lost, and may come twice (after a crash or a replay) under the same alert id.

- ``articles``: one alert per matching article and revision (id ``<search>/<article>/<revision>``).
- ``new_story``: the first matching article of an event, or of a storyline: a story that starts with a match, or
  one that comes to match later ("a storyline naming Sergei Shoigu" is new to whoever follows Shoigu when its first
  article naming him arrives, even if the storyline began without him). Counted in the store, so a replay of the
  same batch gives the same alert again (id ``<search>/new/<story>``) and a later match in the story gives none.
- ``story_growth``: a matching article whose story has at least ``min_articles`` articles published in the last
  ``window_minutes``, counted in the store; at most one alert per story and window (id
  ``<search>/grew/<story>/<window number>``). A story that keeps growing gets one alert a window.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from newswire.alerts import SavedSearch, SavedSearchIndex
from newswire.contract import Alert, AlertArticle, AlertSearch, AlertStory, EnrichedArticle, encode_alert, utc_now
from newswire.errors import SearchError, SearchUnavailable
from newswire.search import SearchQuery, SearchStore
from newswire.stage import BatchOutcome, Output

logger = logging.getLogger(__name__)

__all__ = ["AlertWatcher"]

REMEMBERED_GROWTH = 10_000  # (search, story) pairs whose last growth alert is kept, least recent out


def _story_of(article: EnrichedArticle, level: str) -> str:
    return (article.event if level == "event" else article.storyline) or article.id


class AlertWatcher:
    """Matches written articles against the saved searches of ``store``; alerts go to ``topic``."""

    def __init__(
        self,
        store: SearchStore,
        topic: str,
        reload_seconds: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.topic = topic
        self.reload_seconds = reload_seconds
        self._clock = clock
        self._now = now
        self._index = SavedSearchIndex()
        self._loaded_at: float | None = None
        self._growth_sent: OrderedDict[tuple[str, str], int] = OrderedDict()

    def saved_index(self) -> SavedSearchIndex:
        """The saved searches, read again when the last read is ``reload_seconds`` old; while the store cannot be
        read, the last ones read (alerts go on for them)."""
        if self._loaded_at is not None and self._clock() - self._loaded_at < self.reload_seconds:
            return self._index
        try:
            self._index = SavedSearchIndex(self.store.saved_searches())
        except SearchError as exc:
            logger.warning(
                "alerts: cannot read the saved searches, using the %d read before: %s", self._index.size, exc
            )
        self._loaded_at = self._clock()
        return self._index

    def alerts(self, articles: Sequence[EnrichedArticle], outcome: BatchOutcome) -> None:
        """Add to ``outcome`` the alerts of ``articles`` (just written to the store), and what to remember once the
        bus has them. Raises :class:`~newswire.errors.SearchUnavailable` when a story cannot be counted now (retry the
        batch)."""
        index = self.saved_index()
        if not index.size:
            return
        now = self._now()
        growth: dict[tuple[str, str], tuple[SavedSearch, EnrichedArticle]] = {}
        first: dict[tuple[str, str], tuple[SavedSearch, list[EnrichedArticle]]] = {}
        for article in articles:
            for saved in index.matching(article):
                if saved.kind == "articles":
                    self._add(outcome, saved, article, f"{saved.id}/{article.id}/{article.revision}")
                elif saved.kind == "new_story":
                    story = _story_of(article, saved.level)
                    if saved.level == "storyline":  # storylines of one batch may have been merged into one
                        story = self.store.resolve_storyline(story)
                    first.setdefault((saved.id, story), (saved, []))[1].append(article)
                else:
                    growth[(saved.id, _story_of(article, saved.level))] = (saved, article)
        if first or growth:
            self.store.refresh()  # the batch's own articles count
        if first:
            self._first_matches(first, outcome)
        if growth:
            self._grown(growth, now, outcome)

    def _story_query(self, saved: SavedSearch, story: str, **extra: Any) -> SearchQuery:
        if saved.level == "event":
            return SearchQuery(story_id=story, size=0, highlight=False, **extra)
        storyline = self.store.resolve_storyline(story)
        return SearchQuery(storyline_id=storyline, size=0, highlight=False, **extra)

    def _count(self, query: SearchQuery, saved_id: str, story: str) -> int | None:
        """The articles ``query`` finds; None when the store cannot count them (logged; SearchUnavailable raises)."""
        try:
            return self.store.search(query).total
        except SearchUnavailable:
            raise
        except SearchError as exc:  # a story the store cannot count is no reason to stop indexing
            logger.error("alerts: cannot count story %s for saved search %s: %s", story, saved_id, exc)
            return None

    def _first_matches(
        self, candidates: dict[tuple[str, str], tuple[SavedSearch, list[EnrichedArticle]]], outcome: BatchOutcome
    ) -> None:
        for (saved_id, story), (saved, articles) in candidates.items():
            query = self._story_query(saved, story, **saved.article_filter().article_filter_fields())
            count = self._count(query, saved_id, story)
            if count is None or count > len(articles):
                continue  # the story had a match before this batch
            article = min(articles, key=lambda each: (each.id != story, each.published, each.id))  # its founder first
            self._add(outcome, saved, article, f"{saved_id}/new/{story}", AlertStory(id=story, level=saved.level))

    def _grown(
        self,
        candidates: dict[tuple[str, str], tuple[SavedSearch, EnrichedArticle]],
        now: datetime,
        outcome: BatchOutcome,
    ) -> None:
        sent: list[tuple[tuple[str, str], int]] = []
        for (saved_id, story), (saved, article) in candidates.items():
            window = timedelta(minutes=saved.window_minutes)
            number = int(now.timestamp() // window.total_seconds())
            if self._growth_sent.get((saved_id, story)) == number:
                continue
            count = self._count(self._story_query(saved, story, since=now - window), saved_id, story)
            if count is None or count < saved.min_articles:
                continue
            details = AlertStory(
                id=story, level=saved.level, articles_in_window=count, window_minutes=saved.window_minutes
            )
            self._add(outcome, saved, article, f"{saved_id}/grew/{story}/{number}", details)
            sent.append(((saved_id, story), number))
        if sent:
            outcome.delivered.append(lambda: self._remember(sent))

    def _remember(self, sent: list[tuple[tuple[str, str], int]]) -> None:
        for key, number in sent:
            self._growth_sent[key] = number
            self._growth_sent.move_to_end(key)
        while len(self._growth_sent) > REMEMBERED_GROWTH:
            self._growth_sent.popitem(last=False)

    def _add(
        self,
        outcome: BatchOutcome,
        saved: SavedSearch,
        article: EnrichedArticle,
        alert_id: str,
        story: AlertStory | None = None,
    ) -> None:
        alert = Alert(
            id=alert_id,
            saved_search=AlertSearch(id=saved.id, name=saved.name, kind=saved.kind),
            article=AlertArticle(
                id=article.id,
                title=article.title,
                url=article.url,
                source=article.source,
                published=article.published,
                event_id=article.event,
                storyline_id=article.storyline,
            ),
            story=story,
        )
        outcome.outputs.append(Output(self.topic, saved.id.encode(), encode_alert(alert)))
