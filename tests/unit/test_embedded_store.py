"""The embedded search store (SQLite FTS5): what a user of `newswire search` without Elasticsearch gets."""

from __future__ import annotations

import contextlib
import itertools
import re
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.contract import EnrichedArticle, Entity, Topic
from newswire.errors import InvalidQuery, SearchError, SearchUnavailable
from newswire.indexer.embedded import EmbeddedStore, match_expression
from newswire.query import parse_query, tokenize
from newswire.search import Bucket, FacetCount, SearchQuery
from tests.factories import article_factory, enriched_factory

T0 = datetime(2023, 6, 24, 6, 0, tzinfo=UTC)
LABELS = {"Yevgeny Prigozhin": "PERSON", "Vladimir Putin": "PERSON", "Alexander Lukashenko": "PERSON", "Belarus": "GPE"}


def make(
    title: str = "Wagner column moves north",
    summary: str = "",
    content: str = "",
    *,
    entities: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    published: datetime = T0,
    story_id: str | None = None,
    duplicate_of: str | None = None,
    **fields: Any,
) -> EnrichedArticle:
    """An enriched article with exactly the text, entities and topics a test names."""
    raw = article_factory(
        title=title, summary=summary, content=content, published=published, fetched=published, **fields
    )
    return enriched_factory(
        raw,
        entities=[Entity(name=name, label=LABELS.get(name, "ORG"), count=1) for name in entities],
        topics=[Topic(label=label, score=0.8) for label in topics],
        story_id=story_id,
        duplicate_of=duplicate_of,
    )


def titles(store: EmbeddedStore, text: str = "", **query: Any) -> list[str]:
    return [hit.article.title for hit in store.search(SearchQuery(text=text, size=100, **query)).hits]


@pytest.fixture
def store(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "search.sqlite3", busy_timeout=0.5)
    store.ensure_ready()
    yield store
    store.close()


# --- set-up, get, count ---------------------------------------------------------------------------------------------


def test_ensure_ready_is_idempotent_and_keeps_the_articles(tmp_path: Path):
    path = tmp_path / "nested" / "search.sqlite3"
    first = EmbeddedStore(path)
    first.ensure_ready()
    first.ensure_ready()
    first.upsert([make()])
    first.close()
    again = EmbeddedStore(path)
    again.ensure_ready()
    assert again.count() == 1
    again.close()


def test_get_rebuilds_the_enriched_article_exactly(store: EmbeddedStore):
    article = make(
        "Lukashenko says he brokered the deal",
        "Belarus leader claims a role.",
        "Alexander Lukashenko said he talked to Prigozhin for hours.",
        entities=("Alexander Lukashenko", "Belarus"),
        topics=("politics",),
        story_id="story-deal",
        published=T0.replace(microsecond=250_000),
    )
    store.upsert([article])
    assert store.get(article.id) == article
    assert store.get("f" * 32) is None
    assert store.search(SearchQuery(text="brokered")).hits[0].article == article


def test_reading_a_store_that_does_not_exist_is_unavailable_and_creates_nothing(tmp_path: Path):
    path = tmp_path / "search.sqlite3"
    store = EmbeddedStore(path)
    with pytest.raises(SearchUnavailable, match="no embedded search store"):
        store.search(SearchQuery(text="wagner"))
    with pytest.raises(SearchUnavailable):
        store.count()
    assert not path.exists()


def test_a_file_that_is_not_a_store_gives_one_clear_error(tmp_path: Path):
    path = tmp_path / "search.sqlite3"
    path.write_bytes(b"this is not a database, just some bytes" * 100)
    with pytest.raises(SearchError, match=str(path)):
        EmbeddedStore(path).count()


def test_a_store_made_by_a_newer_version_is_refused(tmp_path: Path):
    path = tmp_path / "search.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(SearchError, match="newer newswire"):
        EmbeddedStore(path).ensure_ready()


def test_a_closed_store_says_so(store: EmbeddedStore):
    store.close()
    with pytest.raises(SearchError, match="closed"):
        store.count()


