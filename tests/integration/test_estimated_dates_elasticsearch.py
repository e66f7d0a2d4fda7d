"""Estimated dates on a real Elasticsearch node, as in the embedded store (see ``tests/estimated_dates.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newswire.indexer.elasticsearch import ElasticsearchStore
from tests import estimated_dates

pytestmark = [pytest.mark.elasticsearch]


@pytest.fixture
def store(es_url: str, unique_name) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(es_url, alias=unique_name("news"))
    store.ensure_ready()
    yield store
    store.drop()
    store.close()


def test_estimated_dates_stay_out_of_the_histogram_the_newest_and_the_story_times(store):
    articles = estimated_dates.corpus()
    assert store.upsert(articles).rejected == ()
    store.refresh()
    estimated_dates.check(store, articles)
