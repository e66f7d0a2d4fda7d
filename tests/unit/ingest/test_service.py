"""The poller end to end on the embedded bus: publish once, survive restarts, notice changes, never crash."""

from __future__ import annotations

from datetime import UTC, datetime

from newswire.contract import article_id
from tests.unit.ingest.feedserver import conditional, rss_feed, status


def test_once_publishes_each_article_once_with_normalised_fields(feed_server, settings_factory, poller_run):
    feed_server.routes["/wire.xml"] = rss_feed(3)
    run = poller_run(settings_factory(feeds=feed_server.url("/wire.xml")))

    run.run(once=True)

    articles = run.articles()
    assert len(articles) == 3
    first = next(article for article in articles if article.guid == "story-0")
    assert first.url == "https://wire.example.org/2023/06/24/story-0"  # tracking parameters dropped
    assert first.id == article_id(first.url)
    assert first.title == "Prigozhin says Wagner columns are moving towards Moscow (0)"
    assert first.summary == "Reporting on Yevgeny Prigozhin: what we know so far about story 0."  # HTML stripped
    assert first.published == datetime(2023, 6, 24, 8, 0, tzinfo=UTC)
    assert not first.published_estimated
    assert first.language == "en"
    assert first.source == "Steppe Wire"
    assert first.feed_url == feed_server.url("/wire.xml")


def test_restart_publishes_nothing_again_and_uses_the_etag(feed_server, settings_factory, poller_run):
    feed_server.routes["/wire.xml"] = conditional(rss_feed(4))
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    assert len(poller_run(settings).articles()) == 4
    assert feed_server.request_headers["/wire.xml"][1].get("if-none-match") == '"v1"'
    assert poller_run(settings).feeds()[feed_server.url("/wire.xml")].state.last_status == "304 not modified"


def test_restart_without_validators_still_publishes_nothing_again(feed_server, settings_factory, poller_run):
    feed_server.routes["/wire.xml"] = rss_feed(4)  # no ETag, no Last-Modified
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))

    poller_run(settings).run(once=True)
    feed_server.routes["/wire.xml"] = rss_feed(6)  # two more, same four
    poller_run(settings).run(once=True)

    articles = poller_run(settings).articles()
    assert sorted(article.guid or "" for article in articles) == [f"story-{n}" for n in range(6)]


def test_changed_article_is_published_again_with_the_next_revision(feed_server, settings_factory, poller_run):
    feed_server.routes["/wire.xml"] = rss_feed(2)
    settings = settings_factory(feeds=feed_server.url("/wire.xml"))
    poller_run(settings).run(once=True)

    feed_server.routes["/wire.xml"] = (
        rss_feed(2)
        .replace(b"Belarus", b"Belarus")
        .replace(b"moving towards Moscow (0)", b"turning back from Moscow (0)")
    )
    poller_run(settings).run(once=True)

    articles = poller_run(settings).articles()
    assert len(articles) == 3
    versions = sorted((a.revision, a.title) for a in articles if a.guid == "story-0")
    assert versions == [
        (1, "Prigozhin says Wagner columns are moving towards Moscow (0)"),
        (2, "Prigozhin says Wagner columns are turning back from Moscow (0)"),
    ]
    assert len({a.id for a in articles if a.guid == "story-0"}) == 1


def test_same_article_in_two_feeds_is_published_once(feed_server, settings_factory, poller_run):
    feed_server.routes["/a.xml"] = rss_feed(3, title="Outlet A")
    feed_server.routes["/b.xml"] = rss_feed(3, title="Outlet B", start=2)  # story-2 in both
    settings = settings_factory(feeds=f"{feed_server.url('/a.xml')},{feed_server.url('/b.xml')}")

    poller_run(settings).run(once=True)

    ids = [article.id for article in poller_run(settings).articles()]
    assert len(ids) == 5  # stories 0-4, story-2 once
    assert len(set(ids)) == 5


def test_a_broken_feed_is_recorded_and_the_others_still_published(feed_server, settings_factory, poller_run):
    feed_server.routes["/good.xml"] = rss_feed(2)
    feed_server.routes["/broken.xml"] = status(500)
    feed_server.routes["/missing.xml"] = status(404)
    urls = [feed_server.url(path) for path in ("/good.xml", "/broken.xml", "/missing.xml")]
    settings = settings_factory(feeds=",".join(urls))

    poller_run(settings).run(once=True)

    assert len(poller_run(settings).articles()) == 2
    feeds = poller_run(settings).feeds()
    assert feeds[urls[1]].state.last_error == "HTTP 500"
    assert feeds[urls[1]].state.temporary_failures == 1
    assert feeds[urls[2]].state.last_error == "HTTP 404 Not Found"
    assert feeds[urls[2]].state.permanent_failures == 1


def test_feeds_from_a_text_file_with_comments(feed_server, settings_factory, poller_run, tmp_path):
    feed_server.routes["/a.xml"] = rss_feed(1, title="Outlet A")
    feed_server.routes["/b.xml"] = rss_feed(1, title="Outlet B", start=5)
    listing = tmp_path / "feeds.txt"
    listing.write_text(f"# wagner coverage\n{feed_server.url('/a.xml')}\n\n  {feed_server.url('/b.xml')}  \n")

    poller_run(settings_factory(feeds=str(listing))).run(once=True)

    assert sorted(a.source for a in poller_run(settings_factory()).articles()) == ["Outlet A", "Outlet B"]
