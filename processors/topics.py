"""Topic labels: a weighted-lexicon classifier over the 17 top-level IPTC Media Topics.

Method (documented so it can be argued with): ``processors/data/topics.tsv`` lists, per topic, cue words, stems
and two-word phrases with a weight of 1 to 3, written by hand. An article's evidence for a topic is the sum, over
the distinct cues found in its words, of ``weight * (1 + ln(mentions))``, with mentions in the title counted
:data:`TITLE_BOOST` times. Evidence becomes a score in [0, 1] with ``1 - exp(-evidence / scale)``, where the scale
grows with the square root of the article's length, so a long article needs more cues than a short one. A topic
applies when its score reaches :attr:`LexiconTopicClassifier.threshold` and is at least
:attr:`LexiconTopicClassifier.relative` of the best topic's score; the best topic applies whenever it reaches
:attr:`LexiconTopicClassifier.floor`.

It runs offline on the words spaCy already tokenised, costs a few dictionary lookups a word, and sits behind
:class:`~newswire.processors.base.TopicClassifier`, so a trained model can replace it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from newswire.contract import Topic
from newswire.errors import ConfigError
from newswire.processors.base import TOPIC_LABELS, TopicClassifier, TopicInput

TITLE_BOOST = 2.0
_MIN_STEM = 3


class Lexicon:
    """Cue -> {topic: weight}; exact cues and stems (``mercenar*``) kept apart so a lookup is a few dict probes."""

    def __init__(self) -> None:
        self.exact: dict[str, dict[str, float]] = {}
        self.stems: dict[str, dict[str, float]] = {}  # word stems ("mercenar")
        self.phrase_stems: dict[str, dict[str, float]] = {}  # two-word stems ("trade_union"), never single words
        self.longest_stem = 0
        # The first words of the two-word cues: a bigram can only be a cue if it starts with one of them, so the
        # classifier forms the bigrams of these words alone (most words of an article start no cue).
        self.phrase_heads: set[str] = set()

    def add(self, cue: str, topic: str, weight: float) -> None:
        cue = cue.lower().replace("-", "_")
        if cue.endswith("*"):
            stem = cue[:-1]
            if len(stem) < _MIN_STEM:
                raise ConfigError(f"topic cue {cue!r}: a stem needs at least {_MIN_STEM} letters")
            table = self.phrase_stems if "_" in stem else self.stems
            self.longest_stem = max(self.longest_stem, len(stem))
            cue = stem
        else:
            table = self.exact
        if "_" in cue:
            self.phrase_heads.add(cue.split("_", 1)[0])
        weights = table.setdefault(cue, {})
        weights[topic] = max(weights.get(topic, 0.0), weight)

    def weights(self, term: str) -> dict[str, float]:
        """The topics ``term`` (a word or ``word_word``) is a cue of, with the highest weight per topic."""
        found = dict(self.exact.get(term, {}))
        stems = self.phrase_stems if "_" in term else self.stems
        for size in range(_MIN_STEM, min(len(term), self.longest_stem) + 1):
            for topic, weight in stems.get(term[:size], {}).items():
                if weight > found.get(topic, 0.0):
                    found[topic] = weight
        return found


def parse_lexicon(text: str, *, source: str = "topics") -> Lexicon:
    lexicon = Lexicon()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 3:
            raise ConfigError(f"{source}:{number}: expected 'topic<TAB>weight<TAB>cues', got {line[:80]!r}")
        topic, weight_text, cues = (column.strip() for column in columns)
        if topic not in TOPIC_LABELS:
            raise ConfigError(f"{source}:{number}: unknown topic {topic!r}")
        try:
            weight = float(weight_text)
        except ValueError as exc:
            raise ConfigError(f"{source}:{number}: weight {weight_text!r} is not a number") from exc
        for cue in cues.split():
            if cue.count("_") > 1:
                raise ConfigError(f"{source}:{number}: cue {cue!r} has more than two words")
            lexicon.add(cue, topic, weight)
    return lexicon


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon at ``path``, or the one shipped with the processor."""
    if path is None:
        text = resources.files("newswire.processors").joinpath("data", "topics.tsv").read_text("utf-8")
        return parse_lexicon(text, source="processors/data/topics.tsv")
    try:
        return parse_lexicon(path.read_text("utf-8"), source=str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read the topic lexicon {path}: {exc.strerror}") from exc


_WORD = re.compile(r"[^\W_]+")


def simple_words(text: str) -> list[str]:
    """Lower-case words of ``text`` (runs of letters and digits), the tokens the lexicon is matched against."""
    return _WORD.findall(text.lower())


class LexiconTopicClassifier(TopicClassifier):
    """The weighted-lexicon classifier described in the module docstring."""

    name = "lexicon"
    version = "1"

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        *,
        scale: float = 10.0,
        threshold: float = 0.8,
        relative: float = 0.45,
        floor: float = 0.2,
    ) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.scale = scale
        self.threshold = threshold
        self.relative = relative
        self.floor = floor
        self._weights = lru_cache(maxsize=200_000)(self.lexicon.weights)

    def evidence(self, item: TopicInput) -> dict[str, float]:
        """Raw evidence per topic (before the length scaling); useful to see why a label was given."""
        title_words = len(simple_words(item.title))
        mentions: dict[str, float] = {}
        words = item.words
        heads = self.lexicon.phrase_heads
        last = len(words) - 1
        for index, word in enumerate(words):
            boost = TITLE_BOOST if index < title_words else 1.0
            mentions[word] = mentions.get(word, 0.0) + boost
            if index < last and word in heads:  # any other bigram is no cue (see Lexicon.phrase_heads)
                bigram = f"{word}_{words[index + 1]}"
                mentions[bigram] = mentions.get(bigram, 0.0) + boost
        evidence: dict[str, float] = {}
        weights_of = self._weights
        for term, count in mentions.items():
            weights = weights_of(term)
            if weights:
                strength = 1.0 + math.log(count)
                for topic, weight in weights.items():
                    evidence[topic] = evidence.get(topic, 0.0) + weight * strength
        return evidence

    def scores(self, item: TopicInput) -> dict[str, float]:
        scale = self.scale * math.sqrt(max(len(item.words), 40) / 150)
        return {topic: 1.0 - math.exp(-value / scale) for topic, value in self.evidence(item).items()}

    def classify(self, items: Sequence[TopicInput]) -> list[list[Topic]]:
        results = []
        for item in items:
            scores = self.scores(item)
            best = max(scores.values(), default=0.0)
            chosen = [
                Topic(label=topic, score=round(score, 4))
                for topic, score in scores.items()
                if (score >= self.threshold and score >= self.relative * best) or (score == best >= self.floor)
            ]
            chosen.sort(key=lambda topic: -topic.score)
            results.append(chosen)
        return results
