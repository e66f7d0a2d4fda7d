"""The search interface: what the CLI, the API and the indexer ask of a search store.

Two stores sit behind :class:`SearchStore`: Elasticsearch (``newswire.indexer.elasticsearch``) and the embedded
SQLite FTS5 store (``newswire.indexer.embedded``). Both index the same fields the same way, parse the query with
:mod:`newswire.query`, and answer with the same :class:`SearchResult`; the README lists where their rankings
still differ.

Fields searched: ``title`` (weight 3), ``summary`` (2), ``content`` (1), with BM25 ranking; words by their stem,
phrases by the exact words (:mod:`newswire.query`). Filters: entity names (all must be present), topics, sources,
compared case-insensitively by the keys of :mod:`newswire.names` (a person's surname finds the person, a topic's
name the topic); language, a published-date range, a story, exactly.
``sort="date"`` lists the newest article first (ties by id) in both stores, also within one story.

Stories: the processors give every article a ``story_id`` (the id of the story's first article). :meth:`SearchStore.
stories` lists the stories of which at least one article matches a :class:`StoryQuery`; what it says about a story
(size, copies, first and last time, sources, top entities, title) is computed over *all* the story's articles in the
store, not only the matching ones, so a story looks the same whatever found it. An article without a ``story_id``
is a story of its own, under its own id. :func:`story_articles` reads the articles of one story, oldest first.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from newswire.contract import ARTICLE_ID, EnrichedArticle
from newswire.errors import InvalidQuery, SearchError

if TYPE_CHECKING:  # newswire.alerts builds on this module
    from newswire.alerts import SavedSearch

FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "content": 1.0}
FACETS = ("entities", "topics", "sources")
MAX_RESULT_WINDOW = 10_000
MAX_TOP_ENTITIES = 5
MAX_STORY_ARTICLES = 1000
ENTITY_KEY_SEPARATOR = "\x1f"
LEVELS = ("event", "storyline")
MAX_STORY_ID_CHARS = 128  # an article id's limit in the contract
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_page(size: int, offset: int, *, smallest: int) -> None:
    """InvalidQuery unless ``smallest <= size <= 1000``, ``offset >= 0`` and the page ends within the window."""
    if not smallest <= size <= 1000:
        raise InvalidQuery(f"size must be between {smallest} and 1000, got {size}")
    if offset < 0:
        raise InvalidQuery(f"offset must be 0 or more, got {offset}")
    if offset + size > MAX_RESULT_WINDOW:
        raise InvalidQuery(f"offset + size must stay within {MAX_RESULT_WINDOW}, got {offset + size}")


def check_range(since: datetime | None, until: datetime | None) -> None:
    """InvalidQuery when ``since`` is after ``until``."""
    if since and until and since > until:
        raise InvalidQuery(f"the date range is empty: since {since} is after until {until}")


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which articles match: query text (see :mod:`newswire.query`) and exact filters."""

    text: str = ""
    entities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def article_filter_fields(self) -> dict[str, Any]:
        """The text and filters alone, as keyword arguments of any :class:`ArticleFilter`."""
        return {name.name: getattr(self, name.name) for name in fields(ArticleFilter)}


@dataclass(frozen=True, slots=True)
class SearchQuery(ArticleFilter):
    """A search: query text (see :mod:`newswire.query`) plus exact filters, sort, paging and extras."""

    story_id: str | None = None  # the event (``--event``, or ``--story`` as before)
    storyline_id: str | None = None
    sort: Literal["relevance", "date"] = "relevance"
    size: int = 10
    offset: int = 0
    highlight: bool = True
    facets: bool = False
    facet_size: int = 10
    histogram: Literal["hour", "day"] | None = None
    collapse_duplicates: bool = False

    def __post_init__(self) -> None:
        check_page(self.size, self.offset, smallest=0)
        if not 1 <= self.facet_size <= 1000:
            raise InvalidQuery(f"facet size must be between 1 and 1000, got {self.facet_size}")
        check_range(self.since, self.until)


