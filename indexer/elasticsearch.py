"""The Elasticsearch search store: enriched articles in a versioned index behind a read alias.

Layout in the cluster, for the alias ``news`` (``settings.index_alias``):

- a composable index template (``newswire-articles``; ``newswire-articles-<alias>`` for any other alias, so two
  deployments in one cluster do not overwrite each other's) for ``news-v*``: one shard, no replica, the mappings;
- the index ``news-v1`` and the alias ``news`` pointing at it as its write index. Searches and writes go through
  the alias, so a re-index into ``news-v2`` is an alias swap.

A document is the enriched message as it travels on ``news.enriched`` (so ``_source`` rebuilds the
:class:`~newswire.contract.EnrichedArticle` exactly), plus the keyword arrays ``entity_names`` and ``topic_labels``
for the filters and facets, plus ``tokens``: title, summary and content as the tokens of
:func:`newswire.query.tokenize` joined by spaces. Only ``tokens.*`` is searched, with the built-in ``whitespace``
analyzer, so the node indexes exactly the tokens the query language produces (the same tokens the embedded store
indexes) without the ``analysis-common`` module, which the ``integ-test-zip`` node lacks (no ``pattern``
tokenizer there; its ``standard`` analyzer would keep ``Prigozhin's`` and ``3.5`` as single tokens). ``tokens`` is
left out of the stored ``_source``, so a re-index into a new version must come from the topic (or recompute it). The
mapping is not dynamic: fields it does not name are kept in ``_source`` but not indexed.

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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, assert_never

from elasticsearch import ApiError, Elasticsearch, TransportError
from pydantic import ValidationError

from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery, SearchError, SearchUnavailable
from newswire.indexer.embedded import Highlighter
from newswire.query import And, Node, Or, Phrase, Term, parse_query, tokenize
from newswire.search import (
    FIELD_WEIGHTS,
    Bucket,
    FacetCount,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchStore,
    UpsertResult,
)

logger = logging.getLogger(__name__)

TEMPLATE_NAME: Final = "newswire-articles"
MAX_REVISION: Final = 2**62  # the node takes external versions below 2**63; anything near is not a revision
FACET_FIELDS: Final = {"entities": "entity_names", "topics": "topic_labels", "sources": "source"}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_KEYWORD: Final = {"type": "keyword"}
_TOKENS: Final = {"type": "text", "analyzer": "whitespace"}
MAPPINGS: Final[dict[str, Any]] = {
    "dynamic": False,
    "_source": {"excludes": ["tokens"]},
    "properties": {
        "id": _KEYWORD,
        "tokens": {"properties": {name: _TOKENS for name in FIELD_WEIGHTS}},
        "url": _KEYWORD,
        "feed_url": _KEYWORD,
        "source": _KEYWORD,
        "language": _KEYWORD,
        "story_id": _KEYWORD,
        "duplicate_of": _KEYWORD,
        "entity_names": _KEYWORD,
        "topic_labels": _KEYWORD,
        "published": {"type": "date"},
        "fetched": {"type": "date"},
        "revision": {"type": "long"},
    },
}


def template_name(alias: str) -> str:
    """The index template of ``alias``: ``newswire-articles`` for the default alias ``news``."""
    return TEMPLATE_NAME if alias == "news" else f"{TEMPLATE_NAME}-{alias}"


# --- query translation (pure functions, unit-tested) ------------------------------------------------------------

_WEIGHTED_FIELDS: Final = [f"tokens.{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]


def translate(node: Node) -> dict[str, Any]:
    """The Elasticsearch query for a :mod:`newswire.query` tree."""
    if isinstance(node, Term):
        if node.prefix:
            should = [
                {"prefix": {f"tokens.{name}": {"value": node.text, "boost": weight}}}
                for name, weight in FIELD_WEIGHTS.items()
            ]
            return {"bool": {"should": should, "minimum_should_match": 1}}
        return {"combined_fields": {"query": node.text, "fields": list(_WEIGHTED_FIELDS)}}
    if isinstance(node, Phrase):
        return {"multi_match": {"query": " ".join(node.tokens), "type": "phrase", "fields": list(_WEIGHTED_FIELDS)}}
    if isinstance(node, And):
        clauses: dict[str, Any] = {"must": [translate(part) for part in node.positive]}
        if node.negative:
            clauses["must_not"] = [translate(part) for part in node.negative]
        return {"bool": clauses}
    if isinstance(node, Or):
        return {"bool": {"should": [translate(part) for part in node.parts], "minimum_should_match": 1}}
    assert_never(node)


def filters(query: SearchQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The exact filters of ``query``: (clauses that must hold, clauses that must not)."""
    required: list[dict[str, Any]] = [{"term": {"entity_names": name}} for name in query.entities]
    required += [{"term": {"topic_labels": label}} for label in query.topics]
    if query.sources:
        required.append({"terms": {"source": list(query.sources)}})
    if query.language:
        required.append({"term": {"language": query.language}})
    if query.since or query.until:
        # Published times are whole milliseconds: round the bounds up to the next one, as the embedded store does.
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if query.since:
            bounds["gte"] = epoch_ms_at_or_after(query.since)
        if query.until:
            bounds["lt"] = epoch_ms_at_or_after(query.until)
        required.append({"range": {"published": bounds}})
    if query.story_id:
        required.append({"term": {"story_id": query.story_id}})
    excluded = [{"exists": {"field": "duplicate_of"}}] if query.collapse_duplicates else []
    return required, excluded


