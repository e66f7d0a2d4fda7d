"""The JSON documents of search results and stories: one wire format for ``--json`` on the CLI and the HTTP API.

``newswire search --json`` and ``GET /api/search`` print :func:`result_as_json`; ``newswire stories --json`` and
``GET /api/stories`` :func:`stories_as_json`; ``newswire story ID --json`` and ``GET /api/stories/{id}``
:func:`story_as_json`, whose ``events`` are the story's timeline (one entry for an event, one per event, oldest
first, for a storyline). Times are ISO 8601 in UTC with a ``Z``. Topics carry their label (the slug filters take)
and their ``name`` to show (:func:`newswire.names.topic_name`); ``highlights`` are escaped HTML whose only tags are
``<em>`` and ``</em>`` (:mod:`newswire.highlight`).
"""

from __future__ import annotations

import functools
from typing import Any

from newswire.contract import EnrichedArticle, format_time
from newswire.names import entity_keys, fold, topic_name
from newswire.query import tokenize
from newswire.search import FacetCount, SearchHit, SearchResult, StoriesResult, StorySummary

__all__ = [
    "event_timeline",
    "facet_as_json",
    "hit_as_json",
    "matched_entities",
    "result_as_json",
    "stories_as_json",
    "story_as_json",
    "suggestions_as_json",
    "summary_as_json",
]


def matched_entities(article: EnrichedArticle, query_tokens: set[str], entity_filter: set[str]) -> list[str]:
    """The article's entities that the query or the entity filter names (as the stores compare filters)."""
    matched = []
    wanted = {fold(name) for name in entity_filter}
    for entity in article.entities:
        if (wanted and entity_keys(entity) & wanted) or (query_tokens and _name_tokens(entity.name) & query_tokens):
            matched.append(entity.name)
    return matched


@functools.lru_cache(maxsize=8192)
def _name_tokens(name: str) -> frozenset[str]:
    """The tokens of an entity's name: the same names come back in hit after hit."""
    return frozenset(tokenize(name))


def hit_as_json(hit: SearchHit, query_tokens: set[str], entity_filter: set[str]) -> dict[str, Any]:
    """One hit: the article's fields, its score and highlights, and which of its entities the search named."""
    article = hit.article
    return {
        "id": article.id,
        "score": round(hit.score, 4),
        "source": article.source,
        "published": format_time(article.published),
        "published_estimated": article.published_estimated,
        "title": article.title,
        "url": article.url,
        "matched_entities": matched_entities(article, query_tokens, entity_filter),
        "entities": [{"name": e.name, "label": e.label, "count": e.count} for e in article.entities],
        "topics": [{"label": t.label, "name": topic_name(t.label), "score": t.score} for t in article.topics],
        "event_id": article.event,
        "storyline_id": article.storyline,
        "story_id": article.story_id,
        "duplicate_of": article.duplicate_of,
        "revision": article.revision,
        # the headline before this revision, when it changed (the stores keep the newest revision and what it
        # changed; GET /api/articles/{id} has the whole `revised`)
        "previous_title": article.revised.previous_title
        if article.revised is not None and article.revised.title_changed
        else None,
        "highlights": list(hit.highlights),
    }


def result_as_json(result: SearchResult, query_tokens: set[str], entity_filter: set[str]) -> dict[str, Any]:
    """The document of ``newswire search --json`` and ``GET /api/search``."""
    return {
        "total": result.total,
        "hits": [hit_as_json(hit, query_tokens, entity_filter) for hit in result.hits],
        "facets": {name: [facet_as_json(name, f) for f in counts] for name, counts in result.facets.items()},
        "histogram": [{"start": format_time(bucket.start), "count": bucket.count} for bucket in result.histogram],
    }


def facet_as_json(facet: str, count: FacetCount) -> dict[str, Any]:
    """One facet value and its count; a topic also has its ``name``."""
    document: dict[str, Any] = {"value": count.value, "count": count.count}
    if facet == "topics":
        document["name"] = topic_name(count.value)
    return document


def suggestions_as_json(field: str, prefix: str, suggestions: tuple[FacetCount, ...]) -> dict[str, Any]:
    """The document of ``GET /api/suggest``: each value (what a filter takes), its name to show, its articles."""
    return {
        "field": field,
        "prefix": prefix,
        "suggestions": [
            {"value": s.value, "name": topic_name(s.value) if field == "topic" else s.value, "count": s.count}
            for s in suggestions
        ],
    }


def summary_as_json(story: StorySummary) -> dict[str, Any]:
    """One story's summary: title, size, copies, first and last publication, sources, top entities."""
    return {
        "story_id": story.story_id,
        "level": story.level,
        "title": story.title,
        "size": story.size,
        "events": story.events,
        "copies": story.copies,
        "first_published": format_time(story.first_published),
        "last_published": format_time(story.last_published),
        "sources": story.sources,
        "top_entities": [{"name": e.name, "label": e.label, "count": e.count} for e in story.top_entities],
    }


def stories_as_json(result: StoriesResult) -> dict[str, Any]:
    """The document of ``newswire stories --json`` and ``GET /api/stories``."""
    return {"total": result.total, "stories": [summary_as_json(story) for story in result.stories]}


def event_timeline(articles: list[EnrichedArticle]) -> list[dict[str, Any]]:
    """The events of ``articles`` (oldest first): id, title of the first article, first and last time, size, copies."""
    events: dict[str, list[EnrichedArticle]] = {}
    for article in sorted(articles, key=lambda article: (article.published, article.id)):
        events.setdefault(article.event or article.id, []).append(article)
    timeline = []
    for event_id, members in events.items():
        opening = next((article for article in members if article.id == event_id), members[0])
        timeline.append(
            {
                "event_id": event_id,
                "title": opening.title,
                "first_published": format_time(members[0].published),
                "last_published": format_time(members[-1].published),
                "size": len(members),
                "copies": sum(1 for article in members if article.duplicate_of),
                "article_ids": [article.id for article in members],
            }
        )
    return timeline


def story_as_json(story: StorySummary, total: int, articles: list[EnrichedArticle]) -> dict[str, Any]:
    """The document of ``newswire story ID --json`` and ``GET /api/stories/{id}``: articles oldest first, and the
    story's events as a timeline (of the articles listed)."""
    listed = []
    for article in articles:
        document = hit_as_json(SearchHit(article=article, score=0.0), set(), set())
        for unranked in ("score", "highlights", "matched_entities"):
            del document[unranked]
        listed.append(document)
    return {
        "story": summary_as_json(story),
        "articles_total": total,
        "events": event_timeline(articles),
        "articles": listed,
    }