@dataclass(frozen=True, order=True, slots=True)
class LivePosition:
    """Where an article is in the order a store indexed articles: a mark (the embedded store's write sequence,
    Elasticsearch's write time in milliseconds), then the article id. Later writes have greater positions; a new
    revision of an article gets a new position. Written as ``<mark>:<id>`` in the live stream's event ids."""

    mark: int
    article_id: str = ""

    def encode(self) -> str:
        return f"{self.mark}:{self.article_id}"

    @classmethod
    def decode(cls, text: str) -> LivePosition:
        """The position ``text`` gives (from :meth:`encode`); InvalidQuery for anything else."""
        mark, separator, article_id = text.strip().partition(":")
        if not separator or not mark.isdigit() or len(mark) > 19 or not ARTICLE_ID.fullmatch(article_id or "0" * 8):
            raise InvalidQuery(f"not a live stream position: {text[:80]!r}")
        return cls(int(mark), article_id)


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
class StoryQuery(ArticleFilter):
    """Which stories to list: those with at least one article matching the text and every filter.

    ``level`` says what a story is: an ``event`` (the articles of one ``event_id``) or a ``storyline`` (the events of
    one ``storyline_id``). ``text`` and the filters mean what they mean in :class:`SearchQuery`; ``story_id`` picks
    one story of that level (also one made of a single article without an event). ``sort="latest"`` lists the story
    with the newest article first, ``sort="size"`` the one with the most articles first (then the newest); ties go
    by story id.
    """

    story_id: str | None = None
    level: Literal["event", "storyline"] = "event"
    sort: Literal["latest", "size"] = "latest"
    size: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        check_page(self.size, self.offset, smallest=1)
        check_range(self.since, self.until)
        if self.sort not in ("latest", "size"):
            raise InvalidQuery(f"sort must be latest or size, got {self.sort!r}")
        if self.level not in LEVELS:
            raise InvalidQuery(f"level must be event or storyline, got {self.level!r}")

    @property
    def matches_everything(self) -> bool:
        """True when every stored story is listed (no text, no filter)."""
        filters = (self.entities, self.topics, self.sources, self.language, self.since, self.until, self.story_id)
        return not self.text.strip() and not any(value for value in filters)

    def article_filter(self) -> SearchQuery:
        """The search for the articles that make a story match (text and filters; no story, paging or extras)."""
        return SearchQuery(**self.article_filter_fields(), size=0, highlight=False)


@dataclass(frozen=True, slots=True)
class StoryEntity:
    """An entity of a story and the number of the story's articles that name it (under this label)."""

    name: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class StorySummary:
    """One story, computed over all its articles in the store.

    ``title``: of its earliest dated article (its earliest when every date was estimated); ``first_published`` and
    ``last_published`` span its dated articles (all of them when every date was estimated).
    ``copies``: how many of the ``size`` articles are syndicated duplicates (``duplicate_of`` set). ``sources``:
    distinct sources. ``events``: distinct events (1 for an event). ``top_entities``: at most
    :data:`MAX_TOP_ENTITIES`, most articles first, then by name and label.
    """

    story_id: str
    title: str
    size: int
    copies: int
    first_published: datetime
    last_published: datetime
    sources: int
    top_entities: tuple[StoryEntity, ...] = ()
    events: int = 1
    level: Literal["event", "storyline"] = "event"


@dataclass(frozen=True, slots=True)
class StoriesResult:
    """``total`` stories match; ``stories`` is the page asked for."""

    total: int
    stories: tuple[StorySummary, ...]


