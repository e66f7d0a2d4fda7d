"""The HTTP search API and the search page, an ASGI app over any :class:`~newswire.search.SearchStore`.

    GET /api/search?q=&entity=&topic=&source=&language=&since=&until=&event=&storyline=&sort=&size=&offset=
                    &facets=true&histogram=hour|day&collapse_duplicates=true
                                 the document of ``newswire search --json``
    GET /api/articles/{id}       the enriched article, as on the wire, or 404
    GET /api/stories?q=&entity=&topic=&source=&language=&since=&until=&level=&sort=latest|size&size=&offset=
                                 the storylines (or events) with a matching article: ``newswire stories --json``
    GET /api/stories/{id}?level= one storyline (or event): its events as a timeline and its articles, oldest first
                                 (``newswire story ID --json``), or 404; ``story=`` in a search is ``event=``
    GET /api/suggest?prefix=&field=entity|topic|source&size=
                                 names with a word starting with the prefix, most articles first (as the user types)
    GET /api/live?q=&...&saved=&after=&seconds=
                                 newly indexed articles matching a search (or a saved search), as Server-Sent Events
    GET|POST /api/saved-searches, GET|DELETE /api/saved-searches/{id}
                                 saved searches, whose alerts go to news.alerts (:mod:`newswire.app.saved`)
    GET /api/health              whether the store answers, how many articles it holds, and when the last one
                                 indexed was enriched (just before it was indexed); 503 when the store does not answer
    GET /metrics                 Prometheus metrics of this server (:mod:`newswire.metrics`)
    GET /openapi.json            the OpenAPI description of these operations; ``/api/docs`` lists them as a page
    GET /                        the search page (``web/index.html``, with ``app.js``, ``app.css``, ``favicon.svg``)

Every error is JSON ``{"error": "<one line>"}``: 400 for a bad parameter, an invalid query or a host the server does
not answer to, 404 for an unknown article, story or path, 405 (with ``Allow``) for a method an operation does not
take, 503 when the store cannot be reached (the reason goes to the log, not to the client), 500 (logged with its
traceback, never sent) for a bug. ``entity``, ``topic`` and ``source`` may be repeated; the other parameters are given
at most once, and an unknown parameter is a 400 on every operation, so a misspelt filter is noticed instead of
silently ignored.
Entity filters are resolved through the processors' alias table (:mod:`newswire.app.entity_names`).

Only requests whose ``Host`` is one of ``allowed_hosts`` (localhost by default) are answered, so a page on another
site that rebinds its DNS name to 127.0.0.1 cannot read the index, and no redirect names a host the server was not
configured with. The access log cuts a request line at :data:`MAX_LOGGED_TARGET` characters.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newswire.app.entity_names import canonical_entities
from newswire.app.live import DEFAULT_SECONDS, MAX_SECONDS, LiveStreams
from newswire.app.openapi import docs_page, openapi_document
from newswire.app.saved import find_saved, saved_search_routes
from newswire.contract import format_time
from newswire.errors import InvalidQuery, NewswireError, SearchUnavailable
from newswire.live import LiveFeed
from newswire.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from newswire.metrics import HTTP_REQUESTS, HTTP_SECONDS, exposition
from newswire.names import MAX_SUGGESTIONS, SUGGEST_FIELDS
from newswire.query import parse_query, positive_tokens
from newswire.search import (
    MAX_RESULT_WINDOW,
    LivePosition,
    SearchQuery,
    SearchStore,
    StoryQuery,
    check_story_id,
    read_story,
    with_current_storyline,
)
from newswire.views import result_as_json, stories_as_json, story_as_json, suggestions_as_json

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
LIVE_SINGLE = (
    "q",
    "language",
    "since",
    "until",
    "story",
    "event",
    "storyline",
    "collapse_duplicates",
    "after",
    "seconds",
    "saved",
)
STORY_SINGLE = ("q", "language", "since", "until", "level", "sort", "size", "offset")
LEVEL_SINGLE = ("level",)
SUGGEST_SINGLE = ("prefix", "field", "size")
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
MAX_LOGGED_TARGET = 300
PAGE_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "saved.js": "text/javascript; charset=utf-8",
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


class _JSONAnswer(JSONResponse):
    """A JSON answer encoded by orjson: the bytes of Starlette's ``JSONResponse`` (UTF-8, no spaces) for our
    documents, in a thirtieth of the time (a search's answer took 0.24 ms of CPU with the standard library).

    Unlike the standard library, orjson writes a float that is not a number as ``null`` rather than failing, and
    writes ``1e-05`` as ``0.00001`` (the same number to any JSON reader).
    """

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(open_store: Callable[[], SearchStore], *, allowed_hosts: Sequence[str] = DEFAULT_HOSTS) -> Starlette:
    """The API and page over the store ``open_store()`` returns: opened at start-up, closed at shutdown.

    The store is used from a thread pool, so it must be safe to share between threads (both stores are).
    ``allowed_hosts`` are the host names (without port) a request's ``Host`` may give; ``*`` allows any.
    """
    _shorten_access_log()
    hosts = tuple(host.lower() for host in allowed_hosts)
    saved_searches, saved_search = saved_search_routes(hosts, canonical_entities)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store)
        app.state.store = store
        app.state.live_streams = LiveStreams()
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
        Route("/api/suggest", _suggest, methods=["GET"]),
        Route("/api/live", _live, methods=["GET"]),
        Route("/api/saved-searches", saved_searches, methods=["GET", "POST"]),
        Route("/api/saved-searches/{saved_search_id}", saved_search, methods=["GET", "DELETE"]),
        Route("/api/health", _health, methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
        Route("/api/docs", _docs, methods=["GET"]),
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
        middleware=[Middleware(_Guard, allowed_hosts=hosts)],
    )
    return app


def _error(status: int, message: str) -> JSONResponse:
    return _JSONAnswer({"error": " ".join(str(message).split())}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(404, f"no such page: {request.url.path[:MAX_PARAM_CHARS]}")
    response = _error(exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})  # a 405 keeps its Allow
    return response


async def _user_error(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("search store unavailable for %s: %s", request.url.path, exc)
    return _error(503, UNAVAILABLE)


async def _store_error(request: Request, exc: Exception) -> Response:
    logger.error("search store failed for %s: %s", request.url.path, exc)
    return _error(500, f"the search store failed: {exc}")


UNAVAILABLE = "the search store is unavailable; the server log says why"


async def _search(request: Request) -> Response:
    query, query_tokens = _search_query(request)
    store: SearchStore = request.app.state.store
    result = await run_in_threadpool(lambda: store.search(with_current_storyline(store, query)))
    return _JSONAnswer(result_as_json(result, query_tokens, set(query.entities)))


async def _article(request: Request) -> Response:
    _parameters(request, (), ())
    article_id = request.path_params["article_id"]
    if not article_id or len(article_id) > MAX_ARTICLE_ID_CHARS or _CONTROL.search(article_id):
        return _error(404, "no article with this id")
    store: SearchStore = request.app.state.store
    article = await run_in_threadpool(store.get, article_id)
    if article is None:
        return _error(404, f"no article with id {article_id!r}")
    return _JSONAnswer(article.model_dump(mode="json", by_alias=True))


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
    return _JSONAnswer(stories_as_json(result))


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
        return _JSONAnswer(story_as_json(*found))

    return await run_in_threadpool(read)


async def _health(request: Request) -> Response:
    _parameters(request, (), ())
    store: SearchStore = request.app.state.store

    def read() -> dict[str, Any]:
        count = store.count()
        position = store.live_position()
        newest = store.get(position.article_id) if position.article_id else None
        health: dict[str, Any] = {"status": "ok", "articles": count}
        if newest is not None:  # enriched just before it was indexed
            health["last_indexed"] = format_time(newest.enrichment.enriched_at)
            health["last_indexed_article"] = newest.id
        return health

    try:
        health = await run_in_threadpool(read)
    except NewswireError as exc:
        logger.warning("health check: %s", exc)
        return _JSONAnswer({"status": "unavailable", "error": UNAVAILABLE}, status_code=503)
    return _JSONAnswer(health)


async def _suggest(request: Request) -> Response:
    single = _parameters(request, SUGGEST_SINGLE, ())
    if "prefix" not in single:
        raise BadParameter("give the prefix to suggest names for")
    field = _choice(single, "field", SUGGEST_FIELDS) or "entity"
    size = _integer(single, "size", 10, 1, MAX_SUGGESTIONS)
    prefix = _text("prefix", single["prefix"])
    store: SearchStore = request.app.state.store
    found = await run_in_threadpool(store.suggest, field, prefix, size)
    return _JSONAnswer(suggestions_as_json(field, prefix, found))


async def _live(request: Request) -> Response:
    """The live stream (:mod:`newswire.app.live`): a search's text and filters, or a saved search's (``saved``);
    ``after`` or ``Last-Event-ID``."""
    single = _parameters(request, LIVE_SINGLE, REPEATABLE)
    store: SearchStore = request.app.state.store
    if "saved" in single:
        if set(single) - {"saved", "after", "seconds"} or any(request.query_params.getlist(n) for n in REPEATABLE):
            raise BadParameter("give either a saved search or the query and filters, not both")
        saved = await run_in_threadpool(find_saved, store, single["saved"])
        if saved is None:
            return _error(404, f"no saved search with id {single['saved'][:MAX_PARAM_CHARS]!r}")
        query = SearchQuery(**saved.article_filter().article_filter_fields())
    else:
        query = SearchQuery(
            **_article_filters(request, single),
            story_id=_event(single),
            storyline_id=_text("storyline", single["storyline"]) if "storyline" in single else None,
            collapse_duplicates=_boolean(single, "collapse_duplicates"),
        )
    tree = parse_query(query.text)
    resume = single.get("after") or request.headers.get("last-event-id")
    after = LivePosition.decode(resume) if resume else None
    seconds = _integer(single, "seconds", DEFAULT_SECONDS, 1, MAX_SECONDS)
    feed = await run_in_threadpool(lambda: LiveFeed(store, with_current_storyline(store, query), after))
    streams: LiveStreams = request.app.state.live_streams
    return streams.response(request, feed, set(positive_tokens(tree)), set(query.entities), seconds)


async def _metrics(request: Request) -> Response:
    _parameters(request, (), ())
    store: SearchStore = request.app.state.store
    text = exposition()
    try:
        count = await run_in_threadpool(store.count)
    except NewswireError as exc:
        logger.warning("metrics: cannot count the store's articles: %s", exc)
    else:
        text += (
            b"# HELP newswire_store_articles Articles in the search store.\n"
            b"# TYPE newswire_store_articles gauge\n" + f"newswire_store_articles {count}\n".encode()
        )
    return Response(text, media_type=METRICS_CONTENT_TYPE)


async def _openapi(request: Request) -> Response:
    _parameters(request, (), ())
    return _JSONAnswer(openapi_document())


async def _docs(request: Request) -> Response:
    _parameters(request, (), ())
    return Response(docs_page(), media_type="text/html; charset=utf-8")


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
        "entities": canonical_entities(_filter(request, "entity")),
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


def _host(scope: Scope) -> str | None:
    """The host name (lower case, without port or IPv6 brackets) of the request's Host header, None without one."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host: str = value.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1 : host.find("]")] if "]" in host else host
            return host.rpartition(":")[0] if host.count(":") == 1 else host
    return None


class _ShortAccessLine(logging.Filter):
    """Cuts the request target of uvicorn's access log line (a 100 KB query string is not logged whole)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and len(args[2]) > MAX_LOGGED_TARGET:
            target = args[2]
            shortened = f"{target[:MAX_LOGGED_TARGET]}...[{len(target)} characters]"
            record.args = (*args[:2], shortened, *args[3:])
        return True


def _shorten_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, _ShortAccessLine) for known in access.filters):
        access.addFilter(_ShortAccessLine())


class _Guard:
    """The Host allow-list, headers on every response, and a JSON 500 instead of a traceback for a bug.

    API answers are never cached (``Cache-Control: no-store``); every answer carries a Content-Security-Policy that
    lets the page load only its own script, style and API, so a snippet that slipped through cannot run.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS) -> None:
        self.app = app
        self.allowed_hosts = frozenset(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        if "*" not in self.allowed_hosts and _host(scope) not in self.allowed_hosts:
            logger.warning("refused a request for %s naming a host not allowed", scope["path"][:MAX_LOGGED_TARGET])
            response = _error(400, "this server does not answer to the host named in the request")
            await self._answer(response, scope, receive, send, api)
            return
        started = False
        status = 500
        began = time.monotonic()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                _secure(message, api)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope["path"])
            if started:
                return  # the client sees a cut-off answer; nothing better can be sent now
            response = _error(500, "internal error; the server log has the details")
            await response(scope, receive, send_with_headers)
        finally:
            route = _route_of(scope["path"])
            HTTP_REQUESTS.labels(route, scope.get("method", ""), str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.monotonic() - began)

    @staticmethod
    async def _answer(response: Response, scope: Scope, receive: Receive, send: Send, api: bool) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _secure(message, api)
            await send(message)

        await response(scope, receive, send_with_headers)


_ROUTES = frozenset(
    {"/", "/api/search", "/api/stories", "/api/suggest", "/api/live", "/api/health", "/api/saved-searches",
     "/api/docs", "/openapi.json", "/metrics"}
)  # fmt: skip
_ROUTE_PREFIXES = ("/api/articles/", "/api/stories/", "/api/saved-searches/")


def _route_of(path: str) -> str:
    """The route a path is of, as a metric label: a few values, whatever paths clients send."""
    if path in _ROUTES:
        return path
    for prefix in _ROUTE_PREFIXES:
        if path.startswith(prefix):
            return prefix + "{id}"
    if path.lstrip("/") in PAGE_FILES:
        return "/page"
    return "other"


def _secure(message: Message, api: bool) -> None:
    """The headers every answer carries."""
    headers = MutableHeaders(scope=message)
    headers["Cache-Control"] = "no-store" if api else "no-cache"
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
