"""Storyline merges in the embedded store: either old id keeps finding the merged storyline."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.contract import EnrichedArticle, decode_enriched, encode_enriched
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, SearchStore, read_story, story_articles, with_current_storyline
from tests.story_model import make


def merged_storylines() -> list[EnrichedArticle]:
    """Two storylines opened apart (the mutiny, the Western reaction), then an event that merges the second into
    the first, then a late article still written with the merged id (a replica that had not seen the merge)."""
    mutiny = make("Wagner seizes Rostov headquarters", hours=0, story_id="e1")
    mutiny = mutiny.grouped("e1", "line-mutiny", None)
    reaction = make("Biden speaks to allies about Russia", hours=1, story_id="e2").grouped("e2", "line-west", None)
    markets = make("Rouble slides after weekend revolt", hours=30, story_id="e3")
    markets = markets.grouped("e3", "line-mutiny", None, ["line-west"])
    late = make("Zelensky says mutiny shows weakness", hours=31, story_id="e2").grouped("e2", "line-west", None)
    return [mutiny, reaction, markets, late]


def check_merged(store: SearchStore, articles: list[EnrichedArticle]) -> None:
    ids = sorted(article.id for article in articles)
    for old_id in ("line-mutiny", "line-west"):
        found = read_story(store, old_id, level="storyline")
        assert found is not None, old_id
        summary, total, listed = found
        assert summary.story_id == "line-mutiny"
        assert total == 4
        assert sorted(article.id for article in listed) == ids
        assert {article.storyline for article in listed} == {"line-mutiny"}
        assert story_articles(store, old_id, level="storyline")[0] == 4
    assert store.resolve_storyline("line-west") == "line-mutiny"
    assert store.resolve_storyline("line-other") == "line-other"


@pytest.mark.parametrize("order", ["in order", "merge first"])
def test_embedded_store_applies_a_storyline_merge(tmp_path: Path, order: str):
    articles = merged_storylines()
    if order == "merge first":  # a replay into a fresh store may bring the notice before older articles
        articles = [articles[2], articles[0], articles[1], articles[3]]
    store = EmbeddedStore(tmp_path / "search.db")
    try:
        store.ensure_ready()
        for article in articles:
            assert store.upsert([article]).written == 1
        check_merged(store, articles)
        assert store.get(articles[1].id).storyline_id == "line-mutiny"  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_merge_notice_travels_on_the_enriched_topic():
    notice = merged_storylines()[2]
    assert decode_enriched(encode_enriched(notice)).merged_storylines == ["line-west"]
    assert decode_enriched(encode_enriched(merged_storylines()[0])).merged_storylines == []


def test_a_search_and_the_api_by_a_merged_storyline_id_find_the_storyline_it_is_part_of(tmp_path: Path):
    articles = merged_storylines()
    store = EmbeddedStore(tmp_path / "search.db")
    store.ensure_ready()
    store.upsert(articles)
    old = SearchQuery(storyline_id="line-west", size=10)
    assert store.search(old).total == 0  # the old id itself is no storyline's any more
    assert store.search(with_current_storyline(store, old)).total == 4
    with TestClient(create_app(lambda: EmbeddedStore(store.path)), base_url="http://localhost") as client:
        assert client.get("/api/search", params={"storyline": "line-west"}).json()["total"] == 4
    store.close()
