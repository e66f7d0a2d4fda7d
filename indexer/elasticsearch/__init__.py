"""The Elasticsearch search store: enriched articles in a versioned index behind a read alias.

Layout in the cluster, for the alias ``news`` (``settings.index_alias``):

- a composable index template (``newswire-articles``; ``newswire-articles-<alias>`` for any other alias, so two
  deployments in one cluster do not overwrite each other's) for ``news-v*``: one shard, no replica, the mappings;
- the index ``news-v3`` (``v`` and the layout, :data:`LAYOUT`) and the alias ``news`` pointing at it as its write
  index. Searches and writes go through the alias, so a re-index into a new layout is an alias swap.

An index of an older layout (``news-v1``, before stems and folded keys) is copied when ``ensure_ready`` finds the
alias on it: every article is read back from its ``_source`` (which rebuilds the enriched article exactly), written
into ``news-v3`` with its revision, and the alias moves to the new index in one atomic update; the old index is kept
for the operator to delete. Run one indexer while that happens: an article written to the old index during the copy
is not in the new one until the topic is replayed (``newswire index --from-beginning``).

``newswire reindex`` rebuilds from the enriched topic into ``news-v3-<UTC time>`` (:meth:`ElasticsearchStore.
begin_rebuild`, :meth:`~ElasticsearchStore.write_into`, :meth:`~ElasticsearchStore.finish_rebuild`, which moves the
alias in one atomic update); such an index counts as the current layout, so ``ensure_ready`` leaves it as it is.

A document is the enriched message as it travels on ``news.enriched`` (so ``_source`` rebuilds the
:class:`~newswire.contract.EnrichedArticle` exactly), plus the keyword arrays ``entity_names`` and ``topic_labels``
for the filters and facets, plus ``story`` (the ``story_id``, or the article's own id) and ``entity_keys`` (name and
label as one keyword) for the story listing (:mod:`.stories`; ``ensure_ready`` adds both to an index made before
them, and documents written before get them when written again), plus ``tokens``: title, summary and content as the
tokens of :func:`newswire.query.tokenize` joined by spaces, and ``stems``: their Snowball stems
(:func:`newswire.query.stems`), searched for words while ``tokens`` serve phrases, quoted words and prefixes; plus
the folded filter keys of :mod:`newswire.names` (``entity_match``, ``topic_match``, ``source_match``) and the
suggestion keys (``suggest_keys``: field, key and value joined by ``\\x1f``). Only ``tokens.*`` and ``stems.*`` are
searched, with the built-in
``whitespace`` analyzer, so the node indexes exactly the tokens the query language produces (the same tokens the
embedded store indexes) without the ``analysis-common`` module, which the ``integ-test-zip`` node lacks (no
``pattern`` tokenizer there; its ``standard`` analyzer would keep ``Prigozhin's`` and ``3.5`` as single tokens).
``tokens`` is left out of the stored ``_source``, so a re-index into a new version must come from the topic (or
recompute it). The mapping is not dynamic: fields it does not name are kept in ``_source`` but not indexed.

Writes are one ``_bulk`` request per batch with ``_id`` = article id and the article's revision as an external
version (``external_gte``): a replay of a revision overwrites it with itself, an older revision is refused by the
node (409, counted as stale, not an error). A document the node refuses for good (mapping or parsing, 4xx) comes back
in :attr:`UpsertResult.rejected`; a node that is down, busy (429) or failing (5xx) raises :class:`SearchUnavailable`
so the stage retries the batch.

Differences from the embedded store
-----------------------------------
- Ranking. A word is a ``combined_fields`` query over tokens of title^3, summary^2 and content^1: BM25F, the
  term frequencies and the lengths of the three fields combined with the weights (FTS5 ``bm25(3, 2, 1)`` weighs the
  frequencies but counts the row's length unweighted, and its IDF is ``log((N - n + 0.5) / (n + 0.5))`` where
  Lucene's is ``log(1 + (N - n + 0.5) / (n + 0.5))``; Lucene keeps field lengths to one byte of precision). A prefix
  (``mobil*``) scores a constant per field it matches (3, 2, 1, summed) where FTS5 scores the expanded words with
  BM25. A phrase scores by its best field (``multi_match`` of type ``phrase``). Ties break on date then id in both.
- A token longer than 255 characters is indexed as 255-character pieces (the whitespace tokenizer's limit); the
  query language's token stays whole, so such a word is not found.
- Highlights are cut from the article in Python by the embedded store's highlighter, so both stores mark the same
  words the same way.
- Without query text every hit scores 0.0 in both stores; ``UpsertResult.written`` counts the documents the node
  stored (a stale revision it refused is not counted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.serializer import OrjsonSerializer

from newswire.alerts import SavedSearch
from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery, SearchError, SearchUnavailable
from newswire.highlight import Highlighter
from newswire.indexer.elasticsearch import saved, stories
from newswire.indexer.elasticsearch.ndjson import OrjsonNdjsonSerializer
from newswire.indexer.elasticsearch.translation import (
    FACET_FIELDS,
    LAYOUT,
    MAPPINGS,
    MAX_REVISION,
    TEMPLATE_NAME,
    document,
    epoch_ms_at_or_after,
    error_reason,
    filters,
    live_request,
    read_result,
    read_suggest_candidates,
    read_suggest_counts,
    search_request,
    stored_article,
    suggest_candidates_request,
    suggest_counts_request,
    template_name,
    translate,
)
from newswire.names import suggestion_prefix
from newswire.query import parse_query
from newswire.retry import retry_after_seconds
from newswire.search import (
    FacetCount,
    LivePosition,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchStore,
    StoriesResult,
    StoryQuery,
    UpsertResult,
)

__all__ = [
    "FACET_FIELDS",
    "LAYOUT",
    "MAPPINGS",
    "MAX_REVISION",
    "TEMPLATE_NAME",
    "ElasticsearchStore",
    "Highlighter",
    "document",
    "epoch_ms_at_or_after",
    "filters",
    "read_result",
    "search_request",
    "stored_article",
    "template_name",
    "translate",
]

logger = logging.getLogger(__name__)


class ElasticsearchStore(SearchStore):
    """Enriched articles in Elasticsearch (8.x, the client's major) under ``alias``."""

    def __init__(
        self,
        url: str,
        *,
        alias: str = "news",
        api_key: str | None = None,
        request_timeout: float = 30.0,
        max_retries: int = 0,
        refresh_seconds: float | None = None,
    ) -> None:
        """A store on the node at ``url``; nothing is sent until the first call.

        ``refresh_seconds`` is the refresh interval of the article index this store creates: how long a written
        article may take to become searchable (writes do not ask for a refresh). ``None`` leaves Elasticsearch's
        default (1 s, skipped while the index has had no search for 30 s). An index that exists keeps its own.

        ``max_retries`` is 0 because the callers retry whole operations (the indexer stage after a back-off) and a
        single node gains nothing from an immediate second attempt, while the client logs each with a traceback.
        JSON bodies are read and written with orjson (the client's ``OrjsonSerializer``): the standard library took
        0.37 ms of CPU to decode a search's answer (ten articles and the aggregations, about 30 KB), orjson 0.07 ms.
        The ``_bulk`` lines too (:class:`.ndjson.OrjsonNdjsonSerializer`): 6 us a document instead of 52.
        """
        self.url = url
        self.alias = alias
        self.index = f"{alias}-v{LAYOUT}"
        self.template = template_name(alias)
        self.refresh_seconds = refresh_seconds
        self._client = Elasticsearch(
            url,
            api_key=api_key,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=max_retries > 0,
            serializers={"application/json": OrjsonSerializer(), "application/x-ndjson": OrjsonNdjsonSerializer()},
        )
        self._ready_lock = threading.Lock()

    # -- errors ---------------------------------------------------------------------------------------------------

    def _translated(self, exc: ApiError | TransportError, what: str) -> SearchError:
        """Our error for an elasticsearch-py error: down or busy -> SearchUnavailable (with the node's Retry-After, if
        it sent one), the rest -> SearchError."""
        if isinstance(exc, ApiError):
            status = exc.meta.status
            if status == 429 or status >= 500:
                return SearchUnavailable(
                    f"Elasticsearch at {self.url} could not {what} ({status}): {_api_detail(exc)}",
                    retry_after=retry_after_seconds(exc.meta.headers.get("retry-after")),
                )
            return SearchError(f"Elasticsearch at {self.url} refused to {what} ({status}): {_api_detail(exc)}")
        return SearchUnavailable(f"cannot reach Elasticsearch at {self.url} to {what}: {exc.message}")

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ApiError, TransportError) as exc:
            raise self._translated(exc, what) from exc

    # -- set-up ---------------------------------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        with self._ready_lock, self._calling(f"set up the index behind alias {self.alias!r}"):
            self._put_template()
            self._ensure_side_indexes()
            if self._client.indices.exists_alias(name=self.alias):
                behind = sorted(self._client.indices.get_alias(name=self.alias).body)
                if not any(self._of_layout(name) for name in behind):
                    self._migrate(behind)
                    return
                # Fields added to the mapping since the index was made (``story``, ``entity_keys``); documents
                # written before get them when they are written again.
                self._client.indices.put_mapping(index=self.alias, properties=MAPPINGS["properties"])
                return
            try:
                self._client.indices.create(index=self.index, aliases={self.alias: {"is_write_index": True}})
                logger.info("created index %s behind alias %s at %s", self.index, self.alias, self.url)
            except ApiError as exc:
                if _error_type(exc) != "resource_already_exists_exception":
                    raise
                # Another indexer created it at the same moment (with the alias, in the same call), or the alias was
                # removed by hand: point it back.
                if not self._client.indices.exists_alias(name=self.alias):
                    actions = [{"add": {"index": self.index, "alias": self.alias, "is_write_index": True}}]
                    self._client.indices.update_aliases(actions=actions)

    def _of_layout(self, name: str) -> bool:
        """Whether index ``name`` has this layout: :attr:`index`, or a rebuild of it (``news-v3-<time>``)."""
        return name == self.index or name.startswith(f"{self.index}-")

    def _migrate(self, old: list[str]) -> None:
        """Copy every article of the ``old`` indexes behind the alias into :attr:`index`, then move the alias."""
        logger.warning("index %s behind alias %s has an older layout: copying it into %s", old, self.alias, self.index)
        if not self._client.indices.exists(index=self.index):
            self._client.indices.create(index=self.index)
        copied, rejected = self._copy(old, self.index)
        self._client.indices.refresh(index=self.index)
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        actions.append({"add": {"index": self.index, "alias": self.alias, "is_write_index": True}})
        self._client.indices.update_aliases(actions=actions)
        logger.warning(
            "copied %d articles into %s (%d refused: %s); alias %s moved; %s kept, delete it when satisfied",
            copied, self.index, len(rejected), rejected[:3], self.alias, ", ".join(old),
        )  # fmt: skip

    def _copy(self, old: Sequence[str], into: str) -> tuple[int, list[tuple[str, str]]]:
        """Copy every article of the ``old`` indexes into ``into`` (rebuilt from ``_source``); (copied, refused)."""
        copied, rejected = 0, list[tuple[str, str]]()
        after: list[Any] | None = None
        while True:
            page = self._client.search(
                index=",".join(old), size=500, sort=[{"id": "asc"}], search_after=after, query={"match_all": {}}
            ).body["hits"]["hits"]
            if not page:
                break
            articles = [stored_article(hit["_id"], hit["_source"]) for hit in page]
            copied += self._bulk([a for a in articles if a.revision <= MAX_REVISION], rejected, index=into)
            after = page[-1]["sort"]
        return copied, rejected

    # -- rebuilding into a new versioned index (``newswire reindex``) ---------------------------------------------

    def begin_rebuild(self, *, seed: bool = False) -> str:
        """Create a new, empty index of this layout for a rebuild (``news-v3-<UTC time>``) and return its name; with
        ``seed``, first copy into it what the alias holds now (a rebuild from part of the topic keeps the rest).
        Searches and writes keep going to the alias until :meth:`finish_rebuild`."""
        name = f"{self.index}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        with self._calling(f"create the index {name!r} to rebuild {self.alias!r} into"):
            self._client.indices.create(index=name)
            if seed:
                behind = sorted(self._client.indices.get_alias(name=self.alias).body)
                copied, rejected = self._copy(behind, name)
                logger.info("seeded %s with %d articles of %s (%d refused)", name, copied, behind, len(rejected))
        return name

    def write_into(self, index: str, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        """:meth:`upsert` into the rebuild ``index`` instead of the alias (revisions compared the same way)."""
        rejected = [(a.id, f"revision {a.revision} is out of range") for a in articles if a.revision > MAX_REVISION]
        accepted = self._in_survivors([a for a in articles if a.revision <= MAX_REVISION])
        written = self._bulk(accepted, rejected, index=index) if accepted else 0
        return UpsertResult(written=written, rejected=tuple(rejected))

    def finish_rebuild(self, index: str) -> list[str]:
        """Make ``index`` searchable and move the alias onto it in one atomic update (a search runs against either
        the old index or the new one, never neither); return the indexes it left, kept for the operator to delete."""
        with self._calling(f"move the alias {self.alias!r} to {index!r}"):
            self._client.indices.refresh(index=index)
            old = sorted(self._client.indices.get_alias(name=self.alias).body)
            actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
            actions.append({"add": {"index": index, "alias": self.alias, "is_write_index": True}})
            self._client.indices.update_aliases(actions=actions)
        logger.info("alias %s moved from %s to %s", self.alias, ", ".join(old), index)
        return [name for name in old if name != index]

    def index_settings(self) -> dict[str, Any]:
        """The settings of the article indexes this store creates (through its template, for ``<alias>-v*``)."""
        settings: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0}
        if self.refresh_seconds is not None:
            # In milliseconds: Elasticsearch's time units take no fraction ("0.5s" is refused).
            settings["refresh_interval"] = f"{max(1, round(self.refresh_seconds * 1000))}ms"
        return settings

    def _put_template(self) -> None:
        self._client.indices.put_index_template(
            name=self.template,
            index_patterns=[f"{self.alias}-v*"],
            priority=100,
            template={"settings": {"index": self.index_settings()}, "mappings": MAPPINGS},
            meta={"description": "newswire enriched articles", "alias": self.alias},
        )

    def _ensure_side_indexes(self) -> None:
        """The storyline merges (see :mod:`.stories`) and saved searches (:mod:`.saved`) indexes, made if missing."""
        self._ensure_index(stories.merges_index(self.alias), stories.MERGES_MAPPINGS)
        self._ensure_index(saved.saved_searches_index(self.alias), saved.SAVED_MAPPINGS)

    def _ensure_index(self, index: str, mappings: Mapping[str, Any]) -> None:
        """Index ``index`` with ``mappings``, made if missing; two indexers may race to make it."""
        if self._client.indices.exists(index=index):
            return
        try:
            settings = {"index": {"number_of_shards": 1, "number_of_replicas": 0}}
            self._client.indices.create(index=index, mappings=mappings, settings=settings)
        except ApiError as exc:
            if _error_type(exc) != "resource_already_exists_exception":
                raise

    # -- writes ---------------------------------------------------------------------------------------------------

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        accepted: list[EnrichedArticle] = []
        rejected: list[tuple[str, str]] = []
        for article in articles:
            if article.revision > MAX_REVISION:
                rejected.append((article.id, f"revision {article.revision} is out of range"))
            else:
                accepted.append(article)
        if accepted:
            accepted = self._in_survivors(accepted)
        written = self._bulk(accepted, rejected) if accepted else 0
        for article in accepted:
            if article.merged_storylines and article.storyline:
                self._merge(article.storyline, article.merged_storylines)
        return UpsertResult(written=written, rejected=tuple(rejected))

    def _survivors(self, storylines: Sequence[str]) -> dict[str, str]:
        """Each of ``storylines`` that was merged away, and the storyline it is part of now."""
        if not storylines:  # mget refuses an empty list of ids
            return {}
        with self._calling("read the storyline merges"):
            response = self._client.mget(index=stories.merges_index(self.alias), ids=list(storylines))
        return {doc["_id"]: doc["_source"]["into"] for doc in response["docs"] if doc.get("found")}

    def _in_survivors(self, articles: list[EnrichedArticle]) -> list[EnrichedArticle]:
        """``articles``, those of a storyline merged away moved to its survivor (written after the merge)."""
        survivors = self._survivors(sorted({article.storyline for article in articles if article.storyline}))
        if not survivors:
            return articles
        return [
            article.model_copy(update={"storyline_id": survivors[article.storyline]})
            if article.storyline in survivors
            else article
            for article in articles
        ]

    def _merge(self, into: str, merged: Sequence[str]) -> None:
        """Apply a storyline merge: the aliases (chains collapsed), then the stored articles of ``merged``."""
        into = self._survivors([into]).get(into, into)
        gone = sorted({key for key in merged if key != into})
        if not gone:
            return
        index = stories.merges_index(self.alias)
        with self._calling(f"merge storylines {gone} into {into!r}"):
            chained = self._client.search(index=index, query={"terms": {"into": gone}}, size=10_000, source=False)[
                "hits"
            ]["hits"]
            operations: list[dict[str, Any]] = []
            for key in [*gone, *(hit["_id"] for hit in chained)]:
                operations += [{"index": {"_id": key}}, {"into": into}]
            self._client.bulk(index=index, operations=operations, refresh=True)
            self._client.indices.refresh(index=self.alias)  # this batch's articles of the merged storylines too
            after: list[Any] | None = None
            moved = 0
            while True:
                hits = self._client.search(index=self.alias, **stories.merged_articles_request(gone, after))["hits"]
                page = [stored_article(hit["_id"], hit["_source"]) for hit in hits["hits"]]
                if not page:
                    break
                rejected: list[tuple[str, str]] = []
                moved += self._bulk([article.model_copy(update={"storyline_id": into}) for article in page], rejected)
                after = hits["hits"][-1]["sort"]
        logger.info("%s: storylines %s merged into %s (%d articles moved)", self.alias, gone, into, moved)

    def resolve_storyline(self, storyline_id: str) -> str:
        return self._survivors([storyline_id]).get(storyline_id, storyline_id)

    def _bulk(
        self, articles: Sequence[EnrichedArticle], rejected: list[tuple[str, str]], index: str | None = None
    ) -> int:
        """Write ``articles`` in one request (to the alias, or ``index``); returns how many were stored and adds the
        refused ones to ``rejected``.

        A request refused as a whole (400, or 413 when too large) is split in halves until the bad document is alone.
        """
        operations: list[dict[str, Any]] = []
        indexed_ms = time.time_ns() // 1_000_000
        for article in articles:
            source = document(article)
            source["indexed_ms"] = indexed_ms
            operations.append(
                {"index": {"_id": article.id, "version": article.revision, "version_type": "external_gte"}}
            )
            operations.append(source)
        what = f"write {len(articles)} articles to {self.alias!r}"
        try:
            response = self._client.bulk(index=index or self.alias, operations=operations, require_alias=index is None)
        except ApiError as exc:
            if exc.meta.status not in (400, 413):
                raise self._translated(exc, what) from exc
            if len(articles) == 1:
                rejected.append((articles[0].id, _api_detail(exc)))
                return 0
            middle = len(articles) // 2
            return self._bulk(articles[:middle], rejected, index) + self._bulk(articles[middle:], rejected, index)
        except TransportError as exc:
            raise self._translated(exc, what) from exc
        written = 0
        busy: list[str] = []
        for item in response["items"]:
            action = item.get("index") or next(iter(item.values()))
            status = int(action.get("status", 500))
            if status < 300:
                written += 1
            elif status == 409:
                logger.debug("%s: article %s has a newer revision indexed already", self.alias, action.get("_id"))
            elif status == 404:
                raise SearchError(f"the alias {self.alias!r} does not exist at {self.url}; `newswire index` creates it")
            elif status == 429 or status >= 500:
                busy.append(error_reason(action.get("error") or {}))
            else:
                rejected.append((str(action.get("_id")), error_reason(action.get("error") or {})))
        if busy:
            raise SearchUnavailable(
                f"Elasticsearch at {self.url} could not write {len(busy)} of {len(articles)} articles: {busy[0]}"
            )
        return written

    # -- reads ----------------------------------------------------------------------------------------------------

    #: A write's time is taken before its bulk request and the write shows after the refresh that follows it: the
    #: live stream looks back over the client's request timeout (a bulk request cannot take longer) and a refresh.
    live_lookback = 31_000

    def live_position(self) -> LivePosition:
        with self._calling("read the live position"):
            hits = self._client.search(
                index=self.alias,
                size=1,
                sort=[{"indexed_ms": "desc"}, {"id": "desc"}],
                source=False,
                query={"exists": {"field": "indexed_ms"}},
            )["hits"]["hits"]
        return LivePosition(int(hits[0]["sort"][0]), str(hits[0]["sort"][1])) if hits else LivePosition(0)

    def indexed_after(
        self, query: SearchQuery, after: LivePosition, limit: int
    ) -> tuple[tuple[LivePosition, SearchHit], ...]:
        request = live_request(query, after, limit)
        tree = parse_query(query.text)
        highlight = Highlighter(tree) if query.highlight and tree is not None else None
        response = self._search(request, query.text, "read the live stream")
        result = read_result(response, highlight)
        positions = [LivePosition(int(hit["sort"][0]), str(hit["sort"][1])) for hit in response["hits"]["hits"]]
        return tuple(zip(positions, result.hits, strict=True))

    def search(self, query: SearchQuery) -> SearchResult:
        request = search_request(query)
        tree = parse_query(query.text)
        highlight = Highlighter(tree) if query.highlight and tree is not None else None
        return read_result(self._search(request, query.text, "search"), highlight)

    def _search(self, request: dict[str, Any], text: str, what: str) -> dict[str, Any]:
        """The body of the answer to a search ``request`` for the query ``text``; a 400 is an InvalidQuery."""
        try:
            response = self._client.search(index=self.alias, **request)
        except ApiError as exc:
            if exc.meta.status == 400:
                raise InvalidQuery(f"Elasticsearch refused the query {text!r}: {_api_detail(exc)}") from exc
            raise self._translated(exc, what) from exc
        except TransportError as exc:
            raise self._translated(exc, what) from exc
        body: dict[str, Any] = response.body
        return body

    def stories(self, query: StoryQuery) -> StoriesResult:
        keys: list[str] | None = None
        if not query.matches_everything:
            keys, after = [], None
            while True:
                page, after = stories.read_keys(
                    self._search(stories.keys_request(query, after), query.text, "list stories")
                )
                keys.extend(page)
                if len(keys) > stories.MAX_MATCHING_STORIES:
                    raise InvalidQuery(
                        f"the query matches more than {stories.MAX_MATCHING_STORIES} stories; narrow it with words, "
                        "filters or a date range"
                    )
                if after is None:
                    break
            if not keys:
                return StoriesResult(total=0, stories=())
        cardinality, page = stories.read_order(
            self._search(stories.order_request(query, keys), query.text, "list stories"), query
        )
        total = len(keys) if keys is not None else cardinality or 0
        if not page:
            return StoriesResult(total=total, stories=())
        details = self._search(stories.details_request(page, query.level), query.text, "list stories")
        return StoriesResult(total=total, stories=stories.read_summaries(details, page, query.level))

    def suggest(self, field: str, prefix: str, size: int = 10) -> tuple[FacetCount, ...]:
        folded = suggestion_prefix(field, prefix, size)
        candidates = read_suggest_candidates(
            self._search(suggest_candidates_request(field, folded), prefix, "suggest names")
        )
        if not candidates:
            return ()
        return read_suggest_counts(
            self._search(suggest_counts_request(field, candidates, size), prefix, "suggest names")
        )

    def get(self, article_id: str) -> EnrichedArticle | None:
        try:
            response = self._client.get(index=self.alias, id=article_id)
        except ApiError as exc:
            if exc.meta.status == 404 and _error_type(exc) != "index_not_found_exception":
                return None
            raise self._translated(exc, f"read article {article_id}") from exc
        except TransportError as exc:
            raise self._translated(exc, f"read article {article_id}") from exc
        return stored_article(article_id, response["_source"])

    # -- saved searches ---------------------------------------------------------------------------------------------

    def save_search(self, search: SavedSearch) -> None:
        index = saved.saved_searches_index(self.alias)
        with self._calling(f"save search {search.id!r}"):
            self._client.index(index=index, id=search.id, document=saved.saved_document(search), refresh="wait_for")

    def saved_searches(self) -> tuple[SavedSearch, ...]:
        index = saved.saved_searches_index(self.alias)
        with self._calling("read the saved searches"):
            response = self._client.options(ignore_status=404).search(index=index, **saved.list_request())
        if "hits" not in response:  # no index yet: this store was never made ready
            return ()
        return saved.read_saved(response.body)

    def delete_saved_search(self, saved_search_id: str) -> bool:
        index = saved.saved_searches_index(self.alias)
        with self._calling(f"delete saved search {saved_search_id!r}"):
            response = self._client.options(ignore_status=404).delete(
                index=index, id=saved_search_id, refresh="wait_for"
            )
        return bool(response.get("result") == "deleted")

    def count(self) -> int:
        with self._calling("count articles"):
            return int(self._client.count(index=self.alias)["count"])

    def refresh(self) -> None:
        with self._calling("refresh"):
            self._client.indices.refresh(index=self.alias)

    def close(self) -> None:
        self._client.close()

    def drop(self) -> None:
        """Delete the index template and every ``{alias}-v*`` index (tests and ``reset`` only)."""
        with self._calling(f"delete the indexes of {self.alias!r}"):
            self._client.indices.delete(index=f"{self.alias}-v*", ignore_unavailable=True, allow_no_indices=True)
            for side in (stories.merges_index(self.alias), saved.saved_searches_index(self.alias)):
                self._client.indices.delete(index=side, ignore_unavailable=True, allow_no_indices=True)
            self._client.options(ignore_status=404).indices.delete_index_template(name=self.template)


def _error_type(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("type", ""))
    return ""


def _api_detail(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        causes = error.get("root_cause") or []
        return error_reason(causes[0] if causes and isinstance(causes[0], dict) else error)
    return str(exc)
