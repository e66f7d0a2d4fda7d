"""Storylines: events linked into the developing situation they belong to, over days or weeks, found online.

An **event** (one happening and its reports within about a day) is what :class:`~newswire.processors.stories.
StoryTracker` finds; a **storyline** links the events of one developing situation (the rules are in
``processors/eval/README.md``, "Events and storylines"). When an article opens a new event, the event gets one
sentence embedding (:func:`event_text`: its title and summary, or its title and the first 300 characters of its
content) and joins the open storyline it fits best, if it fits one both by meaning and by the entities they share;
otherwise it opens a storyline whose id is the event's id. Every later article of an event, a syndicated copy
included, is in the event's storyline.

Why both signals: a generic sentence model encodes what kind of news an event is ("a flood", "a central bank raises
its rate"), so two floods in two countries come out close in meaning; what tells them apart is who and where, the
entities. Entities alone would tie every story naming "Britain" or "London" together; weighted by how few of the
window's storylines name them, and required together with the meaning, they keep look-alikes apart and link an
airline's grounding to its chief executive's resignation.

- meaning: the best cosine between the new event's embedding and those of the storyline's recent events;
- entities: the share of the event's entity weight (mentions damped, times rarity among the open storylines) that
  the storyline has named in any of its articles; entities are compared by name, whatever label spaCy gave them
  ("Kestrel" as a person in one article, an organisation in the next);
- an event joins the storyline with the best sum of the two when the meaning reaches :data:`MIN_MEANING`, the
  entity share reaches :data:`MIN_ENTITY_SHARE`, and the sum reaches :data:`THRESHOLD`.

A storyline stays open for :data:`WINDOW` after its latest article, long enough for a trial adjourned for two weeks
or a strike suspended and resumed. The cost is one embedding per event, never per article.

**Merges.** Two storylines opened apart can turn out to be one: an event reported before its background was seen
(an outlet's first report of the reactions, ahead of the happening's), or one whose link fell just short. When a new
event links to several open storylines and to each of them strongly (a score of at least :data:`MERGE_THRESHOLD`,
beyond the rule that links it), they are one storyline: :meth:`StorylineTracker.link` names the others in
:attr:`StorylineLink.merged`, and the survivor is the oldest of them (the earliest first article, then the smaller
id), so every replica that applies the same merge keeps the same id. :meth:`StorylineTracker.merge` applies it;
an id merged away is remembered (:meth:`StorylineTracker.resolve`) for as long as its survivor is open, so a record
that still names it lands in the survivor.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from newswire.contract import EnrichedArticle
from newswire.processors.embedding import TextEmbedder, shared_embedder

__all__ = ["StorylineLink", "StorylineTracker", "event_text"]

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=24)
# Chosen on processors/eval/storylines_dev.jsonl (the middle of a plateau: 0.6-0.9, 0.2-0.35, 0.1-0.35 all gave the
# same 0.972 storyline B-cubed F1 there, meaning or entities alone 0.89 and 0.95); the test half and
# the shipped set played no part in choosing them.
THRESHOLD = 0.75
MIN_MEANING = 0.3
MIN_ENTITY_SHARE = 0.2
ENTITY_WEIGHT = 1.0
# A link this strong to each of two storylines makes them one (see "Merges"). On storylines_dev.jsonl no event links
# to two storylines at 0.9-1.2 (so no merge, right or wrong); the shipped set's one merge (an event at 1.09 and 1.27
# to the two parts of the mutiny) is why it is not above 1.09: looked at, as the brief allows; the test half not.
MERGE_THRESHOLD = 1.0
RECENT_EVENTS = 12  # the latest events of a storyline whose embeddings a new event is compared with
CONTENT_CHARS = 300  # of the content, after the title, when the article has no summary


def event_text(article: EnrichedArticle) -> str:
    """The text embedded for the event an article opens: title and summary, else title and the content's start."""
    rest = article.summary.strip() or (article.content or "").strip()[:CONTENT_CHARS]
    return f"{article.title.strip()}. {rest}" if rest else article.title.strip()


def entity_names(entities: Mapping[str, float]) -> dict[str, float]:
    """Grouping entity keys (``"LABEL:name"``) folded to their names, mentions added up."""
    names: dict[str, float] = {}
    for key, count in entities.items():
        name = key.split(":", 1)[-1]
        names[name] = names.get(name, 0.0) + count
    return names


