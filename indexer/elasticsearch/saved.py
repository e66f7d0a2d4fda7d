"""The saved searches of the Elasticsearch store, in an index of their own beside the articles' alias.

One document per saved search, its id the saved search's id, the whole :class:`~newswire.alerts.SavedSearch` kept in
``_source`` and not indexed (``enabled: false``): the indexer reads them all every few seconds, and nothing searches
inside them. Writes wait for a refresh, so a search saved through the API is listed by the next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from newswire.alerts import SavedSearch

SAVED_MAPPINGS: Final = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "created": {"type": "date"},
        "search": {"type": "object", "enabled": False},
    },
}
MAX_SAVED_SEARCHES: Final = 10_000  # one page of a search reads them all


def saved_searches_index(alias: str) -> str:
    """The index of the saved searches of the store behind ``alias`` (outside the template's ``alias-v*``)."""
    return f"{alias}-saved-searches"


def saved_document(saved: SavedSearch) -> dict[str, Any]:
    return {"id": saved.id, "created": saved.created.isoformat(), "search": saved.model_dump(mode="json")}


def read_saved(response: Mapping[str, Any]) -> tuple[SavedSearch, ...]:
    """The saved searches of a search response, oldest first (the request sorts by ``created``, then id)."""
    return tuple(SavedSearch.model_validate(hit["_source"]["search"]) for hit in response["hits"]["hits"])


def list_request() -> dict[str, Any]:
    return {
        "query": {"match_all": {}},
        "sort": [{"created": "asc"}, {"id": "asc"}],
        "size": MAX_SAVED_SEARCHES,
    }
