"""The processor stage's interfaces: what turns an article into an enriched one, and what labels its topics.

:class:`Enricher` is the whole enrichment of a batch (entities, topics, language, story and duplicate grouping);
:class:`TopicClassifier` is the part a better model can replace without touching the rest. Both work on batches
because spaCy is fast only on batches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from newswire.contract import Article, EnrichedArticle, Topic

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


class Enricher(ABC):
    """Turns raw articles into enriched ones."""

    @abstractmethod
    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle]:
        """Enrich ``articles`` in one go; the result has one enriched article per article, in the same order.

        Raises any error of the model underneath for a batch it cannot handle; the caller then retries the
        articles one at a time to find the one at fault.
        """
