"""How a search becomes an Elasticsearch request, and how a response becomes a SearchResult (no node needed)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery, SearchError
from newswire.indexer.elasticsearch import (
    Highlighter,
    document,
    epoch_ms_at_or_after,
    read_result,
    search_request,
    template_name,
    translate,
)
from newswire.query import parse_query, tokenize
from newswire.search import SearchQuery
from tests.factories import article_factory, enriched_factory

WEIGHTED = ["tokens.title^3", "tokens.summary^2", "tokens.content^1"]
STEMS = ["stems.title^3", "stems.summary^2", "stems.content^1"]


def query_of(text: str) -> dict[str, Any]:
    node = parse_query(text)
    assert node is not None
    return translate(node)


def test_a_word_is_one_weighted_query_of_its_stem_over_title_summary_and_content():
    assert query_of("Prigozhin") == {"combined_fields": {"query": "prigozhin", "fields": STEMS}}
    assert query_of("mutineers") == {"combined_fields": {"query": "mutin", "fields": STEMS}}
    assert query_of("marching") == {"combined_fields": {"query": "march", "fields": STEMS}}


def test_a_quoted_word_is_the_exact_word():
    assert query_of('"mutineers"') == {"combined_fields": {"query": "mutineers", "fields": WEIGHTED}}


def test_a_prefix_matches_the_three_fields_with_their_weights():
    assert query_of("mobil*") == {
        "bool": {
            "should": [
                {"prefix": {"tokens.title": {"value": "mobil", "boost": 3.0}}},
                {"prefix": {"tokens.summary": {"value": "mobil", "boost": 2.0}}},
                {"prefix": {"tokens.content": {"value": "mobil", "boost": 1.0}}},
            ],
            "minimum_should_match": 1,
        }
    }


def test_a_quoted_phrase_and_a_hyphenated_word_are_phrase_queries():
    expected = {"multi_match": {"query": "rostov on don", "type": "phrase", "fields": WEIGHTED}}
    assert query_of('"Rostov on Don"') == expected
    assert query_of("Rostov-on-Don") == expected


def test_words_must_all_match_and_excluded_words_must_not():
    assert query_of("wagner mutiny -sport") == {
        "bool": {
            "must": [
                {"combined_fields": {"query": "wagner", "fields": STEMS}},
                {"combined_fields": {"query": "mutini", "fields": STEMS}},
            ],
            "must_not": [{"combined_fields": {"query": "sport", "fields": STEMS}}],
        }
    }


def test_or_needs_one_of_its_parts():
    assert query_of("(putin OR kremlin) rostov") == {
        "bool": {
            "must": [
                {
                    "bool": {
                        "should": [
                            {"combined_fields": {"query": "putin", "fields": STEMS}},
                            {"combined_fields": {"query": "kremlin", "fields": STEMS}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
                {"combined_fields": {"query": "rostov", "fields": STEMS}},
            ]
        }
    }


# Dated articles newest first, then those whose date was estimated (their fetch time).
NEWEST_FIRST = [{"published_estimated": {"order": "asc"}}, {"published": {"order": "desc"}}, {"id": {"order": "asc"}}]


def test_an_empty_query_matches_everything_newest_first_without_highlights():
    request = search_request(SearchQuery(text="", sort="relevance"))
    assert request["query"] == {"bool": {"must": [{"match_all": {}}]}}
    assert request["sort"] == NEWEST_FIRST
    assert "highlight" not in request
    assert request["track_total_hits"] is True


def test_relevance_sorts_by_score_then_date_then_id():
    request = search_request(SearchQuery(text="wagner"))
    assert request["sort"] == ["_score", {"published": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert "track_scores" not in request


def test_date_sort_with_words_still_reports_scores():
    request = search_request(SearchQuery(text="wagner", sort="date"))
    assert request["sort"] == NEWEST_FIRST
    assert request["track_scores"] is True


def test_paging_asks_for_the_window():
    request = search_request(SearchQuery(text="wagner", size=20, offset=40))
    assert (request["from_"], request["size"]) == (40, 20)


def test_every_filter_is_in_filter_context_entities_topics_and_sources_by_folded_key():
    query = SearchQuery(
        text="mutiny",
        entities=("Yevgeny Prigozhin", "SHOIGU"),
        topics=("Politics", "Conflict, war and peace"),
        sources=("Harbour Post", "steppe  herald"),
        language="en",
        since=datetime(2023, 6, 23, tzinfo=UTC),
        until=datetime(2023, 6, 25, 12, 30, tzinfo=UTC),
        story_id="story-7",
        collapse_duplicates=True,
    )
    clauses = search_request(query)["query"]["bool"]
    assert clauses["filter"] == [
        {"term": {"entity_match": "yevgeny prigozhin"}},
        {"term": {"entity_match": "shoigu"}},
        {"term": {"topic_match": "politics"}},
        {"term": {"topic_match": "conflict_war_peace"}},
        {"terms": {"source_match": ["harbour post", "steppe herald"]}},
        {"term": {"language": "en"}},
        {"range": {"published": {"format": "epoch_millis", "gte": 1687478400000, "lt": 1687696200000}}},
        {"term": {"story_id": "story-7"}},
    ]
    assert clauses["must_not"] == [{"exists": {"field": "duplicate_of"}}]


def test_a_one_sided_range_has_one_bound():
    clauses = search_request(SearchQuery(until=datetime(2023, 6, 24, tzinfo=UTC)))["query"]["bool"]
    assert clauses["filter"] == [{"range": {"published": {"format": "epoch_millis", "lt": 1687564800000}}}]


def test_range_bounds_round_up_to_the_next_millisecond_like_the_published_times():
    assert epoch_ms_at_or_after(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1
    assert epoch_ms_at_or_after(datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)) == 1
    assert epoch_ms_at_or_after(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == 0
    assert epoch_ms_at_or_after(datetime(2023, 6, 24)) == 1687564800000  # naive is UTC


def test_facets_count_by_count_then_name_and_the_histogram_keeps_only_filled_buckets():
    request = search_request(SearchQuery(text="wagner", facets=True, facet_size=5, histogram="hour"))
    order = [{"_count": "desc"}, {"_key": "asc"}]
    assert request["aggs"] == {
        "entities": {"terms": {"field": "entity_names", "size": 5, "order": order}},
        "topics": {"terms": {"field": "topic_labels", "size": 5, "order": order}},
        "sources": {"terms": {"field": "source", "size": 5, "order": order}},
        "histogram": {
            "date_histogram": {
                "field": "dated",  # the dated articles only
                "calendar_interval": "hour",
                "time_zone": "UTC",
                "min_doc_count": 1,
            }
        },
    }


def test_highlights_are_cut_locally_so_the_node_is_not_asked_for_them():
    assert "highlight" not in search_request(SearchQuery(text="wagner"))


def test_an_unparsable_query_is_invalid_before_anything_is_sent():
    with pytest.raises(InvalidQuery, match="OR needs something"):
        search_request(SearchQuery(text="(wagner OR"))


def test_the_default_alias_keeps_the_shared_template_name_and_others_get_their_own():
    assert template_name("news") == "newswire-articles"
    assert template_name("news-staging") == "newswire-articles-news-staging"


def test_a_document_is_the_wire_message_plus_the_filter_keywords():
    article = enriched_factory()
    indexed = document(article)
    assert indexed["schema"] == "newswire.enriched/2"
    assert indexed["entity_names"] == ["Rostov-on-Don", "Wagner Group", "Yevgeny Prigozhin"]
    assert indexed["topic_labels"] == ["conflict_war_peace", "politics"]
    assert EnrichedArticle.model_validate(indexed) == article


def test_the_searched_tokens_are_exactly_the_query_languages_tokens():
    article = enriched_factory(
        article_factory(title="Prigozhin's men leave Rostov-on-Don", summary="Ça va, Kämpfer? 3.5 km", content="")
    )
    tokens = document(article)["tokens"]
    assert tokens == {
        "title": "prigozhin s men leave rostov on don",
        "summary": "ça va kämpfer 3 5 km",
        "content": "",
    }


@given(st.text(max_size=200))
def test_any_text_indexes_as_its_tokens_joined_by_single_spaces(text):
    tokens = document(enriched_factory(article_factory(title=text)))["tokens"]["title"]
    assert tokens.split(" ") == (tokenize(text) or [""])
    assert tokens == tokens.lower()


def test_a_response_becomes_hits_facets_and_buckets_in_order():
    article = enriched_factory()
    response = {
        "hits": {
            "total": {"value": 42, "relation": "eq"},
            "hits": [
                {
                    "_id": article.id,
                    "_score": 7.5,
                    "_source": article.model_dump(mode="json", by_alias=True),
                }
            ],
        },
        "aggregations": {
            "entities": {"buckets": [{"key": "Wagner Group", "doc_count": 40}]},
            "topics": {"buckets": []},
            "sources": {"buckets": [{"key": "Harbour Post", "doc_count": 42}]},
            "histogram": {
                "buckets": [{"key_as_string": "2023-06-24T06:00:00.000Z", "key": 1687586400000, "doc_count": 42}]
            },
        },
    }
    result = read_result(response, Highlighter(parse_query("wagner")))
    assert result.total == 42
    (hit,) = result.hits
    assert hit.article == article
    assert hit.score == 7.5
    assert hit.highlights[0].startswith("<em>Wagner</em> fighters hold")  # the title first
    assert len(hit.highlights) == 2 and "<em>Wagner</em> Group" in hit.highlights[1]
    assert read_result(response).hits[0].highlights == ()
    assert [(f.value, f.count) for f in result.facets["entities"]] == [("Wagner Group", 40)]
    assert result.facets["topics"] == ()
    assert [(b.start, b.count) for b in result.histogram] == [(datetime(2023, 6, 24, 6, tzinfo=UTC), 42)]


def test_a_hit_without_a_score_scores_zero():
    article = enriched_factory()
    response = {
        "hits": {"total": {"value": 1}, "hits": [{"_id": article.id, "_score": None, "_source": document(article)}]}
    }
    assert read_result(response).hits[0].score == 0.0


_LEAF_KEYS = {"combined_fields", "multi_match", "prefix"}


def _leaf_texts(query: Any) -> list[str]:
    """Every text a translated query searches for."""
    if isinstance(query, list):
        return [text for part in query for text in _leaf_texts(part)]
    if not isinstance(query, dict):
        return []
    texts = []
    for key, value in query.items():
        if key in ("combined_fields", "multi_match"):
            texts.append(value["query"])
        elif key == "prefix":
            texts.extend(spec["value"] for spec in value.values())
        else:
            texts.extend(_leaf_texts(value))
    return texts


@given(st.text(alphabet=st.sampled_from(list("ab wW()\"*-ORNTAD\u00e9\u0436_.'")), max_size=60))
def test_any_query_text_is_invalid_or_becomes_plain_tokens(text):
    """Operators and punctuation never reach the node as query syntax: only lower-cased word tokens do."""
    try:
        request = search_request(SearchQuery(text=text))
    except InvalidQuery:
        return
    json.dumps(request)  # the client sends it as JSON
    for leaf in _leaf_texts(request["query"]):
        assert re.fullmatch(r"\w+( \w+)*", leaf), leaf
        assert leaf == leaf.lower()


def test_a_stored_document_that_is_not_an_article_is_a_search_error():
    response = {"hits": {"total": {"value": 1}, "hits": [{"_id": "x1", "_score": 1.0, "_source": {"title": "stray"}}]}}
    with pytest.raises(SearchError, match="x1 is not an enriched article"):
        read_result(response)
