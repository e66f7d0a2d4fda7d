"""The Elasticsearch search store against the real node: set-up, idempotent writes, revisions, poison, queries."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

import newswire.indexer.elasticsearch as es_store
from newswire.contract import Entity, Topic
from newswire.errors import InvalidQuery, SearchError, SearchUnavailable
from newswire.indexer.elasticsearch import LAYOUT, ElasticsearchStore
from newswire.search import SearchQuery
from tests.factories import article_factory, enriched_factory

pytestmark = pytest.mark.elasticsearch


def raw_client(url: str) -> Elasticsearch:
    """A plain client for looking at the node (asks an 8.x node for its own REST API, as the store does)."""
    return Elasticsearch(url)


def _drop(url: str, alias: str) -> None:
    store = ElasticsearchStore(url, alias=alias)
    try:
        store.drop()
    finally:
        store.close()


@pytest.fixture
def store(es_url: str, unique_name) -> Iterator[ElasticsearchStore]:
    alias = unique_name("news")
    store = ElasticsearchStore(es_url, alias=alias)
    store.ensure_ready()
    yield store
    store.close()
    _drop(es_url, alias)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2023, 6, day, hour, minute, tzinfo=UTC)


def person(name: str, label: str = "PERSON") -> Entity:
    return Entity(name=name, label=label, count=1, surface_forms=[name])


def news(title: str, *, summary="", content="", entities=(), topics=(), story_id=None, duplicate_of=None, **fields):
    raw = article_factory(title=title, summary=summary, content=content, **fields)
    topics = [Topic(label=label, score=0.9) for label in topics]
    return enriched_factory(raw, entities=list(entities), topics=topics, story_id=story_id, duplicate_of=duplicate_of)


def build_corpus():
    """Eight articles of the mutiny with known words, entities, sources and times (UTC)."""
    return {
        "turnback": news(
            "Wagner mutiny ends as Prigozhin turns back",
            summary="Prigozhin agrees to leave for Belarus.",
            content="Alexander Lukashenko brokered the deal that ended the march on Moscow.",
            entities=[person("Yevgeny Prigozhin"), person("Alexander Lukashenko"), person("Belarus", "GPE")],
            topics=["politics"],
            source="Harbour Post",
            published=at(24, 21),
            story_id="story-mutiny",
        ),
        "rostov": news(
            "Private military company seizes Rostov headquarters",
            summary="The private military company says it controls the city.",
            content="Fighters of the Wagner Group took positions in Rostov-on-Don on Saturday morning.",
            entities=[person("Wagner Group", "ORG"), person("Rostov-on-Don", "GPE")],
            topics=["conflict"],
            source="Steppe Herald",
            published=at(24, 7, 30),
            story_id="story-mutiny",
        ),
        "company": news(
            "Company news: a private deal for military suppliers",
            summary="Suppliers sign a private deal.",
            topics=["economy"],
            source="Harbour Post",
            published=at(24, 7, 45),
        ),
        "moscow": news(
            "Moscow braces for the column",
            content="Vladimir Putin addressed the nation and spoke of treason.",
            entities=[person("Vladimir Putin"), person("Moscow", "GPE")],
            topics=["politics"],
            source="Harbour Post",
            published=at(24, 10, 5),
        ),
        "generals": news(
            "Shoigu and Gerasimov stay silent",
            summary="No word from the defence minister or the chief of staff.",
            entities=[person("Sergei Shoigu"), person("Valery Gerasimov")],
            topics=["politics"],
            source="Steppe Herald",
            language="ru",
            published=at(25, 9),
        ),
        "football": news(
            "Football match in Rostov postponed",
            summary="The league moved the Rostov fixture.",
            entities=[person("Rostov-on-Don", "GPE")],
            topics=["sport"],
            source="Steppe Herald",
            published=at(25, 12),
        ),
        "mobilisation": news(
            "Mobilisation rumours denied",
            summary="Officials deny mobilization plans.",
            topics=["politics"],
            source="Harbour Post",
            published=at(26, 0),
        ),
        "syndicated": news(
            "Wagner mutiny ends as Prigozhin turns back",
            summary="Prigozhin agrees to leave for Belarus.",
            entities=[person("Yevgeny Prigozhin"), person("Belarus", "GPE")],
            topics=["politics"],
            source="Steppe Herald",
            published=at(24, 21, 20),
            story_id="story-mutiny",
            duplicate_of="see-turnback",
        ),
    }


@pytest.fixture(scope="module")
def corpus(es_url: str) -> Iterator[tuple[ElasticsearchStore, dict]]:
    alias = f"test-news-corpus-{uuid.uuid4().hex[:12]}"
    store = ElasticsearchStore(es_url, alias=alias)
    store.ensure_ready()
    articles = build_corpus()
    result = store.upsert(list(articles.values()))
    assert (result.written, result.rejected) == (len(articles), ())
    store.refresh()
    by_id = {article.id: name for name, article in articles.items()}
    by_id.update({name: article for name, article in articles.items()})  # and each article by its name
    yield store, by_id
    store.close()
    _drop(es_url, alias)


def names(corpus, **query) -> list[str]:
    store, by_id = corpus
    result = store.search(SearchQuery(size=50, **query))
    assert result.total == len(result.hits)
    return [by_id[hit.article.id] for hit in result.hits]


# --- set-up ------------------------------------------------------------------------------------------------------


def test_ensure_ready_twice_and_from_two_threads_makes_one_index_behind_the_alias(es_url, unique_name):
    alias = unique_name("news")
    stores = [ElasticsearchStore(es_url, alias=alias) for _ in range(2)]
    errors: list[BaseException] = []

    def start(store: ElasticsearchStore) -> None:
        try:
            store.ensure_ready()
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        stores[0].ensure_ready()
        client = raw_client(es_url)
        aliases = client.indices.get_alias(name=alias)
        assert dict(aliases) == {f"{alias}-v{LAYOUT}": {"aliases": {alias: {"is_write_index": True}}}}
        template = client.indices.get_index_template(name=stores[0].template)["index_templates"][0]
        assert template["index_template"]["index_patterns"] == [f"{alias}-v*"]
        client.close()
        assert stores[1].count() == 0
    finally:
        for store in stores:
            store.close()
        _drop(es_url, alias)


def test_ensure_ready_points_a_removed_alias_back_at_the_index(store, es_url):
    client = raw_client(es_url)
    client.indices.delete_alias(index=store.index, name=store.alias)
    store.ensure_ready()
    assert client.indices.exists_alias(name=store.alias)
    client.close()


# --- writes ------------------------------------------------------------------------------------------------------


def test_writing_the_same_articles_twice_keeps_one_copy_of_each(store):
    articles = [enriched_factory() for _ in range(5)]
    assert store.upsert(articles).written == 5
    assert store.upsert(articles).written == 5
    store.refresh()
    assert store.count() == 5
    result = store.search(SearchQuery(size=20))
    assert sorted(hit.article.id for hit in result.hits) == sorted(article.id for article in articles)
    assert store.get(articles[2].id) == articles[2]


def test_an_older_revision_never_replaces_a_newer_one(store):
    first = enriched_factory(article_factory(title="Prigozhin heads for Moscow"))
    second = first.model_copy(update={"title": "Prigozhin turns back before Moscow", "revision": 2})
    assert store.upsert([second]).written == 1
    stale = store.upsert([first])
    assert (stale.written, stale.rejected) == (0, ())
    assert store.get(first.id) == second
    again = store.upsert([second])  # a replay of the same revision is a harmless overwrite
    assert (again.written, again.rejected) == (1, ())
    store.refresh()
    assert store.count() == 1


def test_a_document_the_node_refuses_is_rejected_with_its_reason_and_the_rest_is_written(store):
    good = [enriched_factory() for _ in range(3)]
    # A link longer than the node can index as one keyword (32766 bytes): a hostile feed can send one.
    poison = enriched_factory(article_factory(url="https://harbourpost.example/" + "x" * 40_000))
    result = store.upsert([good[0], poison, good[1], good[2]])
    assert result.written == 3
    ((rejected_id, reason),) = result.rejected
    assert rejected_id == poison.id
    assert "immense term" in reason or "url" in reason
    store.refresh()
    assert store.count() == 3
    assert store.get(poison.id) is None


def test_a_revision_beyond_what_the_node_can_version_is_rejected(store):
    article = enriched_factory()
    huge = article.model_copy(update={"revision": 2**63})
    result = store.upsert([huge, enriched_factory()])
    assert result.written == 1
    assert [article_id for article_id, _ in result.rejected] == [article.id]


def test_writing_before_the_index_exists_fails_instead_of_creating_a_stray_index(es_url, unique_name):
    alias = unique_name("news")
    store = ElasticsearchStore(es_url, alias=alias)
    try:
        with pytest.raises(SearchError, match="does not exist"):
            store.upsert([enriched_factory()])
        client = raw_client(es_url)
        assert not client.indices.exists(index=alias)
        client.close()
    finally:
        store.close()


def test_an_unknown_article_is_none(store):
    assert store.get("0123456789abcdef") is None


# --- queries -----------------------------------------------------------------------------------------------------


def test_a_phrase_needs_the_words_together_while_words_do_not(corpus):
    assert names(corpus, text='"private military company"') == ["rostov"]
    assert sorted(names(corpus, text="private military company")) == ["company", "rostov"]


def test_a_hyphenated_place_is_a_phrase(corpus):
    assert names(corpus, text="Rostov-on-Don") == ["rostov"]


def test_or_matches_either_word(corpus):
    assert sorted(names(corpus, text="Lukashenko OR Putin")) == ["moscow", "turnback"]


def test_excluded_words_remove_articles(corpus):
    assert sorted(names(corpus, text="rostov")) == ["football", "rostov"]
    assert names(corpus, text="rostov -football") == ["rostov"]
    assert names(corpus, text="rostov NOT football") == ["rostov"]


def test_a_prefix_matches_every_word_starting_with_it(corpus):
    assert sorted(names(corpus, text="mobili*")) == ["mobilisation"]
    assert sorted(names(corpus, text="shoi* OR gera*")) == ["generals"]


def test_a_title_match_outranks_a_content_match(corpus):
    # "Moscow" is in the title of one article and in the content of another.
    assert names(corpus, text="moscow") == ["moscow", "turnback"]


def test_entity_filters_need_every_name(corpus):
    assert sorted(names(corpus, entities=("Yevgeny Prigozhin",))) == ["syndicated", "turnback"]
    assert names(corpus, entities=("Yevgeny Prigozhin", "Alexander Lukashenko")) == ["turnback"]
    assert sorted(names(corpus, entities=("yevgeny PRIGOZHIN",))) == ["syndicated", "turnback"]  # any case
    assert sorted(names(corpus, entities=("prigozhin",))) == ["syndicated", "turnback"]  # a person by surname


def test_topic_source_language_and_story_filters(corpus):
    assert sorted(names(corpus, topics=("sport",))) == ["football"]
    assert sorted(names(corpus, text="rostov", sources=("Steppe Herald",))) == ["football", "rostov"]
    assert sorted(names(corpus, sources=("Harbour Post", "Nowhere Daily"))) == [
        "company",
        "mobilisation",
        "moscow",
        "turnback",
    ]
    assert names(corpus, language="ru") == ["generals"]
    assert sorted(names(corpus, story_id="story-mutiny")) == ["rostov", "syndicated", "turnback"]


def test_the_date_range_includes_since_and_excludes_until(corpus):
    assert names(corpus, since=at(24, 21), until=at(26, 0)) == ["football", "generals", "syndicated", "turnback"]
    assert names(corpus, since=at(26, 0)) == ["mobilisation"]
    assert names(corpus, until=at(24, 7, 30)) == []


def test_collapsing_duplicates_hides_syndicated_copies(corpus):
    assert sorted(names(corpus, text="prigozhin")) == ["syndicated", "turnback"]
    assert names(corpus, text="prigozhin", collapse_duplicates=True) == ["turnback"]


def test_an_empty_query_lists_everything_newest_first(corpus):
    assert names(corpus) == [
        "mobilisation",
        "football",
        "generals",
        "syndicated",
        "turnback",
        "moscow",
        "company",
        "rostov",
    ]


def test_paging_returns_the_window_and_the_exact_total(corpus):
    store, by_id = corpus
    page = store.search(SearchQuery(size=3, offset=2))
    assert page.total == 8
    assert [by_id[hit.article.id] for hit in page.hits] == ["generals", "syndicated", "turnback"]


def test_facets_count_matching_articles_by_count_then_name(corpus):
    store, _ = corpus
    result = store.search(SearchQuery(text="", facets=True, facet_size=3))
    assert [(f.value, f.count) for f in result.facets["sources"]] == [("Harbour Post", 4), ("Steppe Herald", 4)]
    assert [(f.value, f.count) for f in result.facets["topics"]] == [("politics", 5), ("conflict", 1), ("economy", 1)]
    assert [(f.value, f.count) for f in result.facets["entities"]] == [
        ("Belarus", 2),
        ("Rostov-on-Don", 2),
        ("Yevgeny Prigozhin", 2),
    ]
    filtered = store.search(SearchQuery(text="rostov", facets=True))
    assert [(f.value, f.count) for f in filtered.facets["topics"]] == [("conflict", 1), ("sport", 1)]


def test_the_histogram_counts_articles_per_day_and_hour_leaving_out_empty_ones(corpus):
    store, _ = corpus
    by_day = store.search(SearchQuery(histogram="day", size=0)).histogram
    assert [(bucket.start, bucket.count) for bucket in by_day] == [(at(24, 0), 5), (at(25, 0), 2), (at(26, 0), 1)]
    by_hour = store.search(
        SearchQuery(text="politics OR rostov OR company", histogram="hour", since=at(24, 0), until=at(25, 0))
    )
    assert [(bucket.start, bucket.count) for bucket in by_hour.histogram] == [(at(24, 7), 2)]


def test_hits_carry_highlights_and_the_whole_article(corpus):
    store, by_id = corpus
    result = store.search(SearchQuery(text="Lukashenko"))
    (hit,) = result.hits
    assert hit.score > 0
    assert any("<em>Lukashenko</em>" in fragment for fragment in hit.highlights)
    assert hit.article == by_id["turnback"]


def test_a_query_that_does_not_parse_is_invalid(corpus):
    store, _ = corpus
    with pytest.raises(InvalidQuery, match="only excludes"):
        store.search(SearchQuery(text="-wagner"))


def test_a_query_the_node_refuses_is_invalid(corpus, monkeypatch):
    store, _ = corpus

    def refused(query):
        return {"query": {"match": {"title": {"query": "wagner", "fuzziness": "very"}}}}

    monkeypatch.setattr(es_store, "search_request", refused)
    with pytest.raises(InvalidQuery, match="refused the query"):
        store.search(SearchQuery(text="wagner"))


# --- the node is not there -------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_an_unreachable_node_is_unavailable_with_its_url_named():
    store = ElasticsearchStore("http://127.0.0.1:9", alias="news", request_timeout=2.0)
    try:
        with pytest.raises(SearchUnavailable, match=r"127\.0\.0\.1:9"):
            store.ensure_ready()
        with pytest.raises(SearchUnavailable, match=r"127\.0\.0\.1:9"):
            store.upsert([enriched_factory()])
        with pytest.raises(SearchUnavailable, match=r"127\.0\.0\.1:9"):
            store.search(SearchQuery(text="wagner"))
    finally:
        store.close()


@pytest.mark.parametrize(("seconds", "interval"), [(None, None), (0.5, "500ms")])
def test_the_created_index_refreshes_as_the_store_was_told(es_url, unique_name, seconds, interval):
    alias = unique_name("news")
    store = ElasticsearchStore(es_url, alias=alias, refresh_seconds=seconds)
    try:
        store.ensure_ready()
        settings = raw_client(es_url).indices.get_settings(index=store.index).body[store.index]["settings"]["index"]
        assert settings.get("refresh_interval") == interval
    finally:
        store.close()
        _drop(es_url, alias)
