"""A feed's life across polls: moves, disabling, unchanged bodies, ignored validators, adaptive intervals."""

from __future__ import annotations

from tests.unit.ingest.feedserver import conditional, redirect, rss_feed, status


def test_permanent_redirect_updates_the_stored_url(feed_server, settings_factory, poller_run):
    feed_server.routes["/old.xml"] = redirect(feed_server.url("/new.xml"), 301)
    feed_server.routes["/new.xml"] = rss_feed(2)
    settings = settings_factory(feeds=feed_server.url("/old.xml"))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    feed = poller_run(settings).feeds()[feed_server.url("/old.xml")]
    assert feed.state.current_url == feed_server.url("/new.xml")
    assert feed_server.count("/old.xml") == 1  # the second poll went straight to the new address
    assert feed_server.count("/new.xml") == 2


def test_gone_feed_is_disabled_at_once_with_the_reason(feed_server, settings_factory, poller_run):
    feed_server.routes["/closed.xml"] = status(410)
    settings = settings_factory(feeds=feed_server.url("/closed.xml"))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    state = poller_run(settings).feeds()[feed_server.url("/closed.xml")].state
    assert state.disabled
    assert state.disabled_reason == "HTTP 410 Gone"
    assert feed_server.count("/closed.xml") == 1


def test_repeated_404_disables_the_feed_after_the_limit(feed_server, settings_factory, poller_run):
    feed_server.routes["/typo.xml"] = status(404)
    settings = settings_factory(feeds=feed_server.url("/typo.xml"))

    poller_run(settings).run(once=False, seconds=8)

    state = poller_run(settings).feeds()[feed_server.url("/typo.xml")].state
    assert state.disabled
    assert state.disabled_reason == "5 failures in a row, the last: HTTP 404 Not Found"
    assert feed_server.count("/typo.xml") == 5


def test_unchanged_body_is_not_parsed_again(feed_server, settings_factory, poller_run):
    feed_server.routes["/static.xml"] = rss_feed(2)  # no validators at all
    settings = settings_factory(feeds=feed_server.url("/static.xml"))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    assert poller_run(settings).feeds()[feed_server.url("/static.xml")].state.last_status == "200 unchanged"


def test_ignore_validators_flag_sends_no_conditional_headers(feed_server, settings_factory, poller_run, tmp_path):
    feed_server.routes["/liar.xml"] = conditional(rss_feed(2))
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="Liar" xmlUrl="{feed_server.url("/liar.xml")}" '
        'ignoreValidators="true"/></body></opml>'
    )
    settings = settings_factory(feeds=str(opml))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    assert all("if-none-match" not in headers for headers in feed_server.request_headers["/liar.xml"])
    # Its own validator still works: the same bytes are not parsed again.
    assert poller_run(settings).feeds()[feed_server.url("/liar.xml")].state.last_status == "200 unchanged"
    assert len(poller_run(settings).articles()) == 2


def test_quiet_feed_is_polled_less_often(feed_server, settings_factory, poller_run):
    feed_server.routes["/quiet.xml"] = conditional(rss_feed(1))
    settings = settings_factory(
        feeds=feed_server.url("/quiet.xml"), poll_interval=1.0, min_poll_interval=1.0, max_poll_interval=60.0
    )

    poller_run(settings).run(once=False, seconds=6)

    # Intervals after the first poll: 1.5, 2.25, 3.4 ... so at most four polls in six seconds, not six.
    assert 2 <= feed_server.count("/quiet.xml") <= 4
    assert poller_run(settings).feeds()[feed_server.url("/quiet.xml")].state.interval > 2


def test_a_feed_that_fails_to_parse_is_fetched_in_full_again(feed_server, settings_factory, poller_run):
    feed_server.routes["/broken.xml"] = conditional(b"<html><body>Not a feed</body></html>", etag='"same"')
    settings = settings_factory(feeds=feed_server.url("/broken.xml"))

    poller_run(settings).run(once=True)
    poller_run(settings).run(once=True)

    assert all("if-none-match" not in headers for headers in feed_server.request_headers["/broken.xml"])
    state = poller_run(settings).feeds()[feed_server.url("/broken.xml")].state
    assert state.permanent_failures == 2
    assert state.last_error is not None
    assert state.last_error.startswith("not a feed")
