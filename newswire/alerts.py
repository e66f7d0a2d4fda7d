"""Saved searches, and which new articles match them, with the search stores' own semantics.

A :class:`SavedSearch` is a query with filters that someone wants to hear about. Its ``kind`` says when:

- ``articles``: each newly indexed article that matches (the same text and filters as ``newswire search``);
- ``new_story``: the first matching article of a story (``level``: an event or a storyline), whether it began the
  story or the story came to match later: "a storyline naming Yevgeny Prigozhin", once per storyline;
- ``story_growth``: a story (of ``level``) with an article that matches has had at least ``min_articles`` articles
  published within the last ``window_minutes``: "a story grew by N articles in an hour".

Matching runs where the articles are written, in the indexer, not in the search store: the Elasticsearch node newswire
installs has no percolator (that is a module of the default distribution it leaves out), and the embedded store has
none. :class:`SavedSearchMatcher` evaluates the parsed query over the very tokens and stems the stores index
(:func:`newswire.query.tokenize`, :func:`newswire.query.stems`) and the filters over the folded keys of
:mod:`newswire.names`, so that an article matches a saved search exactly when a search with it would find the
article; tests hold it to the embedded store's results on the parity corpus. :class:`SavedSearchIndex` keeps many
saved searches and finds the few worth evaluating for an article by a token each must contain, so the cost per
article grows with the searches that could match, not with all of them.
"""

from __future__ import annotations

import re
import secrets
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from newswire.contract import EnrichedArticle, utc_now
from newswire.errors import InvalidQuery
from newswire.names import entity_keys, fold, source_key, topic_key
from newswire.query import Node, Or, Phrase, Term, parse_query, stems, tokenize
from newswire.search import FIELD_WEIGHTS, LEVELS, ArticleFilter

__all__ = [
    "KINDS",
    "SAVED_SEARCH_ID",
    "SavedSearch",
    "SavedSearchIndex",
    "SavedSearchMatcher",
    "new_saved_search_id",
]

KINDS = ("articles", "new_story", "story_growth")
SAVED_SEARCH_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_NAME_CHARS = 200
MAX_FILTER_VALUES = 20
_FIELDS = tuple(FIELD_WEIGHTS)


def new_saved_search_id() -> str:
    return "ss-" + secrets.token_hex(6)


class SavedSearch(BaseModel):
    """A query with filters that someone wants to hear about (see the module docstring for ``kind``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_saved_search_id, description="Lower-case letters, digits and dashes.")
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    kind: Literal["articles", "new_story", "story_growth"] = "articles"
    text: str = Field(default="", description="Query text, as in search.")
    entities: tuple[str, ...] = Field(default=(), max_length=MAX_FILTER_VALUES)
    topics: tuple[str, ...] = Field(default=(), max_length=MAX_FILTER_VALUES)
    sources: tuple[str, ...] = Field(default=(), max_length=MAX_FILTER_VALUES)
    language: str | None = Field(default=None, max_length=16)
    level: Literal["event", "storyline"] = Field(default="storyline", description="For the story kinds.")
    min_articles: int = Field(default=5, ge=2, le=10_000, description="For story_growth.")
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60, description="For story_growth.")
    created: datetime = Field(default_factory=utc_now)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not SAVED_SEARCH_ID.fullmatch(value):
            raise ValueError("a saved search id is 1 to 64 lower-case letters, digits and dashes")
        return value

    @field_validator("entities", "topics", "sources")
    @classmethod
    def _check_values(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not value.strip() or len(value) > MAX_NAME_CHARS for value in values):
            raise ValueError(f"filter values are 1 to {MAX_NAME_CHARS} characters")
        return values

    @model_validator(mode="after")
    def _check_query(self) -> SavedSearch:
        parse_query(self.text)  # InvalidQuery (a ValueError) says where the query is wrong
        if self.level not in LEVELS:  # pragma: no cover - the Literal already says so
            raise ValueError(f"level must be one of {LEVELS}")
        if not (self.text.strip() or self.entities or self.topics or self.sources or self.language):
            raise ValueError("a saved search needs query text or at least one filter; it would match every article")
        return self

    def article_filter(self) -> ArticleFilter:
        """The text and filters, as a search would take them."""
        return ArticleFilter(
            text=self.text, entities=self.entities, topics=self.topics, sources=self.sources, language=self.language
        )


class _ArticleTokens:
    """The tokens and stems of one article's searched fields, and its filter keys, computed once."""

    __slots__ = ("_sorted", "entity_keys", "fields", "language", "source", "stem_set", "token_set", "topic_keys")

    def __init__(self, article: EnrichedArticle) -> None:
        self.fields = [tokenize(getattr(article, name)) for name in _FIELDS]
        self.token_set = {token for tokens in self.fields for token in tokens}
        self.stem_set = set(stems(self.token_set))
        self.entity_keys = {key for entity in article.entities for key in entity_keys(entity)}
        self.topic_keys = {topic_key(topic.label) for topic in article.topics}
        self.source = source_key(article.source)
        self.language = article.language
        self._sorted: list[str] | None = None

    def has_prefix(self, prefix: str) -> bool:
        """Whether a token starts with ``prefix``: a binary search in the sorted tokens, sorted on first use."""
        if self._sorted is None:
            self._sorted = sorted(self.token_set)
        at = bisect_left(self._sorted, prefix)
        return at < len(self._sorted) and self._sorted[at].startswith(prefix)

    def has_phrase(self, phrase: Sequence[str]) -> bool:
        size = len(phrase)
        return any(
            list(tokens[start : start + size]) == list(phrase)
            for tokens in self.fields
            for start in range(len(tokens) - size + 1)
            if tokens[start] == phrase[0]
        )


