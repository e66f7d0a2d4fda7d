"""The OpenAPI description of the HTTP API (``GET /openapi.json``) and a page that lists its operations.

Written by hand next to :mod:`newswire.app.api`, and kept true by ``tests/unit/test_openapi.py``, which runs
schemathesis against the app in-process: every documented operation, with generated parameters, must answer with a
documented status, content type and body, and never with a 5xx. The page at ``/api/docs`` is made from this same
document (no script, no CDN), so it cannot list an operation the description lacks.
"""

from __future__ import annotations

import functools
import html
from typing import Any

from newswire.app.live import DEFAULT_SECONDS, MAX_SECONDS
from newswire.names import MAX_PREFIX_CHARS, MAX_SUGGESTIONS, SUGGEST_FIELDS
from newswire.query import MAX_QUERY_LENGTH
from newswire.search import MAX_RESULT_WINDOW

__all__ = ["docs_page", "openapi_document"]

MAX_SIZE = 100  # as in newswire.app.api
MAX_FILTER_VALUES = 20
MAX_PARAM_CHARS = 300

_NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What was wrong, in one line."}},
    "additionalProperties": False,
}
_ENTITY = {
    "type": "object",
    "required": ["name", "label", "count"],
    "properties": {"name": {"type": "string"}, "label": {"type": "string"}, "count": {"type": "integer"}},
}
_TOPIC = {
    "type": "object",
    "required": ["label", "name", "score"],
    "properties": {
        "label": {"type": "string", "description": "The slug a topic filter takes."},
        "name": {"type": "string", "description": "The name to show."},
        "score": {"type": "number"},
    },
}
_ARTICLE_FIELDS: dict[str, Any] = {
    "id": {"type": "string"},
    "source": {"type": "string"},
    "published": {"type": "string", "format": "date-time"},
    "title": {"type": "string"},
    "url": _NULLABLE_TEXT,
    "entities": {"type": "array", "items": _ENTITY},
    "topics": {"type": "array", "items": _TOPIC},
    "event_id": _NULLABLE_TEXT,
    "storyline_id": _NULLABLE_TEXT,
    "story_id": _NULLABLE_TEXT,
    "duplicate_of": _NULLABLE_TEXT,
}
_HIT = {
    "type": "object",
    "required": [*_ARTICLE_FIELDS, "score", "highlights", "matched_entities"],
    "properties": {
        **_ARTICLE_FIELDS,
        "score": {"type": "number"},
        "matched_entities": {"type": "array", "items": {"type": "string"}},
        "highlights": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Escaped HTML: the article's text with the matched words in <em> and </em>, no other tag.",
        },
    },
}
_FACET = {
    "type": "object",
    "required": ["value", "count"],
    "properties": {"value": {"type": "string"}, "count": {"type": "integer"}, "name": {"type": "string"}},
}
_SEARCH_RESULT = {
    "type": "object",
    "required": ["total", "hits", "facets", "histogram"],
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "hits": {"type": "array", "items": _HIT},
        "facets": {"type": "object", "additionalProperties": {"type": "array", "items": _FACET}},
        "histogram": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["start", "count"],
                "properties": {"start": {"type": "string", "format": "date-time"}, "count": {"type": "integer"}},
            },
        },
    },
}
_STORY_SUMMARY = {
    "type": "object",
    "required": ["story_id", "level", "title", "size", "events", "copies", "first_published", "last_published"],
    "properties": {
        "story_id": {"type": "string"},
        "level": {"enum": ["event", "storyline"]},
        "title": {"type": "string"},
        "size": {"type": "integer"},
        "events": {"type": "integer"},
        "copies": {"type": "integer"},
        "first_published": {"type": "string", "format": "date-time"},
        "last_published": {"type": "string", "format": "date-time"},
        "sources": {"type": "integer"},
        "top_entities": {"type": "array", "items": _ENTITY},
    },
}
_STORIES = {
    "type": "object",
    "required": ["total", "stories"],
    "properties": {"total": {"type": "integer"}, "stories": {"type": "array", "items": _STORY_SUMMARY}},
}
_STORY = {
    "type": "object",
    "required": ["story", "articles_total", "events", "articles"],
    "properties": {
        "story": _STORY_SUMMARY,
        "articles_total": {"type": "integer"},
        "events": {"type": "array", "items": {"type": "object", "required": ["event_id", "size", "article_ids"]}},
        "articles": {"type": "array", "items": {"type": "object", "required": list(_ARTICLE_FIELDS)}},
    },
}
_SUGGESTIONS = {
    "type": "object",
    "required": ["field", "prefix", "suggestions"],
    "properties": {
        "field": {"enum": list(SUGGEST_FIELDS)},
        "prefix": {"type": "string"},
        "suggestions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["value", "name", "count"],
                "properties": {"value": {"type": "string"}, "name": {"type": "string"}, "count": {"type": "integer"}},
            },
        },
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "articles": {"type": "integer"},
        "last_indexed": {"type": "string", "description": "When the article indexed last was enriched (UTC)."},
        "last_indexed_article": {"type": "string"},
        "error": {"type": "string"},
    },
}
_ARTICLE = {
    "type": "object",
    "required": ["schema", "id", "title", "source", "published", "entities", "topics"],
    "description": "The enriched article as on the news.enriched topic (schema newswire.enriched/2).",
}


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _text(max_length: int = MAX_PARAM_CHARS) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


