"""Revisions: a re-polled article whose headline or lede changed is published again, saying what changed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswire.contract import HeadlineChange, decode_raw, encode_raw
from newswire.errors import ContractError
from newswire.ingest.dedupe import HEADLINE_HISTORY, Candidate
from newswire.ingest.parse import ParsedEntry
from newswire.ingest.state import STATE_FILE, KnownArticle, StateFile

BASE = "https://wire.example.org"


def wire(title: str, summary: str, content: str = "") -> bytes:
    body = f"<content:encoded><![CDATA[<p>{content}</p>]]></content:encoded>" if content else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/'
        'content/"><channel><title>Steppe Wire</title><link>https://wire.example.org/</link><language>en</language>'
        f"<item><title>{title}</title><link>{BASE}/2023/06/24/columns</link>"
        f'<guid isPermaLink="false">columns</guid><description>&lt;p&gt;{summary}&lt;/p&gt;</description>{body}'
        "</item></channel></rss>"
    ).encode()


FIRST_TITLE = "Wagner columns are moving towards Moscow"
SECOND_TITLE = "Wagner columns turn back 200 km from Moscow"
LEDE = "Prigozhin says his fighters are on the M4 motorway."
SECOND_LEDE = "Prigozhin says his fighters will return to their camps."


def revisions(run) -> list:
    return sorted(run.articles(), key=lambda article: article.revision)


def test_a_changed_headline_then_lede_give_revisions_that_say_what_changed(feed_server, settings_factory, poller_run):
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    feed_server.routes["/wire.xml"] = wire(FIRST_TITLE, LEDE)
    poller_run(settings).run(once=True)
    feed_server.routes["/wire.xml"] = wire(SECOND_TITLE, LEDE)
    poller_run(settings).run(once=True)
    feed_server.routes["/wire.xml"] = wire(SECOND_TITLE, SECOND_LEDE)
    poller_run(settings).run(once=True)

    first, second, third = revisions(poller_run(settings))
    assert [first.revision, second.revision, third.revision] == [1, 2, 3]
    assert first.id == second.id == third.id
    assert first.revised is None
    assert second.revised is not None and third.revised is not None
    assert (second.revised.previous_title, second.revised.title_changed, second.revised.lede_changed) == (
        FIRST_TITLE,
        True,
        False,
    )
    assert second.title == SECOND_TITLE
    assert second.revised.revised_at == second.fetched
    assert (third.revised.previous_lede, third.revised.title_changed, third.revised.lede_changed) == (LEDE, False, True)
    assert third.revised.previous_title == SECOND_TITLE
    # What subscribers of news.raw receive: the change survives the wire.
    assert decode_raw(encode_raw(third)).revised == third.revised


def test_a_change_below_the_lede_is_a_revision_with_neither_flag(feed_server, settings_factory, poller_run):
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    feed_server.routes["/wire.xml"] = wire(FIRST_TITLE, LEDE, "Tanks were seen in Voronezh.")
    poller_run(settings).run(once=True)
    feed_server.routes["/wire.xml"] = wire(FIRST_TITLE, LEDE, "Tanks were seen in Voronezh and Lipetsk.")
    poller_run(settings).run(once=True)

    _first, second = revisions(poller_run(settings))
    assert second.revised is not None
    assert (second.revised.title_changed, second.revised.lede_changed) == (False, False)


def test_a_poller_that_lost_the_previous_texts_still_says_it_is_a_revision(
    feed_server, settings_factory, poller_run, data_dir
):
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    feed_server.routes["/wire.xml"] = wire(FIRST_TITLE, LEDE)
    poller_run(settings).run(once=True)
    # As after a move to another poller: the feed record (with its recent articles) is there, the texts are not.
    state = sqlite3.connect(data_dir / STATE_FILE)
    state.execute("DELETE FROM articles")
    state.commit()
    state.close()
    feed_server.routes["/wire.xml"] = wire(SECOND_TITLE, LEDE)
    poller_run(settings).run(once=True)

    _first, second = revisions(poller_run(settings))
    assert second.revision == 2
    assert second.revised is not None
    assert second.revised.previous_title is None and second.revised.title_changed is None


def test_a_state_file_from_before_revision_texts_is_upgraded_in_place(tmp_path):
    path = tmp_path / STATE_FILE
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, feed_url TEXT NOT NULL, hash TEXT NOT NULL, "
        "revision INTEGER NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL)"
    )
    old.execute("INSERT INTO articles VALUES ('ab12cd34ef', 'https://wire.example.org/feed', 'h1', 1, 0, 0)")
    old.commit()
    old.close()

    state = StateFile(path)
    try:
        assert state.known(["ab12cd34ef"])["ab12cd34ef"].title == ""
        state.record_published([KnownArticle("ab12cd34ef", "https://wire.example.org/feed", "h2", 2, "Headline", "L")])
        assert state.known(["ab12cd34ef"])["ab12cd34ef"] == KnownArticle(
            "ab12cd34ef", "https://wire.example.org/feed", "h2", 2, "Headline", "L"
        )
    finally:
        state.close()


def test_the_contract_refuses_a_revision_without_its_time(feed_server, settings_factory, poller_run):
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    feed_server.routes["/wire.xml"] = wire(FIRST_TITLE, LEDE)
    poller_run(settings).run(once=True)
    (article,) = poller_run(settings).articles()
    value = encode_raw(article).replace(b'"revised":null', b'"revised":{"previous_title":"x"}')
    with pytest.raises(ContractError, match="revised_at"):
        decode_raw(value)


# --- the headline history --------------------------------------------------------------------------------------

THIRD_TITLE = "Prigozhin agrees to leave for Belarus"
FOURTH_TITLE = "Wagner fighters leave Rostov-on-Don"
WHEN = datetime(2023, 6, 24, 8, 0, tzinfo=UTC)


def test_successive_headlines_are_carried_by_each_revision_oldest_first_with_when_each_was_replaced(
    feed_server, settings_factory, poller_run
):
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    for title, summary in (
        (FIRST_TITLE, LEDE),
        (SECOND_TITLE, LEDE),
        (THIRD_TITLE, LEDE),
        (THIRD_TITLE, SECOND_LEDE),  # the lede changes, the headline stays
        (FOURTH_TITLE, SECOND_LEDE),
    ):
        feed_server.routes["/wire.xml"] = wire(title, summary)
        poller_run(settings).run(once=True)

    first, second, third, fourth, fifth = revisions(poller_run(settings))
    assert first.revised is None
    assert second.revised is not None and third.revised is not None
    assert fourth.revised is not None and fifth.revised is not None
    assert second.revised.history == [HeadlineChange(title=FIRST_TITLE, until=second.fetched)]
    # Three headlines: the third revision lists the two before it, each until the poll that saw the next one.
    assert third.revised.history == [
        HeadlineChange(title=FIRST_TITLE, until=second.fetched),
        HeadlineChange(title=SECOND_TITLE, until=third.fetched),
    ]
    assert third.revised.previous_title == SECOND_TITLE
    # A revision that keeps the headline keeps the history as it was.
    assert fourth.revised.title_changed is False and fourth.revised.history == third.revised.history
    assert fifth.revised.history == [*third.revised.history, HeadlineChange(title=THIRD_TITLE, until=fifth.fetched)]
    # As subscribers of news.raw receive it.
    assert decode_raw(encode_raw(fifth)).revised == fifth.revised


def entry(title: str) -> ParsedEntry:
    return ParsedEntry(f"{BASE}/2023/06/24/columns", "columns", title, LEDE, "", WHEN, False, [], [])


def known_with(history: tuple[HeadlineChange, ...], title: str) -> KnownArticle:
    return KnownArticle("ab12cd34ef", f"{BASE}/feed", "h1", len(history) + 1, title, LEDE, history)


def test_the_history_keeps_the_last_headlines_only():
    changes = tuple(
        HeadlineChange(title=f"Headline {number}", until=WHEN + timedelta(hours=number))
        for number in range(HEADLINE_HISTORY)
    )
    previous = known_with(changes, "Headline now")
    candidate = Candidate(entry("Headline next"), previous.id, "h2", previous.revision + 1, previous)
    fetched = WHEN + timedelta(days=1)

    revised = candidate.revised("Headline next", fetched)
    assert revised is not None and revised.history is not None
    assert len(revised.history) == HEADLINE_HISTORY
    assert revised.history[0].title == "Headline 1"  # the oldest went
    assert revised.history[-1] == HeadlineChange(title="Headline now", until=fetched)
    assert candidate.known(previous.feed_url, "Headline next", fetched).history == tuple(revised.history)


def test_a_revision_whose_previous_texts_were_lost_says_its_history_is_unknown():
    candidate = Candidate(entry(SECOND_TITLE), "ab12cd34ef", "h2", 2, None)
    revised = candidate.revised(SECOND_TITLE, WHEN)
    assert revised is not None and revised.history is None
    assert candidate.known(f"{BASE}/feed", SECOND_TITLE, WHEN).history == ()


def test_a_state_file_from_before_the_history_loads_and_keeps_one_from_then_on(tmp_path):
    path = tmp_path / STATE_FILE
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE articles (id TEXT PRIMARY KEY, feed_url TEXT NOT NULL, hash TEXT NOT NULL, "
        "revision INTEGER NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, "
        "title TEXT NOT NULL DEFAULT '', lede TEXT NOT NULL DEFAULT '')"
    )
    old.execute(f"INSERT INTO articles VALUES ('ab12cd34ef', '{BASE}/feed', 'h1', 2, 0, 0, 'Headline', 'L')")
    old.commit()
    old.close()

    state = StateFile(path)
    try:
        assert state.known(["ab12cd34ef"])["ab12cd34ef"] == KnownArticle(
            "ab12cd34ef", f"{BASE}/feed", "h1", 2, "Headline", "L"
        )
        later = known_with((HeadlineChange(title="Headline", until=WHEN),), "Headline again")
        state.record_published([later])
        assert state.known(["ab12cd34ef"])["ab12cd34ef"] == later
    finally:
        state.close()


def test_a_history_the_poller_cannot_read_is_taken_as_none(tmp_path):
    state = StateFile(tmp_path / STATE_FILE)
    try:
        state.record_published([known_with((HeadlineChange(title="Headline", until=WHEN),), "Headline again")])
        with sqlite3.connect(state.path) as raw:
            raw.execute('UPDATE articles SET history = \'{"not": "a list"}\'')
        assert state.known(["ab12cd34ef"])["ab12cd34ef"].history == ()
    finally:
        state.close()


@given(
    st.lists(
        st.tuples(
            st.text(max_size=80),
            st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
        ),
        max_size=HEADLINE_HISTORY,
    )
)
def test_any_history_comes_back_from_the_state_file_as_it_was_recorded(tmp_path_factory, changes):
    # The wire's precision: milliseconds.
    history = tuple(
        HeadlineChange(title=title, until=moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC))
        for title, moment in changes
    )
    state = StateFile(tmp_path_factory.mktemp("state") / STATE_FILE)
    try:
        state.record_published([known_with(history, "Headline now")])
        assert state.known(["ab12cd34ef"])["ab12cd34ef"].history == history
    finally:
        state.close()
