"""The search interface: what the CLI, the API and the indexer ask of a search store.

Two stores sit behind :class:`SearchStore`: Elasticsearch (``newswire.indexer.elasticsearch``) and the embedded
SQLite FTS5 store (``newswire.indexer.embedded``). Both index the same fields the same way, parse the query with
:mod:`newswire.query`, and answer with the same :class:`SearchResult`; the README lists where their rankings
still differ.

Fields searched: ``title`` (weight 3), ``summary`` (2), ``content`` (1), with BM25 ranking. Filters are exact:
entity names (canonical, all must be present), topics, sources, language, a published-date range, a story.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from newswire.contract import EnrichedArticle
from newswire.errors import InvalidQuery

logger = logging.getLogger(__name__)

FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "content": 1.0}
FACETS = ("entities", "topics", "sources")
MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search: query text (see :mod:`newswire.query`) plus exact filters, sort, paging and extras."""

    text: str = ""
    entities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    story_id: str | None = None
    sort: Literal["relevance", "date"] = "relevance"
    size: int = 10
    offset: int = 0
    highlight: bool = True
    facets: bool = False
    facet_size: int = 10
    histogram: Literal["hour", "day"] | None = None
    collapse_duplicates: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.size <= 1000:
            raise InvalidQuery(f"size must be between 0 and 1000, got {self.size}")
        if self.offset < 0 or self.offset + self.size > MAX_RESULT_WINDOW:
            raise InvalidQuery(f"offset + size must stay within {MAX_RESULT_WINDOW}, got {self.offset + self.size}")
        if not 1 <= self.facet_size <= 1000:
            raise InvalidQuery(f"facet size must be between 1 and 1000, got {self.facet_size}")
        if self.since and self.until and self.since > self.until:
            raise InvalidQuery(f"the date range is empty: since {self.since} is after until {self.until}")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching article, with its score and highlighted snippets (matches wrapped in ``<em>``)."""

    article: EnrichedArticle
    score: float
    highlights: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """Articles published in [start, start + interval)."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class SearchResult:
    total: int
    hits: tuple[SearchHit, ...]
    facets: dict[str, tuple[FacetCount, ...]] = field(default_factory=dict)
    histogram: tuple[Bucket, ...] = ()


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What a bulk write did: ``written`` documents, and those the store refused for good (to dead-letter)."""

    written: int
    rejected: tuple[tuple[str, str], ...] = ()  # (article id, reason)


class SearchStore(ABC):
    """A searchable store of enriched articles, written idempotently by article id."""

    @abstractmethod
    def ensure_ready(self) -> None:
        """Create what the store needs (index template, versioned index and read alias; or tables); idempotent."""

    @abstractmethod
    def upsert(self, articles: Sequence[EnrichedArticle]) -> UpsertResult:
        """Write ``articles`` by id; an article never replaces a higher revision of itself.

        Raises :class:`~newswire.errors.SearchError` (or ``SearchUnavailable``) when the write as a whole failed
        and should be retried; documents refused for good are returned in ``rejected``.
        """

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run ``query``; raises :class:`~newswire.errors.InvalidQuery` for a query that cannot run."""

    @abstractmethod
    def get(self, article_id: str) -> EnrichedArticle | None:
        """The article with this id, or None."""

    @abstractmethod
    def count(self) -> int:
        """How many articles the store holds."""

    @abstractmethod
    def refresh(self) -> None:
        """Make every write so far visible to search (Elasticsearch refreshes about once a second anyway)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""