# --- upsert ---------------------------------------------------------------------------------------------------------


def test_upserting_the_same_articles_twice_changes_nothing(store: EmbeddedStore):
    articles = [make(f"Story {n}") for n in range(5)]
    assert store.upsert(articles).written == 5
    assert store.upsert(articles).written == 5
    assert store.count() == 5
    assert store.search(SearchQuery(text="story")).total == 5


def test_an_older_revision_never_replaces_a_newer_one(store: EmbeddedStore):
    first = make("Convoy seen near Voronezh", entities=("Wagner Group",), topics=("conflict_war_peace",))
    second = first.model_copy(update={"title": "Convoy turns back before Moscow", "revision": 2, "entities": []})
    store.upsert([second])
    result = store.upsert([first])
    assert result.written == 0
    assert result.rejected == ()
    assert store.get(first.id) == second
    assert titles(store, "voronezh") == []
    assert store.search(SearchQuery(entities=("Wagner Group",))).total == 0


def test_a_newer_revision_replaces_text_entities_and_topics(store: EmbeddedStore):
    first = make("Convoy seen near Voronezh", entities=("Wagner Group",), topics=("conflict_war_peace",))
    newer = first.model_copy(
        update={"title": "Convoy turns back before Moscow", "revision": 2, "entities": [], "topics": []}
    )
    store.upsert([first])
    store.upsert([newer])
    assert store.count() == 1
    assert titles(store, "voronezh") == []
    assert titles(store, "moscow") == ["Convoy turns back before Moscow"]
    result = store.search(SearchQuery(facets=True))
    assert result.facets["entities"] == ()
    assert result.facets["topics"] == ()


def test_the_same_revision_again_overwrites(store: EmbeddedStore):
    first = make("Draft headline")
    corrected = first.model_copy(update={"title": "Corrected headline"})
    store.upsert([first])
    store.upsert([corrected])
    assert store.get(first.id) == corrected
    assert titles(store, "draft") == []


def test_articles_that_cannot_be_stored_are_rejected_and_the_rest_written(store: EmbeddedStore):
    good = make("Prigozhin leaves Rostov")
    bad_id = make("Not a hex id").model_copy(update={"id": "NOT-A-HEX-ID"})
    surrogate = make("Broken \ud800 text")
    result = store.upsert([bad_id, good, surrogate])
    assert result.written == 1
    assert [article_id for article_id, _ in result.rejected] == ["NOT-A-HEX-ID", surrogate.id]
    assert all(reason for _, reason in result.rejected)
    assert store.count() == 1


# --- query language -------------------------------------------------------------------------------------------------