def _repeatable(description: str) -> dict[str, Any]:
    schema = {"type": "array", "items": _text(), "maxItems": MAX_FILTER_VALUES}
    return {**_query("", description, schema), "style": "form", "explode": True}


def _filters() -> list[dict[str, Any]]:
    return [
        _query("q", 'Query text: words (all), "a phrase", OR, -word, (groups), prefix*.', _text(MAX_QUERY_LENGTH)),
        {**_repeatable("Entity name, alias or surname, any case (repeat: all must be named)."), "name": "entity"},
        {**_repeatable("Topic label or name, any case (repeat: all)."), "name": "topic"},
        {**_repeatable("Source, any case (repeat: any of them)."), "name": "source"},
        _query("language", "ISO 639-1 language code.", _text()),
        _query("since", "Published at or after (ISO date or date-time, UTC unless given).", _text()),
        _query("until", "Published before (ISO date or date-time).", _text()),
    ]


def _responses(ok: dict[str, Any], *, missing: bool = False, content: str = "application/json") -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ERROR}}}
    responses: dict[str, Any] = {
        "200": {"description": "The answer.", "content": {content: {"schema": ok}}},
        "400": {"description": "A bad parameter, an invalid query or a host not allowed.", **error},
        "503": {"description": "The search store cannot be reached.", **error},
    }
    if missing:
        responses["404"] = {"description": "No such article or story.", **error}
    return responses


def _get(summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


_PAGE = {"type": "integer", "minimum": 0, "maximum": MAX_RESULT_WINDOW}
_SECONDS = {"type": "integer", "minimum": 1, "maximum": MAX_SECONDS, "default": DEFAULT_SECONDS}
_LIVE_EVENTS = {
    "type": "string",
    "description": "Events 'article' (id: a position to resume from; data: one hit as in /api/search) and "
    "'unavailable' (the store is down; the stream goes on), ': keep-alive' comments every 15 s.",
}
_PATH_ID = {"type": "string", "minLength": 1, "maxLength": 128}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}, "maxItems": 20}
_SAVED_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "kind": {"enum": ["articles", "new_story", "story_growth"]},
    "q": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
    "entity": _NAMES,
    "topic": _NAMES,
    "source": _NAMES,
    "language": {"type": ["string", "null"], "maxLength": 16},
    "level": {"enum": ["storyline", "event"]},
    "min_articles": {"type": "integer", "minimum": 2, "maximum": 10_000},
    "window_minutes": {"type": "integer", "minimum": 1, "maximum": 7 * 24 * 60},
}
_SAVED = {
    "type": "object",
    "required": [*_SAVED_FIELDS, "created"],
    "properties": {**_SAVED_FIELDS, "created": {"type": "string"}},
    "description": "A saved search: its alerts go to the news.alerts topic (schema newswire.alert/1).",
}
_NEW_SAVED = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": _SAVED_FIELDS,
    "description": "name, and query text or at least one filter; kind articles (default), new_story (the first match "
    "in a story of level), story_growth (min_articles published within window_minutes).",
}
_SAVED_LIST = {
    "type": "object",
    "required": ["saved_searches"],
    "properties": {"saved_searches": {"type": "array", "items": _SAVED}},
}


