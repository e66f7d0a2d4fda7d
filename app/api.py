"""The HTTP search API and the search page, an ASGI app over any :class:`~newswire.search.SearchStore`.

    GET /api/search?q=&entity=&topic=&source=&language=&since=&until=&event=&storyline=&sort=&size=&offset=
                    &facets=true&histogram=hour|day&collapse_duplicates=true
                                 the document of ``newswire search --json``
    GET /api/articles/{id}       the enriched article, as on the wire, or 404
    GET /api/stories?q=&entity=&topic=&source=&language=&since=&until=&level=&sort=latest|size&size=&offset=
                                 the storylines (or events) with a matching article: ``newswire stories --json``
    GET /api/stories/{id}?level= one storyline (or event): its events as a timeline and its articles, oldest first
                                 (``newswire story ID --json``), or 404; ``story=`` in a search is ``event=``
    GET /api/health              whether the store answers, and how many articles it holds (503 when it does not)
    GET /                        the search page (``web/index.html``, with ``app.js``, ``app.css``, ``favicon.svg``)

Every error is JSON ``{"error": "<one line>"}``: 400 for a bad parameter or an invalid query, 404 for an unknown
article, story or path, 503 when the store cannot be reached, 500 (logged with its traceback, never sent) for a
bug. ``entity``, ``topic`` and ``source`` may be repeated; the other parameters are given at most once, and an
unknown parameter is a 400, so a misspelt filter is noticed instead of silently ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newswire.errors import InvalidQuery, NewswireError, SearchUnavailable
from newswire.query import parse_query, positive_tokens
from newswire.search import MAX_RESULT_WINDOW, SearchQuery, SearchStore, StoryQuery, check_story_id, read_story
from newswire.views import result_as_json, stories_as_json, story_as_json

logger = logging.getLogger(__name__)

MAX_SIZE = 100
MAX_FILTER_VALUES = 20
MAX_PARAM_CHARS = 300
MAX_ARTICLE_ID_CHARS = 128  # as in the contract
REPEATABLE = ("entity", "topic", "source")
SINGLE = (
    "q",
    "language",
    "since",
    "until",
    "story",
    "event",
    "storyline",
    "sort",
    "size",
    "offset",
    "facets",
    "histogram",
    "collapse_duplicates",
)
STORY_SINGLE = ("q", "language", "since", "until", "level", "sort", "size", "offset")
LEVEL_SINGLE = ("level",)
PAGE_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_DIGITS = re.compile(r"[0-9]{1,9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class BadParameter(InvalidQuery):
    """A query-string parameter the API cannot use (answered with 400)."""


def create_app(open_store: Callable[[], SearchStore]) -> Starlette:
    """The API and page over the store ``open_store()`` returns: opened at start-up, closed at shutdown.

    The store is used from a thread pool, so it must be safe to share between threads (both stores are).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store)
        app.state.store = store
        logger.info("search API serving %r", store)
        try:
            yield
        finally:
            await run_in_threadpool(store.close)

    pages = {name: resources.files("newswire.app").joinpath("web", name).read_bytes() for name in PAGE_FILES}

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve_file(request: Request) -> Response:
            return Response(pages[name], media_type=PAGE_FILES[name])

        return serve_file

    routes = [
        Route("/api/search", _search, methods=["GET"]),
        Route("/api/articles/{article_id:path}", _article, methods=["GET"]),
        Route("/api/stories", _stories, methods=["GET"]),
        Route("/api/stories/{story_id:path}", _story, methods=["GET"]),
        Route("/api/health", _health, methods=["GET"]),
        Route("/", page("index.html"), methods=["GET"]),
        *(Route(f"/{name}", page(name), methods=["GET"]) for name in PAGE_FILES if name != "index.html"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: _http_error,
            InvalidQuery: _user_error,
            SearchUnavailable: _unavailable,
            NewswireError: _store_error,
        },
        middleware=[Middleware(_Guard)],
    )
    return app


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(404, f"no such page: {request.url.path}")
    return _error(exc.status_code, exc.detail)