@pytest.fixture
def wagner_store(store: EmbeddedStore):
    store.upsert(
        [
            make("Prigozhin halts the march", content="Wagner fighters turned back 200 km from Moscow toward Belarus."),
            make(
                "Rostov-on-Don wakes to armoured vehicles", content="Residents filmed tanks outside the headquarters."
            ),
            make("Don river ferry", content="A ferry on the Don left Rostov at dawn, on time."),
            make("Mobilisation rumours denied", content="The ministry said no mobilisation was planned."),
            make("Mobile networks slow in the south", content="Operators blamed heavy traffic."),
            make("Automobile sales rise", content="Dealers in Moscow sold more cars in June."),
            make("Prigozhin's statement", content="Yevgeny Prigozhin's audio message was posted at night."),
            make("Café owners count losses", content="A café near the square closed early."),
            make("Data_pipeline outage", content="The data_pipeline job failed."),
        ]
    )
    return store


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prigozhin belarus", ["Prigozhin halts the march"]),  # words AND across fields
        ("PRIGOZHIN", ["Prigozhin's statement", "Prigozhin halts the march"]),
        ('"rostov on don"', ["Rostov-on-Don wakes to armoured vehicles"]),
        ("Rostov-on-Don", ["Rostov-on-Don wakes to armoured vehicles"]),
        ("rostov don", ["Don river ferry", "Rostov-on-Don wakes to armoured vehicles"]),
        ("belarus OR tanks", ["Prigozhin halts the march", "Rostov-on-Don wakes to armoured vehicles"]),
        ("moscow -cars", ["Prigozhin halts the march"]),
        ("moscow NOT belarus", ["Automobile sales rise"]),
        ("(ferry OR tanks) dawn", ["Don river ferry"]),
        ("mobil*", ["Mobilisation rumours denied", "Mobile networks slow in the south"]),
        ("café", ["Café owners count losses"]),
        ("cafe", []),
        ("data_pipeline", ["Data_pipeline outage"]),
        ("data", []),
        ("200", ["Prigozhin halts the march"]),
    ],
)
def test_query_language(wagner_store: EmbeddedStore, text: str, expected: list[str]):
    assert sorted(titles(wagner_store, text)) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "title:moscow",
        "NEAR(moscow cars)",
        "moscow^",
        "{title summary}: moscow",
        "moscow + cars",
        "moscow AND",
        '"moscow',
    ],
)
def test_fts5_syntax_in_user_text_is_only_words(wagner_store: EmbeddedStore, text: str):
    try:
        result = wagner_store.search(SearchQuery(text=text))
    except InvalidQuery:
        return
    words = set(tokenize(text)) - {"and"}
    for hit in result.hits:
        article_words = set(tokenize(f"{hit.article.title} {hit.article.summary} {hit.article.content}"))
        assert words <= article_words


def test_invalid_query_is_reported(wagner_store: EmbeddedStore):
    with pytest.raises(InvalidQuery):
        wagner_store.search(SearchQuery(text="-moscow"))
    with pytest.raises(InvalidQuery):
        wagner_store.search(SearchQuery(text="(moscow"))


def test_match_expression_quotes_every_token():
    tree = parse_query('(putin OR "rostov on don") mobil* -sport')
    assert tree is not None
    words, exact = "{title_stems summary_stems content_stems}", "{title summary content}"
    assert match_expression(tree) == (
        f'(((({words} : "putin") OR ({exact} : "rostov on don")) AND ({exact} : "mobil"*)) NOT (({words} : "sport")))'
    )


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory):
    store = EmbeddedStore(tmp_path_factory.mktemp("shared") / "search.sqlite3")
    store.ensure_ready()
    store.upsert([make("Wagner near Moscow", content="Prigozhin's men and NEAR OR AND NOT words")])
    yield store
    store.close()


FTS5_SYNTAX = st.sampled_from(['"', "(", ")", "*", "^", ":", "+", "-", "{", "}", " ", "NEAR", "OR", "AND", "NOT", "a"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=80), st.lists(FTS5_SYNTAX, max_size=30).map("".join)))
def test_any_text_runs_or_is_an_invalid_query(shared_store: EmbeddedStore, text: str):
    with contextlib.suppress(InvalidQuery):
        shared_store.search(SearchQuery(text=text, facets=True, histogram="day"))


WORDS = st.text(
    # Latin with accents (composed and combining), dotted and dotless i, Greek sigmas, Cyrillic, digits, joiners
    alphabet=st.sampled_from(
        list("abcxyzAZ019_-'. \n\u0301\u00e9\u00c9\u00df\u0130\u0131\u03c3\u03c2\u03a3\u0436\u0416\u0451")
    ),
    max_size=40,
)


# FTS5 folds case with simple case folding, which also makes a final sigma a sigma (documented in the store).
FTS5_FOLDS = str.maketrans({"\u03c2": "\u03c3"})


@pytest.fixture(scope="module")
def token_store(tmp_path_factory: pytest.TempPathFactory):
    store = EmbeddedStore(tmp_path_factory.mktemp("tokens") / "search.sqlite3")
    store.ensure_ready()
    yield store
    store.close()


