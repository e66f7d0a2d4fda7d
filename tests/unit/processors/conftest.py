"""Fixtures of the processor tests: an article factory and one spaCy pipeline per session."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newswire.contract import Article, article_id
from newswire.processors.entities import shared_pipeline
from newswire.processors.service import ArticleProcessor
from newswire.settings import load_settings

_serial = itertools.count()
BASE_TIME = datetime(2023, 6, 24, 7, 30, tzinfo=UTC)


@pytest.fixture
def article_factory() -> Callable[..., Article]:
    """``article_factory(title=..., content=...)``: a valid raw article, unique unless ``url`` is given."""

    def make(**fields: Any) -> Article:
        number = next(_serial)
        url = fields.pop("url", f"https://news.example/world/{number}")
        defaults: dict[str, Any] = {
            "id": article_id(url),
            "url": url,
            "feed_url": "https://news.example/rss",
            "source": "News Example",
            "title": f"Article {number}",
            "summary": "",
            "content": "",
            "published": BASE_TIME + timedelta(minutes=number),
            "fetched": BASE_TIME + timedelta(minutes=number, seconds=30),
        }
        defaults.update(fields)
        return Article(**defaults)

    return make


@pytest.fixture(scope="session")
def nlp_and_aliases() -> tuple[Any, Any]:
    return shared_pipeline(load_settings().spacy_model)


@pytest.fixture
def processor(nlp_and_aliases: tuple[Any, Any]) -> ArticleProcessor:
    nlp, aliases = nlp_and_aliases
    return ArticleProcessor(load_settings(), nlp=nlp, aliases=aliases)
