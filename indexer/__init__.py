"""The indexer stage: enriched articles from ``news.enriched`` into a search store.

Stores: :class:`~newswire.indexer.elasticsearch.ElasticsearchStore` (production) and
``newswire.indexer.embedded.EmbeddedStore`` (SQLite FTS5, one process), both behind
:class:`~newswire.search.SearchStore`. :func:`open_store` picks one; :mod:`newswire.indexer.service` builds the stage.
"""

from __future__ import annotations

from newswire.search import SearchStore
from newswire.settings import Settings


def open_store(settings: Settings, *, embedded: bool) -> SearchStore:
    """The search store the settings name: the embedded store in ``data_dir``, or Elasticsearch at ``es_url``.

    Nothing is created yet; call :meth:`SearchStore.ensure_ready` before writing.
    """
    if embedded:
        from newswire.indexer.embedded import EmbeddedStore  # noqa: PLC0415 - stores load only when chosen

        return EmbeddedStore(settings.embedded_store_path)
    from newswire.indexer.elasticsearch import ElasticsearchStore  # noqa: PLC0415

    api_key = settings.es_api_key.get_secret_value() if settings.es_api_key else None
    return ElasticsearchStore(
        settings.es_url, alias=settings.index_alias, api_key=api_key, refresh_seconds=settings.index_refresh_seconds
    )
