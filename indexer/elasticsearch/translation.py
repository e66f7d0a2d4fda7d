"""How searches and articles become Elasticsearch requests and documents, and responses become results.

Pure functions, unit-tested without a node; :class:`~newswire.indexer.elasticsearch.ElasticsearchStore` sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, assert_never

from pydantic import ValidationError

from newswire.contract import EnrichedArticle
from newswire.errors import SearchError
from newswire.highlight import Highlighter
from newswire.names import entity_keys, fold, source_key, suggestion_keys, topic_key
from newswire.query import And, Node, Or, Phrase, Term, parse_query, stems, tokenize
from newswire.search import (
    FIELD_WEIGHTS,
    Bucket,
    FacetCount,
    LivePosition,
    SearchHit,
    SearchQuery,
    SearchResult,
    entity_key,
)

TEMPLATE_NAME: Final = "newswire-articles"
# The index layout: 2 added ``stems`` (stemmed words) and the folded filter and suggestion keys; 3 indexes
# ``published_estimated`` and ``dated`` (the published time of articles whose date the feed gave). An index of an
# older layout is copied into ``{alias}-v{LAYOUT}`` by ``ensure_ready`` (see the package docstring).
LAYOUT: Final = 3
SUGGEST_FIELDS: Final = {"entity": "entity_names", "topic": "topic_labels", "source": "source"}
SUGGEST_SEPARATOR: Final = "\x1f"
MAX_SUGGEST_CANDIDATES: Final = 1000
MAX_REVISION: Final = 2**62  # the node takes external versions below 2**63; anything near is not a revision
FACET_FIELDS: Final = {"entities": "entity_names", "topics": "topic_labels", "sources": "source"}
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_KEYWORD: Final = {"type": "keyword"}
_TOKENS: Final = {"type": "text", "analyzer": "whitespace"}
MAPPINGS: Final[dict[str, Any]] = {
    "dynamic": False,
    "_meta": {"layout": LAYOUT},
    "_source": {
        "excludes": ["tokens", "stems", "entity_match", "topic_match", "source_match", "suggest_keys", "dated"]
    },
    "properties": {
        "id": _KEYWORD,
        "tokens": {"properties": {name: _TOKENS for name in FIELD_WEIGHTS}},
        "stems": {"properties": {name: _TOKENS for name in FIELD_WEIGHTS}},
        "entity_match": _KEYWORD,
        "topic_match": _KEYWORD,
        "source_match": _KEYWORD,
        "suggest_keys": _KEYWORD,
        "url": _KEYWORD,
        "feed_url": _KEYWORD,
        "source": _KEYWORD,
        "language": _KEYWORD,
        "story_id": _KEYWORD,
        "story": _KEYWORD,
        "event_id": _KEYWORD,
        "storyline_id": _KEYWORD,
        "storyline": _KEYWORD,
        "duplicate_of": _KEYWORD,
        "entity_names": _KEYWORD,
        "topic_labels": _KEYWORD,
        "entity_keys": _KEYWORD,
        "published": {"type": "date"},
        "published_estimated": {"type": "boolean"},
        "dated": {"type": "date"},  # ``published`` of an article whose date the feed gave; absent when estimated
        "fetched": {"type": "date"},
        "revision": {"type": "long"},
        "indexed_ms": {"type": "long"},  # when the indexer wrote this revision (epoch ms): the live stream's order
    },
}


def template_name(alias: str) -> str:
    """The index template of ``alias``: ``newswire-articles`` for the default alias ``news``."""
    return TEMPLATE_NAME if alias == "news" else f"{TEMPLATE_NAME}-{alias}"


# --- query translation (pure functions, unit-tested) ------------------------------------------------------------

_WEIGHTED_FIELDS: Final = [f"tokens.{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]
_WEIGHTED_STEMS: Final = [f"stems.{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]


def translate(node: Node) -> dict[str, Any]:
    """The Elasticsearch query for a :mod:`newswire.query` tree: words by their stem (``stems.*``), quoted words,
    phrases and prefixes by the exact tokens (``tokens.*``)."""
    if isinstance(node, Term):
        if node.prefix:
            should = [
                {"prefix": {f"tokens.{name}": {"value": node.text, "boost": weight}}}
                for name, weight in FIELD_WEIGHTS.items()
            ]
            return {"bool": {"should": should, "minimum_should_match": 1}}
        if node.exact:
            return {"combined_fields": {"query": node.text, "fields": list(_WEIGHTED_FIELDS)}}
        return {"combined_fields": {"query": stems([node.text])[0], "fields": list(_WEIGHTED_STEMS)}}
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
    required: list[dict[str, Any]] = [{"term": {"entity_match": fold(name)}} for name in dict.fromkeys(query.entities)]
    required += [{"term": {"topic_match": topic_key(label)}} for label in dict.fromkeys(query.topics)]
    if query.sources:
        required.append({"terms": {"source_match": sorted({source_key(source) for source in query.sources})}})
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
    if query.storyline_id:
        required.append({"term": {"storyline": query.storyline_id}})
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
        # Newest first puts the articles whose date was estimated (their fetch time) after the dated ones.
        "sort": ["_score", *by_date] if by_relevance else [{"published_estimated": {"order": "asc"}}, *by_date],
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
    if query.histogram:  # of the dated articles: an estimated date is a fetch time, which would stretch it to today
        aggs["histogram"] = {
            "date_histogram": {
                "field": "dated",
                "calendar_interval": query.histogram,
                "time_zone": "UTC",
                "min_doc_count": 1,
            }
        }
    if aggs:
        request["aggs"] = aggs
    return request


def live_request(query: SearchQuery, after: LivePosition, limit: int) -> dict[str, Any]:
    """Keyword arguments of ``Elasticsearch.search`` for the articles matching ``query``'s text and filters written
    after ``after``, in the order of (``indexed_ms``, ``id``); documents written before the field existed do not
    match."""
    request = search_request(replace(query, size=limit, offset=0, facets=False, histogram=None, sort="date"))
    request["query"]["bool"].setdefault("filter", []).append({"range": {"indexed_ms": {"gte": after.mark}}})
    request["sort"] = [{"indexed_ms": {"order": "asc"}}, {"id": {"order": "asc"}}]
    request["search_after"] = [after.mark, after.article_id]
    request.pop("from_", None)
    request.pop("track_scores", None)
    return request


def epoch_ms_at_or_after(moment: datetime) -> int:
    """The first whole millisecond since the epoch at or after ``moment`` (naive means UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


def document(article: EnrichedArticle) -> dict[str, Any]:
    """The indexed document: the enriched message as on the wire, the filter keywords and the searched tokens."""
    source = article.model_dump(mode="json", by_alias=True)
    names: set[str] = set()
    named: set[str] = set()
    matched: set[str] = set()
    for entity in article.entities:
        names.add(entity.name)
        named.add(entity_key(entity.name, entity.label))
        matched.update(entity_keys(entity))
    labels = {topic.label for topic in article.topics}
    source["entity_names"] = sorted(names)
    source["topic_labels"] = sorted(labels)
    source["entity_keys"] = sorted(named)
    source["story"] = article.story_id or article.id
    source["storyline"] = article.storyline or source["story"]
    tokens = [tokenize(getattr(article, name)) for name in FIELD_WEIGHTS]
    source["tokens"] = {name: " ".join(words) for name, words in zip(FIELD_WEIGHTS, tokens, strict=True)}
    source["stems"] = {name: " ".join(stems(words)) for name, words in zip(FIELD_WEIGHTS, tokens, strict=True)}
    source["entity_match"] = sorted(matched)
    source["topic_match"] = sorted({topic_key(label) for label in labels})
    source["source_match"] = source_key(article.source)
    if not article.published_estimated:
        source["dated"] = source["published"]
    # One value's keys are distinct, and so are the values of a field, so the keys need no set around them.
    suggest_keys = [key for name in names for key in _suggest_keys("entity", name)]
    suggest_keys += [key for label in labels for key in _suggest_keys("topic", label)]
    suggest_keys += _suggest_keys("source", article.source)
    suggest_keys.sort()
    source["suggest_keys"] = suggest_keys
    return source


@lru_cache(maxsize=1 << 14)
def _suggest_keys(field: str, value: str) -> tuple[str, ...]:
    """The ``suggest_keys`` of one value of ``field`` (names repeat across articles, so they are kept)."""
    return tuple(SUGGEST_SEPARATOR.join((field, key, value)) for key in suggestion_keys(field, value))


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
        Bucket(EPOCH + timedelta(milliseconds=int(bucket["key"])), int(bucket["doc_count"]))
        for bucket in aggregations.get("histogram", {}).get("buckets", [])
        if bucket["doc_count"]
    )
    return SearchResult(
        total=int(response["hits"]["total"]["value"]), hits=tuple(hits), facets=facets, histogram=histogram
    )


