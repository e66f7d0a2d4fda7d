"""Syndicated copies: a body that matches marks ``duplicate_of`` whatever the headline and summary say.

The bodies below are written for these tests (a fictional port accident, a fictional council vote).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newswire.contract import Article, EnrichedArticle, Enrichment, utc_now
from newswire.processors.duplicates import MIN_SHINGLES, NUM_PERM, SHINGLE_WORDS, DuplicateIndex
from newswire.processors.state import LocalGrouping
from newswire.processors.stories import StoryTracker, features_of

ORIGINAL_TIME = datetime(2023, 6, 24, 7, 30, tzinfo=UTC)
COPY_DELAY = timedelta(minutes=35)

# About 150 words in three paragraphs, as a wire story comes.
LONG_BODY = (
    "The harbour authority closed the northern container terminal at Saltmere on Tuesday after a gantry crane "
    "collapsed onto a cargo ship during the night shift, and two dock workers were taken to hospital with minor "
    "injuries.\n\n"
    "Inspectors from the national transport safety board arrived at first light and began questioning the crane "
    "operators and the engineers who had serviced the machine last month. A spokeswoman for the board said it was "
    "too early to say whether a mechanical fault or high winds had brought the boom down.\n\n"
    "Shipping lines were told to expect delays of at least three days for vessels bound for the terminal, which "
    "handles about a fifth of the country's container traffic. Two ships waiting offshore were diverted to the "
    "southern quay, and the dockers' union called for an independent review of maintenance at every berth."
)
# About 60 words: a short item, where each stray shingle weighs more.
SHORT_BODY = (
    "Councillors in Brackenford voted by nine to four on Monday night to close the old swimming baths on Mill Lane "
    "at the end of the summer, saying repairs to the roof and boilers would cost more than a new pool. Campaigners "
    "who packed the public gallery said they would ask the courts to review the decision."
)


@pytest.fixture
def enriched_factory(article_factory: Callable[..., Article]) -> Callable[..., EnrichedArticle]:
    """``enriched_factory(title=..., content=...)``: an enriched article without entities or topics."""

    def make(**fields: Any) -> EnrichedArticle:
        enrichment = Enrichment(model="m", model_version="1", processor_version="1", enriched_at=utc_now())
        return EnrichedArticle.from_article(article_factory(**fields), enrichment=enrichment)

    return make


def _pair(
    enriched_factory: Callable[..., EnrichedArticle], original: dict[str, str], copy: dict[str, str]
) -> tuple[EnrichedArticle, EnrichedArticle]:
    """An original from one outlet and its copy from another, published 35 minutes later."""
    first = enriched_factory(
        url="https://saltmere-gazette.example/news/1",
        source="Saltmere Gazette",
        feed_url="https://saltmere-gazette.example/rss",
        published=ORIGINAL_TIME,
        **original,
    )
    second = enriched_factory(
        url="https://coastal-courier.example/story/2",
        source="Coastal Courier",
        feed_url="https://coastal-courier.example/feed",
        published=ORIGINAL_TIME + COPY_DELAY,
        **copy,
    )
    return first, second


CASES = {
    "identical body, another headline": (
        {"title": "Crane collapse shuts Saltmere container terminal", "content": LONG_BODY},
        {"title": "Two hurt as crane falls on cargo ship", "content": LONG_BODY},
    ),
    "short body, another headline": (
        {"title": "Mill Lane baths to close", "content": SHORT_BODY},
        {"title": "Campaigners vow court fight over pool vote", "content": SHORT_BODY},
    ),
    "short body, a standfirst on the copy only": (
        {"title": "Mill Lane baths to close", "content": SHORT_BODY},
        {
            "title": "Campaigners vow court fight over pool vote",
            "summary": "Brackenford's Victorian baths will shut in September after a heated meeting at the town "
            "hall, and swimmers say the fight is not over yet.",
            "content": SHORT_BODY,
        },
    ),
    "only the summary differs": (
        {
            "title": "Crane collapse shuts Saltmere container terminal",
            "summary": "Saltmere's busiest berth is shut for days and safety inspectors are on site.",
            "content": LONG_BODY,
        },
        {
            "title": "Crane collapse shuts Saltmere container terminal",
            "summary": "A fifth of the country's container trade faces delays after the night-shift accident, the "
            "union demands a review of crane maintenance at every berth, and two ships are sent south.",
            "content": LONG_BODY,
        },
    ),
    "short body, only the summary differs": (
        {
            "title": "Mill Lane baths to close",
            "summary": "Nine councillors backed the closure, four opposed it.",
            "content": SHORT_BODY,
        },
        {
            "title": "Mill Lane baths to close",
            "summary": "The roof and the boilers of the old baths need more money than a new pool would cost, the "
            "council says, and campaigners in the gallery booed the result.",
            "content": SHORT_BODY,
        },
    ),
    "short body, a different page-furniture line on each": (
        {
            "title": "Mill Lane baths to close",
            "content": "Sign up to the Bulletin, our free morning newsletter with the day's local news, sport and "
            "weather\n" + SHORT_BODY,
        },
        {
            "title": "Campaigners vow court fight over pool vote",
            "content": SHORT_BODY + "\nREAD MORE: Brackenford leisure centre plans unveiled after two years of delays "
            "and a long row over parking",
        },
    ),
    "body in the feed's description on one outlet, in its content on the other": (
        {"title": "Mill Lane baths to close", "summary": SHORT_BODY},
        {
            "title": "Campaigners vow court fight over pool vote",
            "summary": "Campaigners vow to fight on.",
            "content": SHORT_BODY,
        },
    ),
}


@pytest.mark.parametrize(("original", "copy"), CASES.values(), ids=CASES.keys())
def test_a_copy_of_the_body_is_marked_and_joins_the_original_story(enriched_factory, original, copy):
    first, second = _pair(enriched_factory, original, copy)
    first, second = LocalGrouping().assign([first, second])
    assert first.duplicate_of is None and first.story_id == first.id
    assert second.duplicate_of == first.id
    assert second.story_id == first.story_id


def test_a_different_body_under_the_same_headline_is_no_copy(enriched_factory):
    """The headline is no evidence either way: two reports under one headline are two articles."""
    first, second = _pair(
        enriched_factory,
        {"title": "Mill Lane baths to close", "content": SHORT_BODY},
        {"title": "Mill Lane baths to close", "content": LONG_BODY},
    )
    _, second = LocalGrouping().assign([first, second])
    assert second.duplicate_of is None


def test_a_copy_joins_its_original_story_even_where_another_story_fits_its_words_better(enriched_factory):
    """A duplicate decision is final: the story grouping does not move the copy to a story it resembles more.

    The copy carries the headline and standfirst of a running strike story; only its body is the original's.
    """
    headline = "Saltmere dockers walk out as union demands crane safety review and new staffing deal"
    standfirst = (
        "Dockers stage a walkout at Saltmere and union leaders demand a review of staffing levels, night shifts and "
        "berth maintenance before any return to work."
    )
    grouping = LocalGrouping()
    [strike] = grouping.assign(
        [
            enriched_factory(
                title=headline,
                summary=standfirst,
                content="Picket lines formed outside the Saltmere dock gates at dawn, and union officials said nine "
                "in ten members had voted for the walkout after months of talks about staffing levels.",
                published=ORIGINAL_TIME - timedelta(hours=2),
            )
        ]
    )
    first, second = _pair(
        enriched_factory,
        {"title": "Board opens inquiry", "content": LONG_BODY},
        {"title": headline, "summary": standfirst, "content": LONG_BODY},
    )
    [first] = grouping.assign([first])
    tracker = grouping.tracker
    placed = tracker.place(features_of(second))
    by_words = {story: tracker.similarity(placed, tracker._stories[story]) for story in (strike.story_id, first.id)}
    assert by_words[strike.story_id] > by_words[first.id], by_words  # what the story grouping alone would choose
    [second] = grouping.assign([second])
    assert second.duplicate_of == first.id
    assert second.story_id == first.story_id


# Words that no boilerplate pattern starts with, so a generated body is all body.
_WORD = st.text(alphabet="bdfgkmnprstvz", min_size=2, max_size=4).map(lambda stem: stem + "o")
_BODY = st.lists(_WORD, min_size=MIN_SHINGLES + SHINGLE_WORDS - 1, max_size=120, unique=True).map(" ".join)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=60)
@given(body=_BODY, titles=st.tuples(st.text(), st.text()), summaries=st.tuples(st.text(), st.text()))
def test_any_body_long_enough_to_fingerprint_is_a_copy_of_itself_whatever_the_headline_and_summary(
    enriched_factory, body, titles, summaries
):
    first, second = _pair(
        enriched_factory,
        {"title": titles[0], "summary": summaries[0], "content": body},
        {"title": titles[1], "summary": summaries[1], "content": body},
    )
    first, second = LocalGrouping().assign([first, second])
    assert second.duplicate_of == first.id and second.story_id == first.story_id


def test_a_body_too_short_to_fingerprint_is_not_called_a_copy(enriched_factory):
    """A one-line flash says too little to tell a copy from two outlets reporting the same fact."""
    flash = "Brackenford council votes to close Mill Lane baths."
    first, second = _pair(
        enriched_factory, {"title": "Baths to close", "content": flash}, {"title": "Pool vote", "content": flash}
    )
    assert features_of(first).fingerprint is None
    _, second = LocalGrouping().assign([first, second])
    assert second.duplicate_of is None


_THRESHOLD = 0.6
_MOST_CHANGED = int(NUM_PERM * (1 - _THRESHOLD))  # the most values two fingerprints may differ in and still match


@given(count=st.integers(0, _MOST_CHANGED), seed=st.integers(0, 2**32 - 1))
@example(count=-7, seed=1)  # one value in every seventh place: every band of datasketch's own 18 x 7 differs
def test_the_index_finds_every_fingerprint_that_reaches_the_threshold(count, seed):
    """Near-identical means an estimated Jaccard similarity at the threshold: the LSH bands must not miss one.

    Which of the 128 values differ is up to the texts: ``count`` of them anywhere (a negative count: every
    ``-count``-th).
    """
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    changed = range(0, NUM_PERM, -count) if count < 0 else rng.choice(NUM_PERM, count, replace=False)
    near = values.copy()
    for position in changed:
        near[position] ^= np.uint32(1 + position)
    assert np.count_nonzero(near == values) / NUM_PERM >= _THRESHOLD
    index = DuplicateIndex(_THRESHOLD)
    index.add("original", values, ORIGINAL_TIME, None)
    assert index.first_copy(near, ORIGINAL_TIME + COPY_DELAY) == "original"


def test_a_copy_whose_differences_spoil_the_most_bands_is_still_found():
    # The index compares value by value only the articles that share enough bands; the worst case for that filter
    # is a copy at the threshold whose every differing value falls in another band.
    rng = np.random.default_rng(11)
    values = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    index = DuplicateIndex(_THRESHOLD)
    index.add("original", values, ORIGINAL_TIME, None)
    spread = values.copy()
    spread[[band * index.rows for band in range(_MOST_CHANGED)]] ^= np.uint32(1)
    assert np.count_nonzero(spread == values) / NUM_PERM >= _THRESHOLD
    assert index.first_copy(spread, ORIGINAL_TIME + COPY_DELAY) == "original"


def test_among_many_articles_sharing_stock_phrases_only_the_copy_is_found():
    # Bodies that share a stock phrase or two share a band or two: candidates that must all be turned down.
    rng = np.random.default_rng(5)
    values = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    index = DuplicateIndex(_THRESHOLD)
    for number in range(300):
        other = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
        shared_band = number % index.bands
        start = shared_band * index.rows
        other[start : start + index.rows] = values[start : start + index.rows]
        index.add(f"other-{number}", other, ORIGINAL_TIME, None)
    copy = values.copy()
    copy[: _MOST_CHANGED // 2] ^= np.uint32(3)
    index.add("original", copy, ORIGINAL_TIME + COPY_DELAY, None)
    assert index.first_copy(values, ORIGINAL_TIME + 2 * COPY_DELAY) == "original"
    assert index.first_copy(rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32), ORIGINAL_TIME) is None


def test_the_index_refuses_a_fingerprint_below_the_threshold():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    far = values.copy()
    far[: _MOST_CHANGED + 1] ^= np.uint32(1)
    index = DuplicateIndex(_THRESHOLD)
    index.add("original", values, ORIGINAL_TIME, None)
    assert index.first_copy(far, ORIGINAL_TIME + COPY_DELAY) is None


def test_fingerprints_of_one_body_under_two_headlines_are_equal(enriched_factory):
    first, second = _pair(
        enriched_factory,
        {"title": "Mill Lane baths to close", "summary": "Nine to four.", "content": SHORT_BODY},
        {"title": "Pool vote", "summary": "Campaigners vow to fight on in the courts.", "content": SHORT_BODY},
    )
    one, other = features_of(first).fingerprint, features_of(second).fingerprint
    assert one is not None and other is not None
    assert one.tolist() == other.tolist()


def test_a_tracker_with_another_threshold_still_finds_copies(enriched_factory):
    tracker = StoryTracker(duplicate_threshold=0.8)
    first, second = _pair(
        enriched_factory,
        {"title": "Mill Lane baths to close", "content": SHORT_BODY},
        {"title": "Pool vote", "content": SHORT_BODY + " Updated at 9.05am."},
    )
    tracker.assign(features_of(first))
    assert tracker.assign(features_of(second)).duplicate_of == first.id
