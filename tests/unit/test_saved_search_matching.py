"""Saved searches match a new article exactly when a search with the same text and filters finds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from newswire.alerts import SavedSearch, SavedSearchIndex, SavedSearchMatcher
from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery
from tests.data.parity_corpus import parity_corpus
from tests.data.parity_queries import PARITY_QUERIES

# The parity queries that a saved search can hold: text and article filters (no story or date, which a saved
# search does not have: it is about what comes next).
SAVEABLE = {
    name: query
    for name, query in PARITY_QUERIES.items()
    if query.since is None
    and query.until is None
    and query.story_id is None
    and query.storyline_id is None
    and (query.text.strip() or query.entities or query.topics or query.sources or query.language)
}


@pytest.fixture(scope="module")
def corpus() -> list[EnrichedArticle]:
    return parity_corpus()


@pytest.fixture(scope="module")
def store(corpus: list[EnrichedArticle], tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("matching")) / "search.sqlite3")
    store.ensure_ready()
    store.upsert(corpus)
    return store


def _saved(query: SearchQuery, name: str = "s") -> SavedSearch:
    return SavedSearch(
        name=name,
        text=query.text,
        entities=query.entities,
        topics=query.topics,
        sources=query.sources,
        language=query.language,
    )


def _found(store: EmbeddedStore, saved: SavedSearch) -> set[str]:
    query = SearchQuery(**saved.article_filter().article_filter_fields(), size=1000, highlight=False)
    return {hit.article.id for hit in store.search(query).hits}


def test_the_parity_queries_include_words_phrases_prefixes_operators_and_filters():
    texts = " ".join(query.text for query in SAVEABLE.values())
    assert all(part in texts for part in ('"', "*", " OR ", " -", "NOT", "("))
    assert any(query.entities for query in SAVEABLE.values()) and any(query.topics for query in SAVEABLE.values())
    assert any(query.sources for query in SAVEABLE.values()) and any(query.language for query in SAVEABLE.values())


@pytest.mark.parametrize("name", list(SAVEABLE))
def test_a_saved_search_matches_the_articles_its_search_finds(store, corpus, name):
    saved = _saved(SAVEABLE[name])
    matcher = SavedSearchMatcher(saved)
    matched = {article.id for article in corpus if matcher.matches(article)}
    assert matched == _found(store, saved)
    assert matched or name.startswith("no "), "a parity query that finds nothing checks nothing"


def test_the_index_finds_for_each_article_exactly_the_searches_that_match_it(corpus):
    searches = [_saved(query, name) for name, query in SAVEABLE.items()]
    index = SavedSearchIndex(searches)
    matchers = [SavedSearchMatcher(saved) for saved in searches]
    for article in corpus:
        expected = {matcher.saved.id for matcher in matchers if matcher.matches(article)}
        assert {saved.id for saved in index.matching(article)} == expected


_WORDS = ["wagner", "mutiny", "mutineers", "moscow", "rostov", "putin", "rates", "rain", "deal", "prigozhin"]
_TERM = (
    st.sampled_from(_WORDS)
    | st.sampled_from(_WORDS).map(lambda w: f'"{w}"')
    | st.sampled_from(["mut*", "ros*", "pri*", "ra*"])
)


@st.composite
def _queries(draw: st.DrawFn) -> str:
    parts = draw(st.lists(_TERM, min_size=1, max_size=3))
    joiner = draw(st.sampled_from([" ", " OR ", " AND "]))
    text = joiner.join(parts)
    if draw(st.booleans()):
        text = f"({text}) -{draw(st.sampled_from(_WORDS))}"
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_queries())
def test_generated_queries_match_as_the_store_finds(store, corpus, text):
    saved = SavedSearch(name="generated", text=text)
    matcher = SavedSearchMatcher(saved)
    assert {article.id for article in corpus if matcher.matches(article)} == _found(store, saved)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "needs query text or at least one filter"),
        ({"text": "wagner", "id": "Not An Id"}, "saved search id"),
        ({"text": "wagner", "kind": "weekly"}, "kind"),
        ({"text": "wagner", "min_articles": 1}, "min_articles"),
        ({"text": "wagner", "name": ""}, "name"),
    ],
)
def test_a_saved_search_it_cannot_hold_is_refused_with_the_reason(fields, message):
    with pytest.raises(ValidationError, match=message):
        SavedSearch(**{"name": "x", **fields})


def test_a_saved_search_with_a_broken_query_says_where():
    with pytest.raises(InvalidQuery, match="quote"):
        SavedSearch(name="x", text='"unclosed')