@settings(max_examples=200, deadline=None)
@given(content=WORDS, probe=WORDS)
def test_a_word_matches_exactly_when_tokenize_finds_it(token_store: EmbeddedStore, content: str, probe: str):
    """The store indexes the tokens of :func:`tokenize`, not FTS5's own idea of a word (a quoted word is exact)."""
    article = make("x", content=content).model_copy(update={"id": "ab" * 16})
    token_store.upsert([article])
    indexed = {token.translate(FTS5_FOLDS) for token in tokenize(content)} | {"x"}
    for word in [*re.findall(r"\w+", probe)[:1], *re.findall(r"\w+", content)[:2], "\u03c3\u03c2"]:
        tokens = tokenize(word)
        if len(tokens) != 1:  # a word whose lower case is several tokens ("İ") is a phrase
            continue
        (token,) = tokens
        found = token_store.search(SearchQuery(text=f'"{word}"')).total == 1
        assert found == (token.translate(FTS5_FOLDS) in indexed), (word, token)


# --- filters ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def filter_store(store: EmbeddedStore):
    store.upsert(
        [
            make(
                "Deal ends the mutiny",
                entities=("Yevgeny Prigozhin", "Alexander Lukashenko"),
                topics=("politics", "conflict_war_peace"),
                source="Meridian Wire",
                language="en",
                story_id="deal",
                published=T0,
            ),
            make(
                "Putin speaks of treason",
                entities=("Vladimir Putin", "Yevgeny Prigozhin"),
                topics=("politics",),
                source="Harbour Post",
                language="en",
                story_id="speech",
                published=T0 + timedelta(hours=1),
            ),
            make(
                "Einigung beendet den Aufstand",
                entities=("Yevgeny Prigozhin", "Alexander Lukashenko"),
                topics=("politics", "conflict_war_peace"),
                source="Nordkurier",
                language="de",
                story_id="deal",
                published=T0 + timedelta(days=1),
            ),
            make(
                "Deal ends the mutiny (copy)",
                entities=("Yevgeny Prigozhin",),
                topics=("conflict_war_peace",),
                source="Capital Courier",
                language="en",
                story_id="deal",
                duplicate_of="a" * 32,
                published=T0 + timedelta(days=1, milliseconds=1),
            ),
        ]
    )
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"entities": ("Yevgeny Prigozhin", "Alexander Lukashenko")},
            {"Deal ends the mutiny", "Einigung beendet den Aufstand"},
        ),
        ({"entities": ("Vladimir Putin",)}, {"Putin speaks of treason"}),
        ({"entities": ("Putin",)}, {"Putin speaks of treason"}),  # a person by surname
        ({"entities": ("vladimir  PUTIN",)}, {"Putin speaks of treason"}),  # case and spaces do not matter
        ({"entities": ("Vladimir",)}, set()),  # but a first name is not a key
        (
            {"topics": ("Politics", "Conflict, war and peace")},
            {"Deal ends the mutiny", "Einigung beendet den Aufstand"},
        ),
        ({"sources": ("harbour post",)}, {"Putin speaks of treason"}),
        ({"topics": ("politics", "conflict_war_peace")}, {"Deal ends the mutiny", "Einigung beendet den Aufstand"}),
        ({"sources": ("Harbour Post", "Nordkurier")}, {"Putin speaks of treason", "Einigung beendet den Aufstand"}),
        ({"language": "de"}, {"Einigung beendet den Aufstand"}),
        ({"story_id": "speech"}, {"Putin speaks of treason"}),
        ({"story_id": "deal", "collapse_duplicates": True}, {"Deal ends the mutiny", "Einigung beendet den Aufstand"}),
        (
            {"since": T0 + timedelta(hours=1)},
            {"Putin speaks of treason", "Einigung beendet den Aufstand", "Deal ends the mutiny (copy)"},
        ),
        ({"until": T0 + timedelta(hours=1)}, {"Deal ends the mutiny"}),
        (
            {"since": T0 + timedelta(days=1), "until": T0 + timedelta(days=1, milliseconds=1)},
            {"Einigung beendet den Aufstand"},
        ),
        ({"since": T0 + timedelta(days=1, microseconds=1)}, {"Deal ends the mutiny (copy)"}),
        ({"until": T0 + timedelta(microseconds=1)}, {"Deal ends the mutiny"}),
        (
            {"since": datetime(2023, 6, 24, 7, 0)},
            {"Putin speaks of treason", "Einigung beendet den Aufstand", "Deal ends the mutiny (copy)"},
        ),
    ],
)
def test_filters(filter_store: EmbeddedStore, query: dict[str, Any], expected: set[str]):
    assert set(titles(filter_store, **query)) == expected
    assert set(titles(filter_store, "deal OR putin OR einigung", **query)) == expected


