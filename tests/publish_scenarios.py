"""A poller stopped between the bus's acknowledgement and its state file's record, as scenarios run on either bus:
tests/unit/ingest/test_publish_pending.py runs them on the embedded bus, tests/integration/ingest/
test_publish_pending_kafka.py on a real Kafka broker. Each takes a bus whose ``raw`` and ``feeds`` topics exist.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from newswire.bus import Bus
from newswire.contract import Article
from newswire.errors import BusError
from newswire.ingest.publish import Publisher
from newswire.ingest.state import KnownArticle, StateFile
from tests.factories import article_factory


class StoppedAfterTheFlush(StateFile):
    """A state file whose process dies (here: raises) right after the bus acknowledged a batch, before the record."""

    def record_published(self, articles: Iterable[KnownArticle]) -> None:
        raise RuntimeError("killed between the flush and the record")


def known(article: Article) -> KnownArticle:
    return KnownArticle(article.id, article.feed_url, f"hash-{article.id}", 1, article.title)


async def _publish(bus: Bus, state: StateFile, topics: tuple[str, str], articles: list[Article]) -> Publisher:
    publisher = Publisher(bus, state, topic_raw=topics[0], topic_feeds=topics[1])
    await publisher.start()
    try:
        if articles:
            await asyncio.wait_for(publisher.publish(None, articles, [known(a) for a in articles]), 30)  # type: ignore[arg-type]
    finally:
        await publisher.close()
    return publisher


def raw_ids(bus: Bus, topic: str) -> Counter[str]:
    return Counter((record.key or b"").decode() for batch in bus.read(topic) for record in batch)


def a_stop_after_the_flush_publishes_nothing_twice(bus: Bus, path: Path, topics: tuple[str, str]) -> None:
    """The acknowledged batch is recorded at the next start from what the raw topic holds; only the articles that
    never reached the bus (their batch was noted, then the process stopped before sending) are left to publish."""
    sent = [article_factory() for _ in range(5)]
    state = StoppedAfterTheFlush(path)
    with pytest.raises(BusError, match="killed between the flush and the record"):
        asyncio.run(_publish(bus, state, topics, sent))
    never_sent = [article_factory() for _ in range(2)]
    state.record_pending([known(a) for a in never_sent], sent_ms=max(state.pending().values()))
    state.close()
    assert raw_ids(bus, topics[0]) == Counter(a.id for a in sent)

    state = StateFile(path)
    publisher = asyncio.run(_publish(bus, state, topics, []))
    try:
        assert publisher.resolved_pending == 5
        assert set(state.known(a.id for a in sent + never_sent)) == {a.id for a in sent}
        assert state.known([sent[0].id])[sent[0].id].hash == f"hash-{sent[0].id}"
        assert state.pending() == {}
        # What the poller then publishes of the two is published once; the five are not published again.
        asyncio.run(_publish(bus, state, topics, never_sent))
        assert raw_ids(bus, topics[0]) == Counter(a.id for a in sent + never_sent)
    finally:
        state.close()
