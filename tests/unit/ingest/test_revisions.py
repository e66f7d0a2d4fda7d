"""Revisions: a re-polled article whose headline or lede changed is published again, saying what changed."""

from __future__ import annotations

import sqlite3

import pytest

from newswire.contract import decode_raw, encode_raw
from newswire.errors import ContractError
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
