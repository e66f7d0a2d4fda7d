"""Stories in Elasticsearch: the requests behind :meth:`ElasticsearchStore.stories`, and how to read their answers.

Every document carries ``story`` (its event: ``story_id``, or its own id when it has none), ``storyline`` (its
``storyline_id``, else its event) and ``entity_keys`` (name and label of each entity as one keyword, see
:func:`newswire.search.entity_key`). A listing groups by the field of its level (:data:`LEVEL_FIELDS`) and takes up
to three steps:

1. the keys of the stories with a matching article: a ``composite`` aggregation on ``story`` over the matching
   documents, paged by ``after`` (skipped when the query matches everything). At most
   :data:`MAX_MATCHING_STORIES` (the node's ``index.max_terms_count``, which bounds the ``terms`` filter of the next
   steps); more is an :class:`~newswire.errors.InvalidQuery` asking for a narrower query;
2. the order: a ``terms`` aggregation on ``story`` over *all* articles of those stories, ordered by the newest
   article (a ``max`` sub-aggregation) or by size, ``offset + size`` buckets, of which the page is cut here: the
   ``bucket_sort`` pipeline aggregation would page in the node, but it lives in the ``aggregations`` module, which
   the ``integ-test-zip`` node lacks. ``total`` is the number of keys of step 1, or without a condition a
   ``cardinality`` aggregation (exact up to about 40,000 stories, its precision threshold);
3. the page's summaries: per story ``min``/``max`` of ``published``, ``cardinality`` of ``source``, a ``filter``
   counting copies, ``terms`` on ``entity_keys`` (5, most articles first, then by key) and ``top_hits`` for the
   earliest article; the hits, through a ``post_filter`` on ``id``, are the stories' first articles, whose titles
   name the stories when they are in the index.

The index has one shard (see the template), so the ``terms`` counts and orders are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from newswire.indexer.elasticsearch.translation import EPOCH, filters, translate
from newswire.query import parse_query
from newswire.search import MAX_TOP_ENTITIES, StoryQuery, StorySummary, split_entity_key, top_entities

MAX_MATCHING_STORIES: Final = 65_536
KEYS_PAGE: Final = 10_000
SOURCES_PRECISION: Final = 3000
TOTAL_PRECISION: Final = 40_000  # the largest the node takes
# The earliest dated article first (one whose date was estimated only when all were).
_BY_DATE: Final = [{"published_estimated": {"order": "asc"}}, {"published": {"order": "asc"}}, {"id": {"order": "asc"}}]
LEVEL_FIELDS: Final = {"event": "story", "storyline": "storyline"}


def keys_request(query: StoryQuery, after: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Step 1: one page of the keys of the stories with an article matching ``query``."""
    node = parse_query(query.text)
    required, _ = filters(query.article_filter())
    if node is not None:
        required.insert(0, translate(node))  # filter context: which articles match, not how well
    field = LEVEL_FIELDS[query.level]
    if query.story_id is not None:
        required.append({"term": {field: query.story_id}})
    composite: dict[str, Any] = {"size": KEYS_PAGE, "sources": [{"story": {"terms": {"field": field}}}]}
    if after is not None:
        composite["after"] = dict(after)
    return {
        "query": {"bool": {"filter": required}},
        "size": 0,
        "track_total_hits": False,
        "aggs": {"keys": {"composite": composite}},
    }


def read_keys(response: Mapping[str, Any]) -> tuple[list[str], Mapping[str, Any] | None]:
    """The keys of one page of step 1, and the ``after`` of the next page (None after the last)."""
    keys = response["aggregations"]["keys"]
    stories = [str(bucket["key"]["story"]) for bucket in keys["buckets"]]
    return stories, keys.get("after_key") if len(stories) == KEYS_PAGE else None


def order_request(query: StoryQuery, keys: list[str] | None) -> dict[str, Any]:
    """Step 2: the first ``offset + size`` stories among ``keys`` (None: every story), in the order asked for."""
    field = LEVEL_FIELDS[query.level]
    latest: list[dict[str, str]] = [{"last": "desc"}, {"_key": "asc"}]
    order = latest if query.sort == "latest" else [{"_count": "desc"}, *latest]
    aggs: dict[str, Any] = {
        "stories": {
            "terms": {"field": field, "size": query.offset + query.size, "order": order},
            # A story's latest time is its newest dated article's; a story of estimated dates only has none and
            # comes after the others.
            "aggs": {"last": {"max": {"field": "dated"}}},
        }
    }
    if keys is None:
        aggs["total"] = {"cardinality": {"field": field, "precision_threshold": TOTAL_PRECISION}}
    return {
        "query": {"match_all": {}} if keys is None else {"bool": {"filter": [{"terms": {field: keys}}]}},
        "size": 0,
        "track_total_hits": False,
        "aggs": aggs,
    }


