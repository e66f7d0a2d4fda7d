"""Entries that cannot be articles as they are: counted per feed with the reason, or repaired and published.

An entry with a link but no title and no text becomes an article titled from its URL (the processor cannot enrich
an article with no text at all); entries with no link and no GUID, or with nothing to show, are dropped and counted,
and `newswire feeds status` shows the counts. Also `feeds status --by-host`.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from newswire.contract import decode_raw, encode_raw
from newswire.ingest.dedupe import NO_LINK_OR_GUID, NOTHING_TO_SHOW, REPEATED, UNUSABLE_LINK
from newswire.ingest.normalize import MAX_FALLBACK_TITLE, canonical_url, fallback_title
from tests.unit.ingest.feedserver import FeedServer, conditional, rss_feed, status
from tests.unit.ingest.test_feeds_commands import feeds_cli, status_rows

BASE = "https://wire.example.org"


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Steppe Wire</title>'
        f"<link>{BASE}/</link><language>en</language>{''.join(items)}</channel></rss>"
    ).encode()


COMPLETE = (
    f"<item><title>Wagner columns halt 200 km from Moscow</title><link>{BASE}/2023/06/24/halt</link>"
    "<description>Prigozhin says his fighters will return to their camps.</description></item>"
)
LINK_ONLY = f"<item><link>{BASE}/2023/06/24/wagner-columns-turn-back.html</link></item>"
NO_LINK_NO_GUID = "<item><title>Lukashenko says he brokered a deal</title><description>Minsk.</description></item>"
UNUSABLE = "<item><title>Rostov residents watch the tanks</title><link>javascript:void(0)</link></item>"
GUID_ONLY_EMPTY = '<item><guid isPermaLink="false">wire-empty-1</guid></item>'
REPEAT = COMPLETE


def test_bad_entries_are_counted_per_feed_and_a_bare_link_becomes_an_article(
    feed_server, settings_factory, poller_run, data_dir, capsys
):
    feed_server.routes["/wire.xml"] = rss(COMPLETE, LINK_ONLY, NO_LINK_NO_GUID, UNUSABLE, GUID_ONLY_EMPTY, REPEAT)
    url = feed_server.url("/wire.xml")
    settings = settings_factory(feeds=url)

    poller_run(settings).run(once=True)

    articles = {article.url: article for article in poller_run(settings).articles()}
    assert set(articles) == {f"{BASE}/2023/06/24/halt", f"{BASE}/2023/06/24/wagner-columns-turn-back.html"}
    bare = articles[f"{BASE}/2023/06/24/wagner-columns-turn-back.html"]
    assert bare.title == "Wagner columns turn back"
    assert bare.text  # something for the processor to enrich
    assert decode_raw(encode_raw(bare)) == bare

    row = status_rows(data_dir, capsys)[url]
    expected = {NO_LINK_OR_GUID: 1, UNUSABLE_LINK: 1, NOTHING_TO_SHOW: 1, REPEATED: 1}
    assert row["dropped_last"] == expected
    assert row["dropped_total"] == expected
    assert row["untitled_total"] == 1

    assert feeds_cli(data_dir, "status") == 0
    text = capsys.readouterr().out
    assert f"1 {NO_LINK_OR_GUID}" in text
    assert "entries without a title (titled from their URL): 1" in text


def test_dropped_counts_add_up_over_polls_and_the_last_poll_is_shown_alone(
    feed_server, settings_factory, poller_run, data_dir, capsys
):
    url = feed_server.url("/wire.xml")
    settings = settings_factory(feeds=url)
    feed_server.routes["/wire.xml"] = rss(COMPLETE, NO_LINK_NO_GUID)
    poller_run(settings).run(once=True)
    feed_server.routes["/wire.xml"] = rss(COMPLETE, NO_LINK_NO_GUID, NO_LINK_NO_GUID.replace("deal", "pact"))
    poller_run(settings).run(once=True)

    row = status_rows(data_dir, capsys)[url]
    assert row["dropped_last"] == {NO_LINK_OR_GUID: 2}
    assert row["dropped_total"] == {NO_LINK_OR_GUID: 3}


# --- titles for entries without one ------------------------------------------------------------------------------

segment = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=40)


@given(segments=st.lists(segment, max_size=6), text=st.text(max_size=300))
def test_a_fallback_title_is_short_printable_and_never_empty_for_a_url(segments, text):
    url = canonical_url(f"{BASE}/" + "/".join(quote(part, safe="") for part in segments))
    assert url is not None
    title = fallback_title(url, text)
    assert title
    assert len(title) <= MAX_FALLBACK_TITLE + 1
    assert not any(ord(char) < 32 or ord(char) == 127 for char in title)


@given(text=st.text(max_size=500))
def test_without_a_url_the_title_is_the_first_line_of_the_text(text):
    title = fallback_title(None, text)
    assert len(title) <= MAX_FALLBACK_TITLE + 1
    assert not any(ord(char) < 32 or ord(char) == 127 for char in title)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first.isprintable() and len(first) <= MAX_FALLBACK_TITLE:
        assert title == " ".join(first.split())


def test_fallback_titles_of_typical_addresses():
    assert fallback_title(f"{BASE}/2023/06/24/wagner-columns-turn-back.html") == "Wagner columns turn back"
    assert fallback_title(f"{BASE}/world/europe/prigozhin_leaves_rostov/12345") == "Prigozhin leaves rostov"
    assert fallback_title(f"{BASE}/news/2023/0624/") == "wire.example.org/news/2023/0624"
    assert fallback_title(f"{BASE}/") == "wire.example.org"


# --- feeds status --by-host ---------------------------------------------------------------------------------


def test_status_by_host_sums_fetches_throttles_and_errors_per_host(
    settings_factory, poller_run, data_dir, capsys, monkeypatch
):
    busy, quiet = FeedServer(address="127.0.0.2").start(), FeedServer(address="127.0.0.3").start()
    try:
        busy.routes["/busy.xml"] = status(429, {"Retry-After": "120"})
        for number in range(2):
            busy.routes[f"/desk-{number}.xml"] = conditional(rss_feed(1, start=number))
        quiet.routes["/ok.xml"] = rss_feed(1, start=5)
        quiet.routes["/typo.xml"] = status(404)
        urls = [busy.url(p) for p in ("/busy.xml", "/desk-0.xml", "/desk-1.xml")]
        urls += [quiet.url("/ok.xml"), quiet.url("/typo.xml")]
        budgets = "127.0.0.2=50/1,127.0.0.3=50/1"
        settings = settings_factory(feeds=",".join(urls), host_fetch_budgets=budgets)
        monkeypatch.setenv("NEWSWIRE_HOST_FETCH_BUDGETS", budgets)  # what `feeds status` reads the budgets from

        poller_run(settings).run(once=True)
        now = time.time()

        capsys.readouterr()
        assert feeds_cli(data_dir, "status", "--by-host", "--json") == 0
        rows = {row["host"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
        busy_requests = sum(len(times) for times in busy.requests.values())
        assert rows["127.0.0.2"]["feeds"] == 3
        assert rows["127.0.0.2"]["fetches_last_hour"] == busy_requests
        assert rows["127.0.0.2"]["throttles"] == 1
        assert rows["127.0.0.2"]["errors"] == 0
        assert rows["127.0.0.2"]["paused_until"] > now + 100
        assert rows["127.0.0.2"]["next_allowed_fetch"] >= rows["127.0.0.2"]["paused_until"]
        assert rows["127.0.0.3"] | {"next_allowed_fetch": None} == {
            "host": "127.0.0.3",
            "feeds": 2,
            "enabled": 2,
            "fetches_last_hour": 2,
            "throttles": 0,
            "errors": 1,
            "failing": 1,
            "dropped": 0,
            "budget": "50/1s",
            "paused_until": None,
            "next_allowed_fetch": None,
        }

        monkeypatch.delenv("NEWSWIRE_HOST_FETCH_BUDGETS")
        assert feeds_cli(data_dir, "status", "--by-host", "--host-fetch-budgets", budgets) == 0
        text = capsys.readouterr().out
        assert "127.0.0.2: 3 feeds (3 enabled), budget 50/1s" in text
        assert "next allowed fetch: in 1" in text and "(paused by the host until in 1" in text
    finally:
        busy.stop()
        quiet.stop()