def top_entities(counts: dict[tuple[str, str], int]) -> tuple[StoryEntity, ...]:
    """The :data:`MAX_TOP_ENTITIES` most frequent of ``(name, label) -> articles``, as both stores order them."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], entity_key(*item[0])))
    return tuple(StoryEntity(name, label, count) for (name, label), count in ranked[:MAX_TOP_ENTITIES])


def entity_key(name: str, label: str) -> str:
    """One string for an entity under a label; sorts like ``(name, label)`` (the separator sorts before text)."""
    return f"{name}{ENTITY_KEY_SEPARATOR}{label}"


def split_entity_key(key: str) -> tuple[str, str]:
    """The ``(name, label)`` of an :func:`entity_key`."""
    name, _, label = key.rpartition(ENTITY_KEY_SEPARATOR)
    return name, label


def story_articles(
    store: SearchStore, story_id: str, *, limit: int = MAX_STORY_ARTICLES, level: str = "event"
) -> tuple[int, list[EnrichedArticle]]:
    """How many articles the story ``story_id`` (an event, or a storyline) has, and its ``limit`` oldest, oldest
    first (ties by id).

    The articles are those of ``SearchQuery(story_id=...)`` (or ``storyline_id=...``), plus the article with this id
    when it has no event (a story of its own).
    """
    if not 1 <= limit <= MAX_RESULT_WINDOW:
        raise InvalidQuery(f"limit must be between 1 and {MAX_RESULT_WINDOW}, got {limit}")
    query = SearchQuery(sort="date", size=0, highlight=False)
    if level == "storyline":
        story_id = store.resolve_storyline(story_id)  # an id merged into another reads the storyline it is now
    query = replace(query, storyline_id=story_id) if level == "storyline" else replace(query, story_id=story_id)
    total = store.search(query).total
    # The store lists newest first, so the oldest ``limit`` are the last ones (of the first 10,000).
    end = min(total, MAX_RESULT_WINDOW)
    articles: list[EnrichedArticle] = []
    for start in range(max(0, end - limit), end, 1000):
        page = store.search(replace(query, size=min(1000, end - start), offset=start))
        articles.extend(hit.article for hit in page.hits)
    # An event filter does not match the article that is an event of its own (no story_id); the storyline key
    # of both stores does (it falls back to the article's own id).
    own = store.get(story_id) if level != "storyline" else None
    if own is not None and own.story_id is None:
        total += 1
        articles.append(own)
    articles.sort(key=lambda article: (article.published, article.id))
    return total, articles[:limit]


def check_story_id(story_id: str) -> str:
    """``story_id`` when it can be one (1 to 128 characters, no control character); InvalidQuery otherwise."""
    if not story_id or len(story_id) > MAX_STORY_ID_CHARS or _CONTROL.search(story_id):
        raise InvalidQuery(f"a story id is 1 to {MAX_STORY_ID_CHARS} characters without control characters")
    return story_id


def with_current_storyline(store: SearchStore, query: SearchQuery) -> SearchQuery:
    """``query`` with its storyline filter read through the store's merges: a storyline id that was merged into
    another (the id in an old link, alert or bookmark) finds the storyline it is part of now."""
    if not query.storyline_id:
        return query
    current = store.resolve_storyline(query.storyline_id)
    return query if current == query.storyline_id else replace(query, storyline_id=current)


def read_story(
    store: SearchStore, story_id: str, level: Literal["event", "storyline"] = "event"
) -> tuple[StorySummary, int, list[EnrichedArticle]] | None:
    """One story as ``newswire story`` and ``/api/stories/{id}`` show it, or None when the store has no such story.

    The summary, how many articles the story has, and its oldest articles, oldest first (see :func:`story_articles`).
    """
    if level == "storyline":
        story_id = store.resolve_storyline(story_id)  # an id merged into another reads the storyline it is now
    found = store.stories(StoryQuery(story_id=story_id, size=1, level=level)).stories
    if not found:
        return None
    total, articles = story_articles(store, story_id, level=level)
    return found[0], total, articles


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
    def stories(self, query: StoryQuery) -> StoriesResult:
        """The stories of which at least one article matches ``query``, summarised over all their articles.

        Raises :class:`~newswire.errors.InvalidQuery` for a query that cannot run.
        """

    def suggest(self, field: str, prefix: str, size: int = 10) -> tuple[FacetCount, ...]:
        """Up to ``size`` entity names, topic labels or sources (``field``: entity, topic, source) with a word that
        starts with ``prefix`` (case-insensitively; see :func:`newswire.names.suggestion_keys`), each with the number
        of articles that have it, most first, then by value.

        Raises :class:`~newswire.errors.InvalidQuery` for an unknown field, an empty prefix or a size out of range.
        Both stores implement it; this default says that a store does not.
        """
        raise SearchError(f"{type(self).__name__} cannot suggest names")

    def resolve_storyline(self, storyline_id: str) -> str:
        """The storyline ``storyline_id`` is part of now: the survivor when it was merged into another (the processor
        tells the store with an article's ``merged_storylines``), else itself. Both stores implement it; a store
        that keeps no merges has none to resolve."""
        return storyline_id

    #: How far (in marks) behind the newest visible position an article may still become visible: 0 where a write
    #: is visible in the order of its position (the embedded store), more where writes become visible on a refresh
    #: after their position was taken (Elasticsearch). :class:`newswire.live.LiveFeed` looks back this far.
    live_lookback: int = 0

    def live_position(self) -> LivePosition:
        """The position of the newest write visible now: a live stream that starts here shows what comes next."""
        raise SearchError(f"{type(self).__name__} has no live stream")

    def indexed_after(
        self, query: SearchQuery, after: LivePosition, limit: int
    ) -> tuple[tuple[LivePosition, SearchHit], ...]:
        """Up to ``limit`` articles matching ``query``'s text and filters whose position is after ``after``, in the
        order of their positions (``query``'s sort, paging and extras are not used). Both stores implement it."""
        raise SearchError(f"{type(self).__name__} has no live stream")

    def save_search(self, saved: SavedSearch) -> None:
        """Keep ``saved`` durably, replacing a saved search of the same id. Both stores implement these three."""
        raise SearchError(f"{type(self).__name__} keeps no saved searches")

    def saved_searches(self) -> tuple[SavedSearch, ...]:
        """Every saved search, oldest first (ties by id)."""
        raise SearchError(f"{type(self).__name__} keeps no saved searches")

    def delete_saved_search(self, saved_search_id: str) -> bool:
        """Forget a saved search; False when there was none of that id."""
        raise SearchError(f"{type(self).__name__} keeps no saved searches")

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