_runs = itertools.count()


@settings(max_examples=100, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=-(10**6), max_value=10**6), min_size=1, max_size=8),
    since=st.none() | st.integers(min_value=-(10**9), max_value=10**9),
    until=st.none() | st.integers(min_value=-(10**9), max_value=10**9),
)
def test_the_date_range_is_since_inclusive_until_exclusive(token_store, offsets, since, until):
    """Published times are kept in milliseconds, as on the wire; the bounds may carry microseconds."""
    if since is not None and until is not None and since > until:
        since, until = until, since
    run = f"range{next(_runs)}"  # a word of this example only: earlier examples stay in the store
    token_store.upsert([make(run, published=T0 + timedelta(milliseconds=ms)) for ms in offsets])
    query = SearchQuery(
        text=run,
        since=None if since is None else T0 + timedelta(microseconds=since),
        until=None if until is None else T0 + timedelta(microseconds=until),
    )
    expected = [ms for ms in offsets if (since is None or ms * 1000 >= since) and (until is None or ms * 1000 < until)]
    assert token_store.search(query).total == len(expected)


# --- sorting, paging, facets, histogram, highlights ----------------------------------------------------------------


def test_a_word_in_the_title_ranks_above_the_same_word_in_the_content(store: EmbeddedStore):
    filler = "Officials gave few details on Saturday evening about the talks."
    store.upsert(
        [
            make("Talks reached late at night", content=f"{filler} Lukashenko was named as the broker."),
            make("Lukashenko brokers the talks", content=f"{filler} A deal was named late at night."),
        ]
    )
    assert titles(store, "lukashenko") == ["Lukashenko brokers the talks", "Talks reached late at night"]


def test_ties_break_on_date_then_id_and_date_sort_ignores_the_score(store: EmbeddedStore):
    older = make("Kremlin statement", published=T0)
    twins = [make("Kremlin statement", published=T0 + timedelta(hours=2)) for _ in range(2)]
    strong = make("Kremlin Kremlin statement", content="Kremlin", published=T0 - timedelta(days=1))
    store.upsert([older, *twins, strong])
    by_relevance = [hit.article.id for hit in store.search(SearchQuery(text="kremlin")).hits]
    assert by_relevance == [strong.id, *sorted(twin.id for twin in twins), older.id]
    by_date = [hit.article.id for hit in store.search(SearchQuery(text="kremlin", sort="date")).hits]
    assert by_date == [*sorted(twin.id for twin in twins), older.id, strong.id]


def test_no_query_text_lists_everything_newest_first(store: EmbeddedStore):
    articles = [make(f"Bulletin {n}", published=T0 + timedelta(minutes=n)) for n in range(4)]
    store.upsert(articles)
    result = store.search(SearchQuery(size=2, offset=1))
    assert result.total == 4
    assert [hit.article.title for hit in result.hits] == ["Bulletin 2", "Bulletin 1"]
    assert all(hit.score == 0.0 and hit.highlights == () for hit in result.hits)
    assert store.search(SearchQuery(size=0)).hits == ()