def search_request(query: SearchQuery) -> dict[str, Any]:
    """Keyword arguments of ``Elasticsearch.search`` for ``query`` (raises InvalidQuery for unparsable text)."""
    node = parse_query(query.text)
    required, excluded = filters(query)
    clauses: dict[str, Any] = {"must": [translate(node) if node is not None else {"match_all": {}}]}
    if required:
        clauses["filter"] = required
    if excluded:
        clauses["must_not"] = excluded
    by_date: list[Any] = [{"published": {"order": "desc"}}, {"id": {"order": "asc"}}]
    by_relevance = node is not None and query.sort == "relevance"
    request: dict[str, Any] = {
        "query": {"bool": clauses},
        "sort": ["_score", *by_date] if by_relevance else by_date,
        "from_": query.offset,
        "size": query.size,
        "track_total_hits": True,
    }
    if node is not None and not by_relevance:
        request["track_scores"] = True
    aggs: dict[str, Any] = {}
    if query.facets:
        order = [{"_count": "desc"}, {"_key": "asc"}]
        for facet, field in FACET_FIELDS.items():
            aggs[facet] = {"terms": {"field": field, "size": query.facet_size, "order": order}}
    if query.histogram:
        aggs["histogram"] = {
            "date_histogram": {
                "field": "published",
                "calendar_interval": query.histogram,
                "time_zone": "UTC",
                "min_doc_count": 1,
            }
        }
    if aggs:
        request["aggs"] = aggs
    return request


