"""The processor stage's interfaces: what turns an article into an enriched one, and what labels its topics.

:class:`Enricher` is the whole enrichment of a batch (entities, topics, language, story and duplicate grouping), and
all the stage loop needs of it (:mod:`.service`); :class:`Grouping` the story and duplicate decisions it may hand to
a state shared by replicas (:mod:`.state`); :class:`TopicClassifier` is the part a better model can replace without
touching the rest. They work on batches because spaCy is fast only on batches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from newswire.contract import Article, EnrichedArticle, Topic
from newswire.stage import Output

# The 17 top-level IPTC Media Topics, as the slugs the pipeline and the evaluation sets use.
TOPIC_LABELS: tuple[str, ...] = (
    "arts_culture",
    "conflict_war_peace",
    "crime_law_justice",
    "disaster_accident",
    "economy_business_finance",
    "education",
    "environment",
    "health",
    "human_interest",
    "labour",
    "lifestyle_leisure",
    "politics",
    "religion",
    "science_technology",
    "society",
    "sport",
    "weather",
)


@dataclass(frozen=True, slots=True)
class TopicInput:
    """What a topic classifier sees of one article: its title, its cleaned text and the text's word tokens."""

    title: str
    text: str
    words: Sequence[str]


class TopicClassifier(ABC):
    """Labels articles with the top-level IPTC Media Topics that apply, each with a score in [0, 1]."""

    name: str
    version: str

    @abstractmethod
    def classify(self, items: Sequence[TopicInput]) -> list[list[Topic]]:
        """For each item, the topics that apply (possibly none), highest score first."""


class Grouping(Protocol):
    """Assigns ``story_id`` and ``duplicate_of`` to enriched articles, in order, and records its decisions."""

    def assign(self, articles: Sequence[EnrichedArticle]) -> list[EnrichedArticle]:
        """``articles`` with their story and first copy, in the same order."""
        ...

    def drain_outputs(self) -> list[Output]:
        """Messages recording the decisions made since the last call, to send with the batch."""
        ...

    def start(self) -> None:
        """Catch up with the decisions other replicas made, before the first batch."""
        ...

    def close(self) -> None: ...


class Enricher(ABC):
    """Turns raw articles into enriched ones.

    ``grouping``, when set, is the shared story state the enricher assigns stories through; the stage starts it
    before the first batch, sends what it drains with each batch and closes it at the end.
    """

    grouping: Grouping | None = None

    def warm_up(self, batch_size: int) -> None:  # noqa: B027 - optional hook: an enricher without a model has none
        """Do the first batch's one-off work (model loading, heap growth) before the first poll."""

    def close(self) -> None:  # noqa: B027 - optional hook: an enricher without a process of its own has none
        """Release what the enricher holds (a model's process); the stage calls it when it stops."""

    def prefetch(self, articles: Sequence[Article]) -> None:  # noqa: B027 - optional hook: work done in place has none
        """Start the work of :meth:`enrich` on ``articles``, which it will be given next (or after the batch it is
        given next): a model in another process reads the next batch while this one's results are finished."""

    @abstractmethod
    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        """Enrich ``articles`` in one go; the result has one enriched article per article, in the same order.

        Raises any error of the model underneath for a batch it cannot handle; the caller then retries the
        articles one at a time to find the one at fault.
        """
