"""The live stream's reads on the real Elasticsearch node: positions in write order, filters as search, look-back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from newswire.app.api import create_app
from newswire.contract import EnrichedArticle
from newswire.indexer.elasticsearch import ElasticsearchStore
from newswire.live import LiveFeed
from newswire.search import LivePosition, SearchQuery
from tests.factories import article_factory, enriched_factory

pytestmark = pytest.mark.elasticsearch


@pytest.fixture
def store(es_url: str, unique_name) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(es_url, alias=unique_name("news"))
    store.ensure_ready()
    yield store
    store.drop()
    store.close()


def _article(title: str) -> EnrichedArticle:
    return enriched_factory(article_factory(title=title))


def _titles(found) -> list[str]:
    return [hit.article.title for _, hit in found]


def test_the_feed_sends_what_is_written_after_it_starts_once_each_matching_as_search(store):
    store.upsert([_article("Wagner column leaves Rostov-on-Don")])
    store.refresh()
    feed = LiveFeed(store, SearchQuery(text="mutineers"))
    assert feed.poll() == []
    store.upsert([_article("Mutineers reach Voronezh region"), _article("Central bank holds rates")])
    store.upsert([_article("Mutineer convoy turns back")])
    store.refresh()
    first = feed.poll()
    assert _titles(first) == ["Mutineers reach Voronezh region", "Mutineer convoy turns back"]
    assert first[0][0] < first[1][0]
    assert feed.poll() == []  # the look-back reads them again and leaves them out
    resumed = LiveFeed(store, SearchQuery(text="mutineers"), after=first[0][0])
    assert _titles(resumed.poll()) == ["Mutineer convoy turns back"]


def test_a_new_revision_is_news_again(store):
    story = _article("Prigozhin agrees to leave for Belarus")
    store.upsert([story])
    store.refresh()
    feed = LiveFeed(store, SearchQuery(entities=("Yevgeny Prigozhin",)))
    store.upsert([story.model_copy(update={"revision": 2, "title": "Prigozhin leaves for Belarus"})])
    store.refresh()
    assert _titles(feed.poll()) == ["Prigozhin leaves for Belarus"]
    assert store.live_position().article_id == story.id


def test_the_http_stream_on_elasticsearch(store, es_url):
    app = create_app(lambda: ElasticsearchStore(es_url, alias=store.alias))
    store.upsert([_article("Wagner talks in Minsk")])
    store.refresh()
    with TestClient(app, base_url="http://localhost") as client:
        position = store.live_position()
        store.upsert([_article("Wagner fighters head for Belarus")])
        store.refresh()
        response = client.get("/api/live", params={"q": "wagner", "seconds": "2", "after": position.encode()})
    assert response.status_code == 200
    assert response.text.count("event: article") == 1 and "Wagner fighters head for Belarus" in response.text
    ids = [line.removeprefix("id: ") for line in response.text.splitlines() if line.startswith("id: ")]
    assert LivePosition.decode(ids[0]) > position