def epoch_ms_at_or_after(moment: datetime) -> int:
    """The first whole millisecond since the epoch at or after ``moment`` (naive means UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


def document(article: EnrichedArticle) -> dict[str, Any]:
    """The indexed document: the enriched message as on the wire, the filter keywords and the searched tokens."""
    source = article.model_dump(mode="json", by_alias=True)
    source["entity_names"] = sorted({entity.name for entity in article.entities})
    source["topic_labels"] = sorted({topic.label for topic in article.topics})
    source["tokens"] = {name: " ".join(tokenize(getattr(article, name))) for name in FIELD_WEIGHTS}
    return source


def stored_article(document_id: str, source: Mapping[str, Any]) -> EnrichedArticle:
    """The article a document holds; a document that is not one (written by something else) is a SearchError."""
    try:
        return EnrichedArticle.model_validate(source)
    except ValidationError as exc:
        raise SearchError(f"document {document_id} is not an enriched article: {exc.errors()[0]['msg']}") from exc


def read_result(response: Mapping[str, Any], highlight: Highlighter | None = None) -> SearchResult:
    """The :class:`SearchResult` of a response to :func:`search_request`, with highlights cut by ``highlight``."""
    hits = []
    for hit in response["hits"]["hits"]:
        article = stored_article(hit["_id"], hit["_source"])
        score = float(hit.get("_score") or 0.0)
        hits.append(SearchHit(article=article, score=score, highlights=highlight(article) if highlight else ()))
    aggregations = response.get("aggregations", {})
    facets = {
        facet: tuple(
            FacetCount(str(bucket["key"]), int(bucket["doc_count"])) for bucket in aggregations[facet]["buckets"]
        )
        for facet in FACET_FIELDS
        if facet in aggregations
    }
    histogram = tuple(
        Bucket(_EPOCH + timedelta(milliseconds=int(bucket["key"])), int(bucket["doc_count"]))
        for bucket in aggregations.get("histogram", {}).get("buckets", [])
        if bucket["doc_count"]
    )
    return SearchResult(
        total=int(response["hits"]["total"]["value"]), hits=tuple(hits), facets=facets, histogram=histogram
    )


def _reason(error: Mapping[str, Any], limit: int = 300) -> str:
    """``type: reason (caused by type: reason)`` of an error in a response, each reason cut at ``limit`` characters.

    The node quotes the start of a refused value in its reason; a hostile value must not fill the dead letter.
    """

    def part(detail: Mapping[str, Any]) -> str:
        reason = str(detail.get("reason") or "")
        reason = reason if len(reason) <= limit else reason[:limit] + "..."
        return f"{detail.get('type', 'error')}: {reason}" if reason else str(detail.get("type", "error"))

    text = part(error)
    cause = error.get("caused_by")
    if isinstance(cause, Mapping) and cause.get("reason"):
        text += f" (caused by {part(cause)})"
    return text


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
    ) -> None:
        """A store on the node at ``url``; nothing is sent until the first call.

        ``max_retries`` is 0 because the callers retry whole operations (the indexer stage after a back-off) and a
        single node gains nothing from an immediate second attempt, while the client logs each with a traceback.
        """
        self.url = url
        self.alias = alias
        self.index = f"{alias}-v1"
        self.template = template_name(alias)
        self._client = Elasticsearch(
            url,
            api_key=api_key,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=max_retries > 0,
        )
        self._ready_lock = threading.Lock()

    # -- errors ---------------------------------------------------------------------------------------------------

    def _translated(self, exc: ApiError | TransportError, what: str) -> SearchError:
        """Our error for an elasticsearch-py error: down or busy -> SearchUnavailable, the rest -> SearchError."""
        if isinstance(exc, ApiError):
            status = exc.meta.status
            if status == 429 or status >= 500:
                return SearchUnavailable(f"Elasticsearch at {self.url} could not {what} ({status}): {_api_detail(exc)}")
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
            if self._client.indices.exists_alias(name=self.alias):
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

    def _put_template(self) -> None:
        self._client.indices.put_index_template(
            name=self.template,
            index_patterns=[f"{self.alias}-v*"],
            priority=100,
            template={"settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}}, "mappings": MAPPINGS},
            meta={"description": "newswire enriched articles", "alias": self.alias},
        )

    # -- writes ---------------------------------------------------------------------------------------------------

    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        accepted: list[EnrichedArticle] = []
        rejected: list[tuple[str, str]] = []
        for article in articles:
            if article.revision > MAX_REVISION:
                rejected.append((article.id, f"revision {article.revision} is out of range"))
            else:
                accepted.append(article)
        written = self._bulk(accepted, rejected) if accepted else 0
        return UpsertResult(written=written, rejected=tuple(rejected))

    def _bulk(self, articles: Sequence[EnrichedArticle], rejected: list[tuple[str, str]]) -> int:
        """Write ``articles`` in one request; returns how many were stored and adds the refused ones to ``rejected``.

        A request refused as a whole (400, or 413 when too large) is split in halves until the bad document is alone.
        """
        operations: list[dict[str, Any]] = []
        for article in articles:
            operations.append(
                {"index": {"_id": article.id, "version": article.revision, "version_type": "external_gte"}}
            )
            operations.append(document(article))
        what = f"write {len(articles)} articles to {self.alias!r}"
        try:
            response = self._client.bulk(index=self.alias, operations=operations, require_alias=True)
        except ApiError as exc:
            if exc.meta.status not in (400, 413):
                raise self._translated(exc, what) from exc
            if len(articles) == 1:
                rejected.append((articles[0].id, _api_detail(exc)))
                return 0
            middle = len(articles) // 2
            return self._bulk(articles[:middle], rejected) + self._bulk(articles[middle:], rejected)
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
                busy.append(_reason(action.get("error") or {}))
            else:
                rejected.append((str(action.get("_id")), _reason(action.get("error") or {})))
        if busy:
            raise SearchUnavailable(
                f"Elasticsearch at {self.url} could not write {len(busy)} of {len(articles)} articles: {busy[0]}"
            )
        return written

    # -- reads ----------------------------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        request = search_request(query)
        tree = parse_query(query.text)
        highlight = Highlighter(tree) if query.highlight and tree is not None else None
        try:
            response = self._client.search(index=self.alias, **request)
        except ApiError as exc:
            if exc.meta.status == 400:
                raise InvalidQuery(f"Elasticsearch refused the query {query.text!r}: {_api_detail(exc)}") from exc
            raise self._translated(exc, "search") from exc
        except TransportError as exc:
            raise self._translated(exc, "search") from exc
        return read_result(response.body, highlight)

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
        return _reason(causes[0] if causes and isinstance(causes[0], dict) else error)
    return str(exc)