@lru_cache(maxsize=65_536)
def _stem(token: str) -> str:
    return stems([token])[0]


def _matches(node: Node, article: _ArticleTokens) -> bool:
    if isinstance(node, Term):
        if node.prefix:
            return article.has_prefix(node.text)
        if node.exact:
            return node.text in article.token_set
        return _stem(node.text) in article.stem_set
    if isinstance(node, Phrase):
        return article.has_phrase(node.tokens)
    if isinstance(node, Or):
        return any(_matches(part, article) for part in node.parts)
    if not node.positive:
        raise InvalidQuery("a part of the query only excludes; add a word to search for")
    return all(_matches(part, article) for part in node.positive) and not any(
        _matches(part, article) for part in node.negative
    )


def _needed(node: Node) -> frozenset[str] | None:
    """Keys of which an article must have at least one to match ``node`` (``None``: no such set is known)."""
    if isinstance(node, Term):
        if node.prefix:
            return None
        return frozenset({f"t:{node.text}"} if node.exact else {f"s:{_stem(node.text)}"})
    if isinstance(node, Phrase):
        return frozenset({f"t:{node.tokens[0]}"})
    if isinstance(node, Or):
        keys: set[str] = set()
        for part in node.parts:
            needed = _needed(part)
            if needed is None:
                return None
            keys |= needed
        return frozenset(keys)
    known = [needed for needed in map(_needed, node.positive) if needed is not None]
    return min(known, key=len) if known else None


class SavedSearchMatcher:
    """Whether an article matches one saved search's text and filters, as a search with them would find it."""

    def __init__(self, saved: SavedSearch) -> None:
        self.saved = saved
        self.tree = parse_query(saved.text)
        self.entity_keys = tuple(dict.fromkeys(fold(name) for name in saved.entities))
        self.topic_keys = tuple(dict.fromkeys(topic_key(topic) for topic in saved.topics))
        self.source_keys = frozenset(source_key(source) for source in saved.sources)
        if self.tree is not None:
            self.needed = _needed(self.tree)
        elif self.entity_keys:
            self.needed = frozenset({f"e:{self.entity_keys[0]}"})
        else:
            self.needed = None

    def matches(self, article: EnrichedArticle) -> bool:
        return self._matches(_ArticleTokens(article))

    def _matches(self, tokens: _ArticleTokens) -> bool:
        if self.saved.language and tokens.language != self.saved.language:
            return False
        if self.source_keys and tokens.source not in self.source_keys:
            return False
        if self.entity_keys and not tokens.entity_keys.issuperset(self.entity_keys):
            return False
        if self.topic_keys and not tokens.topic_keys.issuperset(self.topic_keys):
            return False
        return self.tree is None or _matches(self.tree, tokens)


class SavedSearchIndex:
    """Many saved searches, and for each article the ones it matches.

    Each search is filed under the keys of which a matching article must have one (a stem, an exact token, an entity
    key); an article is only evaluated against the searches filed under its own keys, and those with no such key
    (a bare prefix, a topic or source filter alone).
    """

    def __init__(self, saved: Iterable[SavedSearch] = ()) -> None:
        self._by_key: dict[str, list[SavedSearchMatcher]] = defaultdict(list)
        self._always: list[SavedSearchMatcher] = []
        self.size = 0
        for search in saved:
            self.add(search)

    def add(self, saved: SavedSearch) -> None:
        matcher = SavedSearchMatcher(saved)
        if matcher.needed is None:
            self._always.append(matcher)
        else:
            for key in matcher.needed:
                self._by_key[key].append(matcher)
        self.size += 1

    def matching(self, article: EnrichedArticle) -> list[SavedSearch]:
        """The saved searches ``article`` matches, oldest first."""
        if not self.size:
            return []
        tokens = _ArticleTokens(article)
        keys = [f"t:{token}" for token in tokens.token_set] + [f"s:{stem}" for stem in tokens.stem_set]
        keys += [f"e:{key}" for key in tokens.entity_keys]
        candidates = {id(m): m for key in keys for m in self._by_key.get(key, ())}
        candidates.update((id(m), m) for m in self._always)
        found = [matcher.saved for matcher in candidates.values() if matcher._matches(tokens)]
        return sorted(found, key=lambda saved: (saved.created, saved.id))