@functools.cache
def _document() -> dict[str, Any]:
    size = {"type": "integer", "minimum": 0, "maximum": MAX_SIZE}
    search = [
        *_filters(),
        _query("event", "Only articles of this event.", _text(128)),
        _query("storyline", "Only articles of this storyline.", _text(128)),
        _query("sort", "Ranking.", {"enum": ["relevance", "date"]}),
        _query("size", "Hits to return.", size),
        _query("offset", "Hits to skip (offset + size at most 10,000).", _PAGE),
        _query("facets", "Also count entities, topics and sources.", {"type": "boolean"}),
        _query("histogram", "Also count articles per hour or day.", {"enum": ["hour", "day"]}),
        _query("collapse_duplicates", "Leave out syndicated copies.", {"type": "boolean"}),
    ]
    stories = [
        *_filters(),
        _query("level", "What a story is.", {"enum": ["storyline", "event"]}),
        _query("sort", "Order.", {"enum": ["latest", "size"]}),
        _query("size", "Stories to return.", {"type": "integer", "minimum": 1, "maximum": MAX_SIZE}),
        _query("offset", "Stories to skip.", _PAGE),
    ]
    suggest = [
        _query("prefix", "The start of a word of the name, as typed.", _text(MAX_PREFIX_CHARS), required=True),
        _query("field", "What to suggest (default entity).", {"enum": list(SUGGEST_FIELDS)}),
        _query("size", "Suggestions to return.", {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS}),
    ]
    live = [
        *_filters(),
        _query("event", "Only articles of this event.", _text(128)),
        _query("storyline", "Only articles of this storyline.", _text(128)),
        _query("collapse_duplicates", "Leave out syndicated copies.", {"type": "boolean"}),
        _query("after", "Resume after this event id (or send the Last-Event-ID header).", _text(160)),
        _query("seconds", "Close the stream after this long (clients reconnect).", _SECONDS),
        _query("saved", "Follow this saved search instead of q and the filters.", {"type": "string", "maxLength": 64}),
    ]
    article_id = {"name": "article_id", "in": "path", "required": True, "schema": _PATH_ID}
    story_id = {"name": "story_id", "in": "path", "required": True, "schema": _PATH_ID}
    level = _query("level", "What a story is.", {"enum": ["storyline", "event"]})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newswire search API",
            "version": "1",
            "description": "Search the articles, stories and names of a newswire index. Every parameter not "
            'listed for an operation is refused with a 400; errors are {"error": "one line"}.',
        },
        "paths": {
            "/api/search": _get("Search articles", search, _responses(_SEARCH_RESULT)),
            "/api/articles/{article_id}": _get(
                "One enriched article", [article_id], _responses(_ARTICLE, missing=True)
            ),
            "/api/stories": _get("Stories with a matching article", stories, _responses(_STORIES)),
            "/api/stories/{story_id}": _get(
                "One story and its articles", [story_id, level], _responses(_STORY, missing=True)
            ),
            "/api/suggest": _get("Names as the user types", suggest, _responses(_SUGGESTIONS)),
            "/api/live": _get(
                "Newly indexed matching articles as Server-Sent Events",
                live,
                _responses(_LIVE_EVENTS, content="text/event-stream"),
            ),
            "/api/saved-searches": _saved_searches(),
            "/api/saved-searches/{saved_search_id}": _saved_search(),
            "/api/health": _get("Whether the store answers", [], _responses(_HEALTH)),
        },
    }


def _changes(ok: dict[str, Any]) -> dict[str, Any]:
    """The answers of an operation that changes the saved searches."""
    error = {"content": {"application/json": {"schema": _ERROR}}}
    return {
        **ok,
        "400": {"description": "An invalid saved search, query or parameter.", **error},
        "403": {"description": "A browser Origin of another host.", **error},
        "404": {"description": "No such saved search.", **error},
        "409": {"description": "A saved search with this id exists.", **error},
        "413": {"description": "The body is too large.", **error},
        "415": {"description": "The body is not application/json.", **error},
        "503": {"description": "The search store cannot be reached.", **error},
    }


def _saved_searches() -> dict[str, Any]:
    created = {"201": {"description": "Saved.", "content": {"application/json": {"schema": _SAVED}}}}
    return {
        **_get("Every saved search, oldest first", [], _responses(_SAVED_LIST)),
        "post": {
            "summary": "Save a search",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _NEW_SAVED}}},
            "responses": _changes(created),
        },
    }


def _saved_search() -> dict[str, Any]:
    saved_id = {
        "name": "saved_search_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
    }
    return {
        **_get("One saved search", [saved_id], _responses(_SAVED, missing=True)),
        "delete": {
            "summary": "Delete a saved search",
            "parameters": [saved_id],
            "responses": _changes({"204": {"description": "Deleted."}}),
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description served at ``/openapi.json``."""
    return _document()


@functools.cache
def docs_page() -> bytes:
    """A plain HTML page listing every operation and its parameters (served at ``/api/docs``)."""
    document = _document()
    rows = []
    for path, item in document["paths"].items():
        operation = item["get"]
        parameters = "".join(
            f"<li><code>{html.escape(p['name'])}</code>{' (required)' if p.get('required') else ''}: "
            f"{html.escape(p.get('description', ''))}</li>"
            for p in operation["parameters"]
        )
        codes = ", ".join(sorted(operation["responses"]))
        rows.append(
            f"<section><h2><code>GET {html.escape(path)}</code></h2><p>{html.escape(operation['summary'])}. "
            f"Answers: {codes}.</p><ul>{parameters}</ul></section>"
        )
    info = document["info"]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>newswire API</title>'
        '<link rel="stylesheet" href="/app.css"></head><body><main>'
        f"<h1>{html.escape(info['title'])}</h1><p>{html.escape(info['description'])}</p>"
        '<p>The machine-readable description: <a href="/openapi.json">/openapi.json</a>.</p>'
        f"{''.join(rows)}</main></body></html>"
    ).encode()
