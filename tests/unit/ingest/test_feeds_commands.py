"""`newswire feeds ...` on the embedded bus, driven through the CLI as a user would."""

from __future__ import annotations

import json

from newswire.app.cli import main
from newswire.ingest.base import FeedConfig
from newswire.ingest.discovery import alternate_links
from newswire.ingest.opml import parse_opml, to_opml
from tests.unit.ingest.feedserver import rss_feed, status, with_type

SITE = """<!doctype html><html><head><title>Steppe Wire</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Steppe Wire: World" href="/world/feed.xml">
<link rel="alternate" type="application/atom+xml" title="Steppe Wire: Opinion" href="https://opinion.example.org/atom">
<link rel="alternate" hreflang="ru" href="/ru/">
</head><body><p>News</p></body></html>"""


def feeds_cli(data_dir, *args):
    return main(["feeds", *args, "--embedded", "--data-dir", str(data_dir)])


def status_rows(data_dir, capsys):
    capsys.readouterr()
    assert feeds_cli(data_dir, "status", "--json") == 0
    return {row["url"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}


def test_alternate_links_in_page_order_resolved_against_the_page():
    feeds = alternate_links(SITE, "https://wire.example.org/")
    assert [(feed.url, feed.title) for feed in feeds] == [
        ("https://wire.example.org/world/feed.xml", "Steppe Wire: World"),
        ("https://opinion.example.org/atom", "Steppe Wire: Opinion"),
    ]


def test_add_a_site_discovers_its_feed_and_the_poller_takes_it(
    feed_server, settings_factory, poller_run, data_dir, capsys
):
    feed_server.routes["/"] = with_type(SITE.encode(), "text/html; charset=utf-8")
    feed_server.routes["/world/feed.xml"] = rss_feed(2)
    settings = settings_factory()
    poller_run(settings).run(once=True)  # creates the embedded bus, no feeds yet

    code = main(
        ["feeds", "add", feed_server.url("/"), "--embedded", "--data-dir", str(data_dir), "--allow-private-addresses"]
    )
    poller_run(settings).run(once=True)

    assert code == 0
    assert f"added {feed_server.url('/world/feed.xml')} (Steppe Wire: World)" in capsys.readouterr().out
    articles = poller_run(settings).articles()
    assert len(articles) == 2
    assert {article.source for article in articles} == {"Steppe Wire: World"}


def test_add_refuses_a_private_site_by_default(feed_server, settings_factory, poller_run, data_dir, capsys):
    feed_server.routes["/"] = with_type(SITE.encode(), "text/html")
    poller_run(settings_factory()).run(once=True)

    code = feeds_cli(data_dir, "add", feed_server.url("/"))

    assert code == 2
    assert "not a public address" in capsys.readouterr().err


def test_status_shows_errors_and_enable_brings_a_disabled_feed_back(
    feed_server, settings_factory, poller_run, data_dir, capsys
):
    feed_server.routes["/moved.xml"] = status(410)
    url = feed_server.url("/moved.xml")
    settings = settings_factory(feeds=url)
    poller_run(settings).run(once=True)

    row = status_rows(data_dir, capsys)[url]
    assert row["enabled"] is False
    assert row["disabled_reason"] == "HTTP 410 Gone"
    assert row["errors"] == 1

    feed_server.routes["/moved.xml"] = rss_feed(1)
    assert feeds_cli(data_dir, "enable", url) == 0
    assert "was disabled: HTTP 410 Gone" in capsys.readouterr().out
    poller_run(settings_factory()).run(once=True)

    row = status_rows(data_dir, capsys)[url]
    assert row["enabled"] is True
    assert row["status"] == "200 1 new"
    assert feed_server.count("/moved.xml") == 2


def test_enable_of_an_unknown_feed_is_a_clear_user_error(settings_factory, poller_run, data_dir, capsys):
    poller_run(settings_factory()).run(once=True)
    assert feeds_cli(data_dir, "enable", "https://nowhere.example.org/feed") == 2
    assert "no feed 'https://nowhere.example.org/feed'" in capsys.readouterr().err


def test_import_then_export_round_trips_the_feed_list(settings_factory, poller_run, data_dir, tmp_path, capsys):
    poller_run(settings_factory()).run(once=True)
    listing = tmp_path / "feeds.opml"
    listing.write_text(
        to_opml(
            [
                FeedConfig(url="https://wire.example.org/world.xml", title="Steppe Wire & Co", full_text=True),
                FeedConfig(url="https://tass.example.org/rss", title=None, ignore_validators=True),
            ]
        )
    )

    assert feeds_cli(data_dir, "import", str(listing)) == 0
    capsys.readouterr()
    assert feeds_cli(data_dir, "export") == 0

    exported = parse_opml(capsys.readouterr().out.encode())
    assert sorted(exported, key=lambda c: c.url) == sorted(parse_opml(listing.read_bytes()), key=lambda c: c.url)


def test_import_of_a_bad_file_names_the_line(data_dir, settings_factory, poller_run, tmp_path, capsys):
    poller_run(settings_factory()).run(once=True)
    listing = tmp_path / "feeds.txt"
    listing.write_text("https://wire.example.org/world.xml\nftp://old.example.org/feed\n")
    assert feeds_cli(data_dir, "import", str(listing)) == 2
    assert "feeds.txt line 2: not an http(s) feed URL: 'ftp://old.example.org/feed'" in capsys.readouterr().err