def read_order(response: Mapping[str, Any], query: StoryQuery) -> tuple[int | None, list[str]]:
    """The cardinality total of step 2 (None when it was not asked for) and the keys of the page, in order."""
    aggregations = response["aggregations"]
    buckets = aggregations["stories"]["buckets"][query.offset :]
    total = int(aggregations["total"]["value"]) if "total" in aggregations else None
    return total, [str(bucket["key"]) for bucket in buckets]


def details_request(page: list[str], level: str = "event") -> dict[str, Any]:
    """Step 3: the summaries of the stories of ``level`` in ``page``."""
    field = LEVEL_FIELDS[level]
    return {
        "query": {"bool": {"filter": [{"terms": {field: page}}]}},
        "size": 0,
        "track_total_hits": False,
        "aggs": {
            "stories": {
                "terms": {"field": field, "size": len(page)},
                "aggs": {
                    "events": {"cardinality": {"field": "story", "precision_threshold": SOURCES_PRECISION}},
                    "first": {"min": {"field": "published"}},
                    "last": {"max": {"field": "published"}},
                    "first_dated": {"min": {"field": "dated"}},
                    "last_dated": {"max": {"field": "dated"}},
                    "sources": {"cardinality": {"field": "source", "precision_threshold": SOURCES_PRECISION}},
                    "copies": {"filter": {"exists": {"field": "duplicate_of"}}},
                    "entities": {
                        "terms": {
                            "field": "entity_keys",
                            "size": MAX_TOP_ENTITIES,
                            "order": [{"_count": "desc"}, {"_key": "asc"}],
                        }
                    },
                    "earliest": {"top_hits": {"size": 1, "sort": _BY_DATE, "_source": {"includes": ["title"]}}},
                },
            }
        },
    }


def read_summaries(response: Mapping[str, Any], page: list[str], level: str = "event") -> tuple[StorySummary, ...]:
    """The summaries of step 3, in the order of ``page``."""
    summaries: dict[str, StorySummary] = {}
    for bucket in response["aggregations"]["stories"]["buckets"]:
        story = str(bucket["key"])
        entities: dict[tuple[str, str], int] = {}
        for entity in bucket["entities"]["buckets"]:
            entities[split_entity_key(str(entity["key"]))] = int(entity["doc_count"])
        earliest = bucket["earliest"]["hits"]["hits"][0]["_source"]["title"]
        dated = bucket["first_dated"]["value"] is not None  # else every date of the story was estimated
        first, last = (bucket["first_dated"], bucket["last_dated"]) if dated else (bucket["first"], bucket["last"])
        summaries[story] = StorySummary(
            story_id=story,
            title=str(earliest),
            size=int(bucket["doc_count"]),
            copies=int(bucket["copies"]["doc_count"]),
            first_published=EPOCH + timedelta(milliseconds=int(first["value"])),
            last_published=EPOCH + timedelta(milliseconds=int(last["value"])),
            sources=int(bucket["sources"]["value"]),
            top_entities=top_entities(entities),
            events=int(bucket["events"]["value"]),
            level="storyline" if level == "storyline" else "event",
        )
    return tuple(summaries[story] for story in page if story in summaries)


# Storyline merges (see newswire.processors.storylines, "Merges"). The store applies a merge in two parts: a small
# index beside the articles' (``<alias>-storyline-merges``: one document per id merged away, ``{"into": ...}``,
# chains collapsed) that resolves an old id and moves an article written later with it; and a rewrite of every
# stored article of the storylines merged into the survivor's ``storyline`` (read back from ``_source`` and written
# again at its own revision). Not an ``update_by_query`` with a script: the ``integ-test-zip`` node has no Painless.
MERGES_MAPPINGS: Final = {"dynamic": "strict", "properties": {"into": {"type": "keyword"}}}
MERGE_PAGE: Final = 1000


def merges_index(alias: str) -> str:
    """The index of the storyline merges of the articles behind ``alias`` (outside the template's ``alias-v*``)."""
    return f"{alias}-storyline-merges"


def merged_articles_request(merged: list[str], after: list[Any] | None = None) -> dict[str, Any]:
    """One page of the articles stored in the storylines ``merged``, in id order."""
    request: dict[str, Any] = {
        "query": {"bool": {"filter": [{"terms": {"storyline": merged}}]}},
        "size": MERGE_PAGE,
        "sort": [{"id": {"order": "asc"}}],
        "track_total_hits": False,
    }
    if after is not None:
        request["search_after"] = after
    return request
