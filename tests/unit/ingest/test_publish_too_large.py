"""An article too large for the bus is counted and left out; the rest of its batch is published."""

from __future__ import annotations

import asyncio
from pathlib import Path

from newswire.bus import TopicSpec
from newswire.bus.embedded import EmbeddedBus
from newswire.ingest.publish import Publisher
from newswire.ingest.state import StateFile
from tests.factories import article_factory


def test_an_oversized_article_does_not_hold_up_its_batch(tmp_path: Path) -> None:
    bus = EmbeddedBus(tmp_path / "bus.sqlite3")
    bus.ensure_topics([TopicSpec("raw", 1), TopicSpec("feeds", 1)])
    small = article_factory()
    # Three fields at ingest's 200,000-character cap, of three-byte characters: far over the bus's 1 MiB.
    huge = article_factory(title="中" * 1000, summary="中" * 200_000, content="文" * 200_000)

    async def publish() -> Publisher:
        publisher = Publisher(bus, StateFile(tmp_path / "state.json"), topic_raw="raw", topic_feeds="feeds")
        await publisher.start()
        try:
            await asyncio.wait_for(publisher.publish(None, [small, huge], []), 30)  # type: ignore[arg-type]
        finally:
            await publisher.close()
        return publisher

    publisher = asyncio.run(publish())
    assert (publisher.published, publisher.too_large) == (1, 1)
    consumer = bus.consumer(["raw"], "reader")
    keys = [record.key for record in consumer.poll(10, 1.0)]
    consumer.close()
    bus.close()
    assert keys == [small.id.encode()]