@dataclass(frozen=True, slots=True)
class StorylineLink:
    """The storyline of a new event, and the storylines that it shows are the same one, merged into it."""

    storyline_id: str
    merged: tuple[str, ...] = ()


@dataclass(slots=True)
class _Storyline:
    storyline_id: str
    last: datetime
    first: datetime
    embeddings: deque[npt.NDArray[np.float32]] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    entities: Counter[str] = field(default_factory=Counter)  # entity name -> articles of the storyline naming it
    events: set[str] = field(default_factory=set)


class StorylineTracker:
    """The open storylines and the rule that links a new event to one of them.

    ``embedder`` defaults to the process's shared MiniLM model (:func:`~newswire.processors.embedding.
    shared_embedder`), loaded on the first embedding, so a tracker that only replays records never loads it.
    """

    def __init__(
        self,
        embedder: TextEmbedder | None = None,
        *,
        window: timedelta = WINDOW,
        threshold: float = THRESHOLD,
        min_meaning: float = MIN_MEANING,
        min_entity_share: float = MIN_ENTITY_SHARE,
        entity_weight: float = ENTITY_WEIGHT,
        merge_threshold: float = MERGE_THRESHOLD,
    ) -> None:
        self._embedder = embedder
        self.window = window
        self.threshold = threshold
        self.min_meaning = min_meaning
        self.min_entity_share = min_entity_share
        self.entity_weight = entity_weight
        self.merge_threshold = merge_threshold
        self._merged: dict[str, str] = {}  # storyline id merged away -> the one it went into (while that is open)
        self.embedding_calls = 0  # what the model cost so far, for the evaluation's report
        self.embedding_seconds = 0.0
        self._storylines: dict[str, _Storyline] = {}
        self._event_storyline: dict[str, str] = {}
        # Entity name -> the open storylines naming it: the candidates of an event are the storylines sharing a
        # name with it (no other can reach MIN_ENTITY_SHARE), so a decision does not scan weeks of storylines.
        self._postings: dict[str, set[str]] = defaultdict(set)
        self._clock: datetime | None = None
        self._queue: list[tuple[datetime, str]] = []  # (latest article, storyline); stale when it has moved on

    @property
    def storyline_count(self) -> int:
        return len(self._storylines)

    def storyline_of(self, event_id: str) -> str | None:
        """The storyline of an event still in the window, if known."""
        return self._event_storyline.get(event_id)

    def resolve(self, storyline_id: str) -> str:
        """The open storyline ``storyline_id`` is now: itself, or the one it was merged into."""
        seen = 0
        while storyline_id in self._merged and seen < 64:  # a chain of merges; the bound guards against a cycle
            storyline_id, seen = self._merged[storyline_id], seen + 1
        return storyline_id

    @property
    def embedder_name(self) -> str:
        """The vector space of this tracker's embeddings (loads the shared model if none is loaded yet)."""
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder.name

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """One unit-length embedding of ``text`` (one model call)."""
        if self._embedder is None:
            self._embedder = shared_embedder()
        started = time.perf_counter()
        vector: npt.NDArray[np.float32] = self._embedder.embed([text])[0]
        self.embedding_calls += 1
        self.embedding_seconds += time.perf_counter() - started
        return vector

    def decide(
        self, event_id: str, published: datetime, embedding: npt.NDArray[np.float32], entities: Mapping[str, float]
    ) -> str:
        """The storyline of a new event (without remembering it; :meth:`observe` does that)."""
        return self.link(event_id, published, embedding, entities).storyline_id

    def link(
        self, event_id: str, published: datetime, embedding: npt.NDArray[np.float32], entities: Mapping[str, float]
    ) -> StorylineLink:
        """The storyline of a new event and the storylines it merges into that one (see "Merges"); nothing is
        remembered: :meth:`merge` and :meth:`observe` do that."""
        known = self._event_storyline.get(event_id)
        if known is not None:
            return StorylineLink(known)
        self._advance(published)
        names = entity_names(entities)
        weights = {name: _damped(count) * self._rarity(name) for name, count in names.items()}
        total = sum(weights.values())
        best_id, best_score = event_id, 0.0
        strong: list[str] = []
        if self.min_entity_share > 0:
            candidates = sorted({key for name in weights for key in self._postings.get(name, ())})
        else:
            candidates = sorted(self._storylines)
        for key in candidates:
            storyline = self._storylines[key]
            if published - storyline.last > self.window:
                continue
            meaning = (
                max(float(np.dot(embedding, other)) for other in storyline.embeddings) if storyline.embeddings else 0.0
            )
            share = (
                sum(weight for name, weight in weights.items() if name in storyline.entities) / total if total else 0.0
            )
            score = meaning + self.entity_weight * share
            if meaning < self.min_meaning or share < self.min_entity_share or score < self.threshold:
                continue
            if score >= self.merge_threshold:
                strong.append(storyline.storyline_id)
            if score > best_score or (score == best_score and storyline.storyline_id < best_id):
                best_id, best_score = storyline.storyline_id, score
        if len(strong) < 2 or best_id not in strong:
            return StorylineLink(best_id)
        oldest = min(strong, key=lambda key: (self._storylines[key].first, key))
        return StorylineLink(oldest, tuple(sorted(key for key in strong if key != oldest)))

    def merge(self, into: str, merged: Iterable[str]) -> None:
        """Make the storylines ``merged`` part of ``into``: their events, entities and embeddings; idempotent."""
        into = self.resolve(into)
        for name in merged:
            key = self.resolve(name)
            if key == into:
                continue
            self._merged[key] = into
            absorbed = self._storylines.pop(key, None)
            if absorbed is None:
                continue  # closed already, or never seen here: the alias is all there is to keep
            survivor = self._storylines.get(into)
            if survivor is None:
                survivor = self._storylines[into] = _Storyline(into, absorbed.last, absorbed.first)
            survivor.first = min(survivor.first, absorbed.first)
            survivor.last = max(survivor.last, absorbed.last)
            heapq.heappush(self._queue, (survivor.last, into))
            for event in absorbed.events:
                self._event_storyline[event] = into
            survivor.events |= absorbed.events
            survivor.embeddings.extend(absorbed.embeddings)
            for entity in absorbed.entities:
                posting = self._postings[entity]
                posting.discard(key)
                posting.add(into)
            survivor.entities.update(absorbed.entities)

    def observe(
        self,
        event_id: str,
        storyline_id: str,
        published: datetime,
        entities: Iterable[str],
        embedding: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """Remember one article of ``event_id`` in ``storyline_id``; ``embedding`` when the article opened the event.

        Entities are the article's grouping keys (``"LABEL:name"``); every article adds its own, so a storyline
        knows whom and where all its reports named, not only its first ones.
        """
        self._advance(published)
        storyline_id = self.resolve(storyline_id)
        self._event_storyline[event_id] = storyline_id
        storyline = self._storylines.get(storyline_id)
        if storyline is None:
            storyline = self._storylines[storyline_id] = _Storyline(storyline_id, published, published)
        storyline.first = min(storyline.first, published)
        if published > storyline.last or not storyline.events:
            storyline.last = max(storyline.last, published)
            heapq.heappush(self._queue, (storyline.last, storyline_id))
        storyline.events.add(event_id)
        if embedding is not None:
            storyline.embeddings.append(np.asarray(embedding, dtype=np.float32))
        names = {key.split(":", 1)[-1] for key in entities}
        for name in names - storyline.entities.keys():
            self._postings[name].add(storyline_id)
        storyline.entities.update(names)

    def _rarity(self, name: str) -> float:
        """Inverse storyline frequency: a name that most open storylines share says little about which one."""
        posting = self._postings.get(name)
        return math.log((len(self._storylines) + 1) / ((len(posting) if posting else 0) + 1)) + 1.0

    def _advance(self, published: datetime) -> None:
        """Move the clock and close the storylines (and forget their events) that fell out of the window."""
        if self._clock is not None and published <= self._clock:
            return
        self._clock = published
        horizon = published - self.window
        while self._queue and self._queue[0][0] < horizon:
            last, key = heapq.heappop(self._queue)
            storyline = self._storylines.get(key)
            if storyline is None or storyline.last != last:
                continue  # stale: the storyline has had an article since
            del self._storylines[key]
            for alias in [alias for alias, survivor in self._merged.items() if survivor == key]:
                del self._merged[alias]
            for event in storyline.events:
                if self._event_storyline.get(event) == key:
                    del self._event_storyline[event]
            for name in storyline.entities:
                posting = self._postings[name]
                posting.discard(key)
                if not posting:
                    del self._postings[name]


def _damped(count: float) -> float:
    return 1.0 + math.log(count) if count >= 1 else count