async def _user_error(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("search store unavailable for %s: %s", request.url.path, exc)
    return _error(503, f"the search store is unavailable: {exc}")


async def _store_error(request: Request, exc: Exception) -> Response:
    logger.error("search store failed for %s: %s", request.url.path, exc)
    return _error(500, f"the search store failed: {exc}")


async def _search(request: Request) -> Response:
    query, query_tokens = _search_query(request)
    store: SearchStore = request.app.state.store
    result = await run_in_threadpool(store.search, query)
    return JSONResponse(result_as_json(result, query_tokens, set(query.entities)))


async def _article(request: Request) -> Response:
    article_id = request.path_params["article_id"]
    if not article_id or len(article_id) > MAX_ARTICLE_ID_CHARS or _CONTROL.search(article_id):
        return _error(404, "no article with this id")
    store: SearchStore = request.app.state.store
    article = await run_in_threadpool(store.get, article_id)
    if article is None:
        return _error(404, f"no article with id {article_id!r}")
    return JSONResponse(article.model_dump(mode="json", by_alias=True))


async def _stories(request: Request) -> Response:
    single = _parameters(request, STORY_SINGLE, REPEATABLE)
    parse_query(single.get("q", ""))
    sort = _choice(single, "sort", ("latest", "size"))
    query = StoryQuery(
        **_article_filters(request, single),
        level=_level(single),
        sort="size" if sort == "size" else "latest",
        size=_integer(single, "size", 20, 1, MAX_SIZE),
        offset=_integer(single, "offset", 0, 0, MAX_RESULT_WINDOW - 1),
    )
    store: SearchStore = request.app.state.store
    result = await run_in_threadpool(store.stories, query)
    return JSONResponse(stories_as_json(result))


async def _story(request: Request) -> Response:
    level = _level(_parameters(request, LEVEL_SINGLE, ()))
    story_id = request.path_params["story_id"]
    try:
        check_story_id(story_id)
    except InvalidQuery:
        return _error(404, "no story with this id")
    store: SearchStore = request.app.state.store

    def read() -> Response:
        found = read_story(store, story_id, level)
        if found is None:
            return _error(404, f"no story with id {story_id!r}")
        return JSONResponse(story_as_json(*found))

    return await run_in_threadpool(read)


async def _health(request: Request) -> Response:
    store: SearchStore = request.app.state.store
    try:
        count = await run_in_threadpool(store.count)
    except NewswireError as exc:
        logger.warning("health check: %s", exc)
        message = " ".join(str(exc).split())
        return JSONResponse({"status": "unavailable", "error": message}, status_code=503)
    return JSONResponse({"status": "ok", "articles": count})


def _search_query(request: Request) -> tuple[SearchQuery, set[str]]:
    """The :class:`SearchQuery` the parameters ask for, and the query's tokens (to name matched entities)."""
    single = _parameters(request, SINGLE, REPEATABLE)
    text = single.get("q", "")
    tree = parse_query(text)  # limits the length and says where a syntax error is
    sort = _choice(single, "sort", ("relevance", "date"))
    histogram = _choice(single, "histogram", ("hour", "day"))
    query = SearchQuery(
        **_article_filters(request, single),
        story_id=_event(single),
        storyline_id=_text("storyline", single["storyline"]) if "storyline" in single else None,
        sort="date" if sort == "date" else "relevance",
        size=_integer(single, "size", 10, 0, MAX_SIZE),
        offset=_integer(single, "offset", 0, 0, MAX_RESULT_WINDOW),
        facets=_boolean(single, "facets"),
        histogram="hour" if histogram == "hour" else "day" if histogram == "day" else None,
        collapse_duplicates=_boolean(single, "collapse_duplicates"),
    )
    return query, set(positive_tokens(tree))


def _level(single: dict[str, str]) -> Literal["event", "storyline"]:
    """The ``level`` of a stories request: ``storyline`` (the default) or ``event``."""
    return "event" if _choice(single, "level", ("storyline", "event")) == "event" else "storyline"


def _event(single: dict[str, str]) -> str | None:
    """The event filter of a search: ``event=``, or ``story=`` as before (both at once must agree)."""
    given = {single[name] for name in ("event", "story") if name in single}
    if len(given) > 1:
        raise BadParameter("event and story name the same filter; give one")
    return _text("event", given.pop()) if given else None


def _parameters(request: Request, single: tuple[str, ...], repeatable: tuple[str, ...]) -> dict[str, str]:
    """The non-empty ``single`` parameters; a 400 for an unknown one or one of ``single`` given twice."""
    params = request.query_params
    for name in params:
        if name not in repeatable and name not in single:
            known = ", ".join([*single, *repeatable]) or "none"
            raise BadParameter(f"unknown parameter {name!r}; known: {known}")
    given: dict[str, str] = {}
    for name in single:
        values = params.getlist(name)
        if len(values) > 1:
            raise BadParameter(f"give the parameter {name!r} at most once")
        if values and values[0] != "":
            given[name] = values[0]
    return given


def _article_filters(request: Request, single: dict[str, str]) -> dict[str, Any]:
    """The text and filters that articles are matched with, as fields of SearchQuery and StoryQuery."""
    return {
        "text": single.get("q", ""),
        "entities": _filter(request, "entity"),
        "topics": _filter(request, "topic"),
        "sources": _filter(request, "source"),
        "language": _text("language", single["language"]) if "language" in single else None,
        "since": _time(single, "since"),
        "until": _time(single, "until"),
    }


def _filter(request: Request, name: str) -> tuple[str, ...]:
    values = [value for value in request.query_params.getlist(name) if value != ""]
    if len(values) > MAX_FILTER_VALUES:
        raise BadParameter(f"at most {MAX_FILTER_VALUES} {name!r} filters, got {len(values)}")
    return tuple(_text(name, value) for value in values)


def _text(name: str, value: str) -> str:
    if len(value) > MAX_PARAM_CHARS:
        raise BadParameter(f"{name} is {len(value)} characters long; at most {MAX_PARAM_CHARS} are allowed")
    if _CONTROL.search(value):
        raise BadParameter(f"{name} contains a control character")
    return value


def _integer(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in params:
        return default
    value = params[name]
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise BadParameter(f"{name} must be a whole number from {low} to {high}, got {value[:40]!r}")
    return int(value)


def _boolean(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in _BOOLEANS:
        raise BadParameter(f"{name} must be true or false, got {value[:40]!r}")
    return _BOOLEANS[value]


def _choice(params: dict[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise BadParameter(f"{name} must be one of {', '.join(choices)}, got {value[:40]!r}")
    return value


def _time(params: dict[str, str], name: Literal["since", "until"]) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), as ``newswire search --since`` takes."""
    if name not in params:
        return None
    value = params[name]
    try:
        moment = datetime.fromisoformat(_text(name, value).replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadParameter(f"{name} is not an ISO date or date-time: {value[:40]!r}") from None


class _Guard:
    """Headers on every response, and a JSON 500 instead of a traceback for a bug.

    API answers are never cached (``Cache-Control: no-store``); every answer carries a Content-Security-Policy that
    lets the page load only its own script, style and API, so a snippet that slipped through cannot run.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store" if api else "no-cache"
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope["path"])
            if started:
                return  # the client sees a cut-off answer; nothing better can be sent now
            response = _error(500, "internal error; the server log has the details")
            await response(scope, receive, send_with_headers)
