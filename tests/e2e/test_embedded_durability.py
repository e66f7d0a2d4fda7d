"""The embedded pipeline survives kill -9 in the middle of a burst: every article searchable exactly once.

500 articles arrive at once from five feeds; `newswire run` is killed with SIGKILL while it is indexing them, then
started again. Afterwards every article is in the search store once, and the raw topic of the embedded bus holds each
article once: the restart re-published nothing as new.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from newswire.app.demo import FeedServer
from newswire.bus.embedded import EmbeddedBus
from newswire.contract import article_id, decode_raw
from newswire.errors import SearchUnavailable
from newswire.indexer.embedded import EmbeddedStore
from tests.e2e.conftest import NEWSWIRE, base_env, run_newswire, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ARTICLES = 500
FEEDS = 5
PEOPLE = ["Yevgeny Prigozhin", "Vladimir Putin", "Sergei Shoigu", "Valery Gerasimov", "Alexander Lukashenko"]
PLACES = ["Rostov-on-Don", "Moscow", "Voronezh", "Lipetsk", "Minsk"]


def _write_burst(folder) -> list[str]:
    start = datetime(2023, 6, 24, 5, 0, tzinfo=UTC)
    urls = []
    for feed in range(FEEDS):
        items = []
        for n in range(feed, ARTICLES, FEEDS):
            url = f"https://burst.example/{feed}/{n}"
            urls.append(url)
            person, place = PEOPLE[n % 5], PLACES[(n // 5) % 5]
            text = (
                f"{person} spoke about the situation in {place} on Saturday, report number {n}. "
                f"Officials in {place} said the Wagner Group convoy had passed through overnight. "
                f"{person.split()[-1]} did not take questions."
            )
            items.append(
                f"<item><title>Update {n}: {escape(person)} on {escape(place)}</title><link>{url}</link>"
                f"<guid>{url}</guid><pubDate>{format_datetime(start + timedelta(minutes=n))}</pubDate>"
                f"<description>{escape(text)}</description></item>"
            )
        (folder / f"burst-{feed}.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Burst '
            f"{feed}</title><link>https://burst.example/</link><description>burst</description>"
            + "".join(items)
            + "</channel></rss>",
            encoding="utf-8",
        )
    return urls


def test_kill_9_mid_burst_loses_nothing_and_duplicates_nothing(tmp_path, services):
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    urls = _write_burst(feeds)
    data = tmp_path / "data"
    with FeedServer(feeds) as server:
        env = base_env(
            data_dir=str(data),
            feeds=",".join(server.feed_urls()),
            allow_private_addresses="true",
            poll_interval="3600",
            batch_size="16",
        )
        first = services("run-1", [NEWSWIRE, "run"], env)
        store_file = data / "search.sqlite3"

        def some_indexed() -> bool:
            assert first.alive(), first.log()[-3000:]
            if not store_file.exists():
                return False
            store = EmbeddedStore(store_file)
            try:
                return store.count() >= 20
            except SearchUnavailable:
                return False  # the file is there, its tables not yet: `newswire run` is still starting
            finally:
                store.close()

        wait_until(some_indexed, 300, "the first articles to be indexed", every=0.05)
        first.kill()
        store = EmbeddedStore(store_file)
        killed_at = store.count()
        store.close()
        assert killed_at < ARTICLES, "the whole burst was indexed before the kill; the test proves nothing"

        second = run_newswire("run", "--once", env=env, timeout=900)
        assert second.returncode == 0, second.stderr[-4000:]

    store = EmbeddedStore(store_file)
    try:
        assert store.count() == ARTICLES
        expected = {article_id(url) for url in urls}
        for url in urls[:: ARTICLES // 20]:
            assert store.get(article_id(url)) is not None, url
    finally:
        store.close()
    search = run_newswire("search", "Wagner", "--json", "--size", "1000", env=env)
    assert search.returncode == 0, search.stderr
    found = [hit["id"] for hit in json.loads(search.stdout)["hits"]]
    assert len(found) == len(set(found)) == ARTICLES
    assert set(found) == expected

    bus = EmbeddedBus(data / "bus.sqlite3")
    consumer = bus.consumer(["news.raw"], "durability-check")
    published: Counter[str] = Counter()
    while records := consumer.poll(1000, 1.0):
        for record in records:
            published[decode_raw(record.value).id] += 1
    consumer.close()
    bus.close()
    assert set(published) == expected
    republished = {article: n for article, n in published.items() if n > 1}
    assert not republished, f"{len(republished)} articles were published to news.raw more than once"
