"""Listing stories (``SearchStore.stories``, ``newswire stories``, ``newswire story``) on the embedded store."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.app.cli import main
from newswire.contract import EnrichedArticle, Entity
from newswire.errors import InvalidQuery, SearchUnavailable
from newswire.indexer.embedded import EmbeddedStore
from newswire.search import SearchQuery, StoriesResult, StoryEntity, StoryQuery, story_articles
from tests.story_model import T0, Mutiny, expected_stories, make, matching_ids


def filled(path: Path, articles: list[EnrichedArticle]) -> EmbeddedStore:
    store = EmbeddedStore(path)
    store.ensure_ready()
    assert store.upsert(articles).written == len(articles)
    return store


@pytest.fixture(scope="module")
def mutiny() -> Mutiny:
    return Mutiny()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, mutiny: Mutiny) -> Iterator[EmbeddedStore]:
    store = filled(tmp_path_factory.mktemp("stories") / "search.sqlite3", mutiny.articles)
    yield store
    store.close()


def ids(store: EmbeddedStore, **query: Any) -> list[str]:
    return [story.story_id for story in store.stories(StoryQuery(**query)).stories]


# --- what a story says -------------------------------------------------------------------------------------------


def test_the_latest_story_comes_first_and_every_article_counts(store: EmbeddedStore, mutiny: Mutiny):
    result = store.stories(StoryQuery())
    assert result.total == 4
    assert [story.story_id for story in result.stories] == [
        mutiny.moscow.id,
        "story-deal",
        mutiny.putin.id,
        mutiny.rostov.id,
    ]
    rostov = result.stories[3]
    assert rostov.title == mutiny.shoigu.title  # its earliest article's, even though it was grouped later
    assert (rostov.size, rostov.copies, rostov.sources) == (3, 1, 3)
    assert rostov.first_published == T0 + timedelta(hours=0.5)
    assert rostov.last_published == T0 + timedelta(hours=1.5)
    assert rostov.top_entities == (
        StoryEntity("Yevgeny Prigozhin", "PERSON", 3),
        StoryEntity("Rostov-on-Don", "GPE", 2),
        StoryEntity("Sergei Shoigu", "PERSON", 1),
        StoryEntity("Valery Gerasimov", "PERSON", 1),
        StoryEntity("Wagner Group", "ORG", 1),
    )


def test_a_story_matching_through_one_article_is_summarised_over_all(store: EmbeddedStore, mutiny: Mutiny):
    result = store.stories(StoryQuery(text="gerasimov"))  # only one of the three Rostov articles says it
    assert [story.story_id for story in result.stories] == [mutiny.rostov.id]
    assert result.stories[0].size == 3
    assert result.stories[0].first_published == mutiny.shoigu.published
    assert result.stories[0].title == mutiny.shoigu.title  # the earliest article's, not the matching one's


def test_without_its_first_article_a_story_is_named_by_its_earliest(store: EmbeddedStore, mutiny: Mutiny):
    (deal,) = store.stories(StoryQuery(story_id="story-deal")).stories
    assert deal.title == mutiny.deal.title
    assert deal.sources == 2


def test_an_article_without_a_story_is_a_story_of_its_own(store: EmbeddedStore, mutiny: Mutiny):
    (moscow,) = store.stories(StoryQuery(text="moscow")).stories
    assert (moscow.story_id, moscow.title, moscow.size, moscow.copies) == (mutiny.moscow.id, mutiny.moscow.title, 1, 0)
    assert story_articles(store, mutiny.moscow.id) == (1, [mutiny.moscow])


def test_filters_pick_stories_through_their_articles(store: EmbeddedStore, mutiny: Mutiny):
    assert ids(store, entities=("Belarus",)) == ["story-deal"]
    assert ids(store, sources=("Wire Relay",)) == [mutiny.rostov.id]
    assert ids(store, since=T0 + timedelta(hours=3), until=T0 + timedelta(hours=29)) == ["story-deal", mutiny.putin.id]
    assert ids(store, entities=("Yevgeny Prigozhin",), sort="size") == [mutiny.rostov.id, "story-deal", mutiny.putin.id]
    assert store.stories(StoryQuery(text="football")).total == 0
    assert store.stories(StoryQuery(story_id="no-such-story")).stories == ()


def test_sort_by_size_then_newest_and_paging(store: EmbeddedStore, mutiny: Mutiny):
    assert ids(store, sort="size") == [mutiny.rostov.id, "story-deal", mutiny.moscow.id, mutiny.putin.id]
    page = store.stories(StoryQuery(sort="size", size=2, offset=1))
    assert page.total == 4
    assert [story.story_id for story in page.stories] == ["story-deal", mutiny.moscow.id]
    assert store.stories(StoryQuery(size=5, offset=4)) == StoriesResult(total=4, stories=())


def test_equal_stories_are_ordered_by_id(tmp_path: Path):
    same_time = [make(f"Story {n}", story_id=f"story-{n}") for n in "cab"]
    with_ties = filled(tmp_path / "search.sqlite3", same_time)
    try:
        assert ids(with_ties) == ["story-a", "story-b", "story-c"]
        assert ids(with_ties, sort="size") == ["story-a", "story-b", "story-c"]
    finally:
        with_ties.close()


def test_top_entities_are_five_most_articles_first_then_by_name(tmp_path: Path):
    names = ("Moscow", "Belarus", "Wagner Group", "Sergei Shoigu", "Vladimir Putin", "Alexander Lukashenko")
    articles = [make("One", story_id="s", entities=names), make("Two", story_id="s", entities=("Moscow",))]
    one_story = filled(tmp_path / "search.sqlite3", articles)
    try:
        (story,) = one_story.stories(StoryQuery()).stories
    finally:
        one_story.close()
    assert [(entity.name, entity.count) for entity in story.top_entities] == [
        ("Moscow", 2),
        ("Alexander Lukashenko", 1),
        ("Belarus", 1),
        ("Sergei Shoigu", 1),
        ("Vladimir Putin", 1),
    ]


# --- the articles of one story -----------------------------------------------------------------------------------


def test_the_articles_of_a_story_are_read_oldest_first(store: EmbeddedStore, mutiny: Mutiny):
    assert story_articles(store, mutiny.rostov.id) == (3, [mutiny.shoigu, mutiny.rostov, mutiny.rostov_copy])
    assert story_articles(store, mutiny.rostov.id, limit=2) == (3, [mutiny.shoigu, mutiny.rostov])
    assert story_articles(store, "no-such-story") == (0, [])


def test_the_story_filter_of_search_sorted_by_date_lists_newest_first(store: EmbeddedStore, mutiny: Mutiny):
    hits = store.search(SearchQuery(story_id=mutiny.rostov.id, sort="date")).hits
    assert [hit.article for hit in hits] == [mutiny.rostov_copy, mutiny.rostov, mutiny.shoigu]


# --- what cannot be asked ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"size": 0}, "size must be between 1 and 1000"),
        ({"size": 1001}, "size must be between 1 and 1000"),
        ({"offset": -1}, "offset must be 0 or more"),
        ({"offset": 9990, "size": 20}, "offset + size must stay within 10000"),
        ({"since": T0, "until": T0 - timedelta(days=1)}, "the date range is empty"),
        ({"sort": "relevance"}, "sort must be latest or size"),
    ],
)
def test_an_impossible_story_query_is_refused(fields: dict[str, Any], message: str):
    with pytest.raises(InvalidQuery, match=re.escape(message)):
        StoryQuery(**fields)


def test_an_invalid_text_is_an_invalid_query(store: EmbeddedStore):
    with pytest.raises(InvalidQuery, match="missing"):
        store.stories(StoryQuery(text="(wagner"))


def test_a_missing_store_is_unavailable(tmp_path: Path):
    with pytest.raises(SearchUnavailable, match="no embedded search store"):
        EmbeddedStore(tmp_path / "absent.sqlite3").stories(StoryQuery())


# --- the definition, on generated stores ---------------------------------------------------------------------------

_SOURCES = ("Harbour Post", "Wire Relay", "Capital Courier")
_ENTITIES = (("Yevgeny Prigozhin", "PERSON"), ("Wagner Group", "ORG"), ("Wagner Group", "PERSON"), ("Moscow", "GPE"))


@st.composite
def _corpora(draw: st.DrawFn) -> list[EnrichedArticle]:
    articles: list[EnrichedArticle] = []
    for n in range(draw(st.integers(1, 12))):
        earlier = [article.id for article in articles]
        story = draw(st.sampled_from([None, "story-a", "story-b", *earlier[-2:]]))
        article = make(
            f"Article {n} about {draw(st.sampled_from(['wagner', 'moscow', 'rain']))}",
            hours=draw(st.integers(0, 2)),  # ties in time are common
            story_id=story,
            source=draw(st.sampled_from(_SOURCES)),
            duplicate_of=draw(st.sampled_from([None, *earlier[-1:]])),
        )
        entities = draw(st.lists(st.sampled_from(_ENTITIES), max_size=3, unique=True))
        articles.append(
            article.model_copy(
                update={"entities": [Entity(name=name, label=label, count=1) for name, label in entities]}
            )
        )
    if draw(st.booleans()):  # a story whose first article is there: its id is its story
        first = articles[0]
        articles[0] = first.model_copy(update={"story_id": first.id})
    return articles


_queries = st.builds(
    StoryQuery,
    text=st.sampled_from(["", "wagner", "moscow OR rain", "-rain wagner"]),
    entities=st.sampled_from([(), ("Wagner Group",), ("Moscow",)]),
    sources=st.sampled_from([(), ("Wire Relay",), ("Harbour Post", "Capital Courier")]),
    since=st.sampled_from([None, T0 + timedelta(hours=1)]),
    story_id=st.sampled_from([None, "story-a"]),
    sort=st.sampled_from(["latest", "size"]),
    size=st.integers(1, 4),
    offset=st.integers(0, 3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=_corpora(), queries=st.lists(_queries, min_size=1, max_size=4))
def test_the_listing_follows_the_definition(corpus: list[EnrichedArticle], queries: list[StoryQuery]):
    with tempfile.TemporaryDirectory() as directory:
        generated = filled(Path(directory) / "search.sqlite3", corpus)
        try:
            for query in queries:
                assert generated.stories(query) == expected_stories(corpus, matching_ids(generated, query), query)
        finally:
            generated.close()


# --- newswire stories and newswire story ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_directory(tmp_path_factory: pytest.TempPathFactory, mutiny: Mutiny) -> Path:
    directory = tmp_path_factory.mktemp("data")
    filled(directory / "search.sqlite3", mutiny.articles).close()
    return directory


def test_stories_prints_one_line_per_story(data_directory: Path, mutiny: Mutiny, capsys: pytest.CaptureFixture[str]):
    args = ["stories", "--entity", "Yevgeny Prigozhin", "--sort", "size", "--data-dir", str(data_directory)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "3 stories match; showing 1-3"
    assert len(lines) == 4
    rostov = lines[1]
    assert rostov.startswith("2023-06-24 07:30")
    for part in ("3 articles", "3 sources", mutiny.shoigu.title, "[Yevgeny Prigozhin, Rostov-on-Don, Sergei Shoigu]"):
        assert part in rostov
    assert rostov.endswith(mutiny.rostov.id)
    assert lines[3].endswith(mutiny.putin.id)


def test_stories_json_is_the_summaries(data_directory: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["stories", "--entity", "Belarus", "--json", "--data-dir", str(data_directory)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 1
    (story,) = document["stories"]
    assert story["story_id"] == "story-deal"
    assert (story["size"], story["copies"], story["sources"]) == (2, 0, 2)
    assert (story["first_published"], story["last_published"]) == ("2023-06-25T10:00:00Z", "2023-06-25T12:00:00Z")
    assert story["top_entities"][0] == {"name": "Belarus", "label": "GPE", "count": 2}


def test_story_prints_the_summary_then_the_articles_oldest_first(
    data_directory: Path, mutiny: Mutiny, capsys: pytest.CaptureFixture[str]
):
    assert main(["story", mutiny.rostov.id, "--data-dir", str(data_directory)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(mutiny.shoigu.title + "\n")
    assert "3 articles (1 syndicated copy) from 3 sources, 2023-06-24 06:30 to 2023-06-24 07:30 UTC" in out
    listed = [line for line in out.splitlines() if line.startswith("  2023-")]
    assert [line.split(": ", 1)[0].split("  ")[-1] for line in listed] == [
        "Capital Courier",
        "Harbour Post",
        "Wire Relay",
    ]
    assert listed[2].endswith("(copy)")


def test_story_json_has_the_articles_oldest_first(
    data_directory: Path, mutiny: Mutiny, capsys: pytest.CaptureFixture[str]
):
    assert main(["story", "story-deal", "--json", "--data-dir", str(data_directory)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["story"]["title"] == mutiny.deal.title
    assert document["articles_total"] == 2
    assert [article["id"] for article in document["articles"]] == [mutiny.deal.id, mutiny.deal_later.id]


def test_an_unknown_story_is_one_line_and_exit_1(data_directory: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["story", "no-such-story", "--data-dir", str(data_directory)]) == 1
    err = capsys.readouterr().err
    assert err == "newswire story: no story with id 'no-such-story'\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stories", "(wagner"], "missing ')'"),
        (["stories", "--size", "0"], "size must be between 1 and 1000"),
        (["stories", "--size", "5000"], "size must be between 1 and 1000"),
        (["stories", "--offset", "9999"], "offset + size must stay within 10000"),
        (["stories", "--since", "2023-06-25", "--until", "2023-06-24"], "the date range is empty"),
        (["story", "x" * 129], "a story id is 1 to 128 characters"),
        (["story", "bad\x07id"], "without control characters"),
    ],
)
def test_invalid_input_is_one_line_and_exit_2(
    data_directory: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    assert main([*args, "--data-dir", str(data_directory)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