def error_reason(error: Mapping[str, Any], limit: int = 300) -> str:
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


# --- suggestions (``/api/suggest``) ----------------------------------------------------------------------------


def suggest_candidates_request(field: str, prefix: str) -> dict[str, Any]:
    """The values of ``field`` with a suggestion key starting with the folded ``prefix`` (first of two requests)."""
    start = SUGGEST_SEPARATOR.join((field, prefix))
    pattern = "".join(char if char.isalnum() else "\\" + char for char in start) + ".*"
    return {
        "size": 0,
        "query": {"prefix": {"suggest_keys": start}},
        "aggs": {
            "candidates": {"terms": {"field": "suggest_keys", "include": pattern, "size": MAX_SUGGEST_CANDIDATES}}
        },
    }


def read_suggest_candidates(response: Mapping[str, Any]) -> list[str]:
    """The values named by the answer to :func:`suggest_candidates_request`, sorted."""
    buckets = response.get("aggregations", {}).get("candidates", {}).get("buckets", [])
    return sorted({str(bucket["key"]).split(SUGGEST_SEPARATOR, 2)[2] for bucket in buckets})


def suggest_counts_request(field: str, values: list[str], size: int) -> dict[str, Any]:
    """How many articles have each of ``values`` of ``field``: the ``size`` most, then by value."""
    order = [{"_count": "desc"}, {"_key": "asc"}]
    terms = {"field": SUGGEST_FIELDS[field], "include": values, "size": size, "order": order}
    return {"size": 0, "aggs": {"counts": {"terms": terms}}}


def read_suggest_counts(response: Mapping[str, Any]) -> tuple[FacetCount, ...]:
    buckets = response.get("aggregations", {}).get("counts", {}).get("buckets", [])
    return tuple(FacetCount(str(bucket["key"]), int(bucket["doc_count"])) for bucket in buckets if bucket["doc_count"])
