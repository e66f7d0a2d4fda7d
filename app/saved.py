"""``/api/saved-searches``: the saved searches whose alerts the indexer sends to ``news.alerts``.

    GET    /api/saved-searches         {"saved_searches": [<saved search>, ...]}, oldest first
    POST   /api/saved-searches         a JSON object (below) -> 201 and the saved search, with its id
    GET    /api/saved-searches/{id}    the saved search, or 404
    DELETE /api/saved-searches/{id}    204, or 404

A saved search posted is ``{"name": ..., "q": ..., "entity": [...], "topic": [...], "source": [...], "language":
..., "kind": "articles" | "new_story" | "story_growth", "level": "event" | "storyline", "min_articles": N,
"window_minutes": M, "id": ...}``; only ``name`` and one of the query or a filter are needed (see
:class:`newswire.alerts.SavedSearch`). A request that changes something must say ``Content-Type: application/json``
(a page on another site can then not send it without the browser asking first, which this server never allows) and,
when a browser names its ``Origin``, come from a host the server answers to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from newswire.alerts import SAVED_SEARCH_ID, SavedSearch
from newswire.errors import InvalidQuery
from newswire.search import SearchStore

logger = logging.getLogger(__name__)

__all__ = ["MAX_BODY_BYTES", "find_saved", "saved_search_routes"]

MAX_BODY_BYTES = 16_384
# The JSON names of the API (as its query parameters) and the saved search's fields they fill.
_FIELDS = {
    "id": "id",
    "name": "name",
    "kind": "kind",
    "q": "text",
    "entity": "entities",
    "topic": "topics",
    "source": "sources",
    "language": "language",
    "level": "level",
    "min_articles": "min_articles",
    "window_minutes": "window_minutes",
}


def saved_as_json(saved: SavedSearch) -> dict[str, Any]:
    """A saved search as the API writes it: the names of the API's parameters."""
    document = saved.model_dump(mode="json")
    return {name: document[field] for name, field in _FIELDS.items()} | {"created": document["created"]}


def find_saved(store: SearchStore, saved_search_id: str) -> SavedSearch | None:
    return next((saved for saved in store.saved_searches() if saved.id == saved_search_id), None)


def _no_parameters(request: Request) -> None:
    if request.query_params:
        raise InvalidQuery(f"unknown parameter {next(iter(request.query_params))!r}; known: none")


def _refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _origin_refused(request: Request, allowed_hosts: Sequence[str]) -> JSONResponse | None:
    origin = request.headers.get("origin")
    if origin is None:
        return None
    host = (urlsplit(origin).hostname or "").lower()
    if "*" in allowed_hosts or host in allowed_hosts:
        return None
    return _refused(403, "this server takes changes only from its own pages")


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return _refused(415, "send the saved search as JSON, with Content-Type: application/json")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return _refused(413, f"a saved search is at most {MAX_BODY_BYTES} bytes of JSON")
        chunks.append(chunk)
    try:
        document = json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidQuery(f"the body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidQuery("the body must be a JSON object")
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise InvalidQuery(f"unknown field {unknown[0]!r}; known: {', '.join(_FIELDS)}")
    return document


def _saved_search(document: dict[str, Any], canonical: Callable[[Sequence[str]], tuple[str, ...]]) -> SavedSearch:
    fields = {_FIELDS[name]: value for name, value in document.items() if value is not None}
    for name in ("entities", "topics", "sources"):
        value = fields.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidQuery(f"{name} must be a list of names")
        fields[name] = tuple(value)
    fields["entities"] = canonical(fields["entities"])
    try:
        return SavedSearch(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the saved search"
        raise InvalidQuery(f"{where}: {error['msg']}") from None


def saved_search_routes(
    allowed_hosts: Sequence[str], canonical: Callable[[Sequence[str]], tuple[str, ...]]
) -> tuple[Callable[[Request], Any], Callable[[Request], Any]]:
    """The handlers of ``/api/saved-searches`` and ``/api/saved-searches/{id}``."""

    async def collection(request: Request) -> Response:
        _no_parameters(request)
        store: SearchStore = request.app.state.store
        if request.method == "GET":
            found = await run_in_threadpool(store.saved_searches)
            return JSONResponse({"saved_searches": [saved_as_json(saved) for saved in found]})
        refused = _origin_refused(request, allowed_hosts)
        if refused is not None:
            return refused
        document = await _body(request)
        if isinstance(document, JSONResponse):
            return document
        saved = _saved_search(document, canonical)

        def create() -> Response:
            if find_saved(store, saved.id) is not None:
                return _refused(409, f"a saved search with id {saved.id!r} exists; delete it first")
            store.save_search(saved)
            return JSONResponse(saved_as_json(saved), status_code=201)

        response = await run_in_threadpool(create)
        if response.status_code == 201:
            logger.info("saved search %s (%s) created: %r", saved.id, saved.kind, saved.name)
        return response

    async def one(request: Request) -> Response:
        _no_parameters(request)
        saved_search_id = request.path_params["saved_search_id"]
        if not SAVED_SEARCH_ID.fullmatch(saved_search_id):
            return _refused(404, "no saved search with this id")
        store: SearchStore = request.app.state.store
        if request.method == "GET":
            saved = await run_in_threadpool(find_saved, store, saved_search_id)
            if saved is None:
                return _refused(404, f"no saved search with id {saved_search_id!r}")
            return JSONResponse(saved_as_json(saved))
        refused = _origin_refused(request, allowed_hosts)
        if refused is not None:
            return refused
        if not await run_in_threadpool(store.delete_saved_search, saved_search_id):
            return _refused(404, f"no saved search with id {saved_search_id!r}")
        logger.info("saved search %s deleted", saved_search_id)
        return Response(status_code=204)

    return collection, one