def test_facets_count_every_matching_article_most_first_then_by_name(filter_store: EmbeddedStore):
    result = filter_store.search(SearchQuery(size=1, facets=True))
    assert result.facets["entities"] == (
        FacetCount("Yevgeny Prigozhin", 4),
        FacetCount("Alexander Lukashenko", 2),
        FacetCount("Vladimir Putin", 1),
    )
    assert result.facets["topics"] == (FacetCount("conflict_war_peace", 3), FacetCount("politics", 3))
    assert [facet.value for facet in result.facets["sources"]] == [
        "Capital Courier",
        "Harbour Post",
        "Meridian Wire",
        "Nordkurier",
    ]
    limited = filter_store.search(SearchQuery(text="mutiny", facets=True, facet_size=1))
    assert limited.facets["entities"] == (FacetCount("Yevgeny Prigozhin", 2),)


def test_histogram_has_only_non_empty_utc_buckets_in_order(store: EmbeddedStore):
    times = [
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=50),
        T0 + timedelta(hours=3),
        T0 + timedelta(hours=18, minutes=30),
    ]
    store.upsert([make("Update", published=when) for when in times])
    by_hour = store.search(SearchQuery(text="update", histogram="hour")).histogram
    assert by_hour == (
        Bucket(datetime(2023, 6, 24, 6, tzinfo=UTC), 2),
        Bucket(datetime(2023, 6, 24, 9, tzinfo=UTC), 1),
        Bucket(datetime(2023, 6, 25, 0, tzinfo=UTC), 1),
    )
    by_day = store.search(SearchQuery(histogram="day")).histogram
    assert by_day == (Bucket(datetime(2023, 6, 24, tzinfo=UTC), 3), Bucket(datetime(2023, 6, 25, tzinfo=UTC), 1))


def test_histogram_buckets_before_1970_start_at_the_hour(store: EmbeddedStore):
    store.upsert([make("Archive", published=datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC))])
    assert store.search(SearchQuery(histogram="hour")).histogram == (Bucket(datetime(1969, 7, 20, 20, tzinfo=UTC), 1),)


def test_highlights_wrap_the_matched_words(store: EmbeddedStore):
    content = " ".join(["Filler words about the weather and the roads."] * 20)
    store.upsert(
        [
            make(
                "Wagner leaves Rostov-on-Don",
                "Wagner fighters left Rostov-on-Don overnight; the Don was calm.",
                f"{content} Wagner trucks were seen near Rostov. {content} Wagner again. {content} Wagner once more.",
            )
        ]
    )
    hit = store.search(SearchQuery(text='wagner "rostov on don" -moscow')).hits[0]
    assert len(hit.highlights) == 3
    assert hit.highlights[0] == "<em>Wagner</em> leaves <em>Rostov</em>-<em>on</em>-<em>Don</em>"
    assert "the Don was calm" in hit.highlights[1]  # a phrase word outside the phrase is not highlighted
    assert all(len(fragment) < 300 for fragment in hit.highlights)
    assert store.search(SearchQuery(text="wagner", highlight=False)).hits[0].highlights == ()


# --- concurrency -----------------------------------------------------------------------------------------------------


def test_another_process_reads_while_a_write_is_in_progress(store: EmbeddedStore):
    store.upsert([make("Prigozhin in Minsk"), make("Prigozhin in Rostov")])
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM articles")
    try:
        script = (
            "import sys; from newswire.indexer.embedded import EmbeddedStore; from newswire.search import SearchQuery;"
            "print(EmbeddedStore(sys.argv[1], busy_timeout=0.2).search(SearchQuery(text='prigozhin')).total)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(store.path)], capture_output=True, text=True, timeout=120
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def test_a_writer_locked_out_past_the_busy_timeout_is_told_the_store_is_unavailable(store: EmbeddedStore):
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SearchUnavailable, match="locked"):
            store.upsert([make("Blocked")])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.upsert([make("Unblocked")]).written == 1
    assert store.count() == 1


def test_threads_share_one_store(store: EmbeddedStore):
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                store.upsert([make(f"Thread {n} item {i}")])
                store.search(SearchQuery(text="thread", facets=True))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.search(SearchQuery(text="thread")).total == 40
