"""The topic classifier's bigram shortcut: it forms only the bigrams that can be cues, and that changes no score."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.processors.base import TopicInput
from newswire.processors.topics import TITLE_BOOST, LexiconTopicClassifier, load_lexicon, parse_lexicon, simple_words

LEXICON = load_lexicon()
CLASSIFIER = LexiconTopicClassifier(LEXICON)
# Words that start cues or are cues, the second words of two-word cues, and words the lexicon does not know.
CUE_PARTS = sorted({part for cue in [*LEXICON.exact, *LEXICON.phrase_stems] for part in cue.split("_") if part})
OTHER_WORDS = ["the", "said", "on", "tuesday", "valencia", "x", "42"]


def every_bigram_evidence(classifier: LexiconTopicClassifier, item: TopicInput) -> dict[str, float]:
    """The evidence as the method defines it: every word and every bigram of the text looked up."""
    title_words = len(simple_words(item.title))
    mentions: dict[str, float] = {}
    words = list(item.words)
    for index, word in enumerate(words):
        boost = TITLE_BOOST if index < title_words else 1.0
        mentions[word] = mentions.get(word, 0.0) + boost
        if index + 1 < len(words):
            bigram = f"{word}_{words[index + 1]}"
            mentions[bigram] = mentions.get(bigram, 0.0) + boost
    evidence: dict[str, float] = {}
    for term, count in mentions.items():
        for topic, weight in classifier.lexicon.weights(term).items():
            evidence[topic] = evidence.get(topic, 0.0) + weight * (1.0 + math.log(count))
    return evidence


def _item(title_words: list[str], body_words: list[str]) -> TopicInput:
    words = title_words + body_words
    return TopicInput(" ".join(title_words), " ".join(words), words)


@settings(max_examples=300, deadline=None)
@given(
    title=st.lists(st.sampled_from(CUE_PARTS + OTHER_WORDS), max_size=8),
    body=st.lists(st.sampled_from(CUE_PARTS + OTHER_WORDS), max_size=60),
)
def test_the_shortcut_gives_the_evidence_of_every_bigram(title: list[str], body: list[str]) -> None:
    item = _item(title, body)
    assert CLASSIFIER.evidence(item) == every_bigram_evidence(CLASSIFIER, item)


def test_two_word_cues_and_stems_are_still_found() -> None:
    lexicon = parse_lexicon("labour\t3\ttrade_union*\nsport\t2\tworld_cup\nweather\t1\tstorm*\n")
    classifier = LexiconTopicClassifier(lexicon)
    words = ["the", "trade", "unionists", "met", "after", "the", "world", "cup", "storms"]
    evidence = classifier.evidence(TopicInput("", " ".join(words), words))
    assert set(evidence) == {"labour", "sport", "weather"}
    assert lexicon.phrase_heads == {"trade", "world"}
    # "cup world" and "unionists trade" are no cues: the order of the two words matters.
    reversed_words = ["cup", "world", "unionists", "trade"]
    assert classifier.evidence(TopicInput("", " ".join(reversed_words), reversed_words)) == {}
