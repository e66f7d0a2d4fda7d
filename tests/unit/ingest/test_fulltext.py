"""Optional full text: the article page's main text replaces the feed's, under the same fetch rules."""

from __future__ import annotations

# trafilatura is the `fulltext` extra; `make test` installs it, so a missing one fails here instead of skipping.
import trafilatura  # noqa: F401

from tests.unit.ingest.feedserver import redirect, status, with_type

PAGE = """<html><head><title>Prigozhin turns back</title></head><body>
<nav>Home | World | Opinion</nav>
<article><h1>Prigozhin turns back</h1>
<p>Yevgeny Prigozhin said on Saturday that his fighters would turn back from their march on Moscow to avoid
bloodshed, after talks brokered by Alexander Lukashenko of Belarus.</p>
<p>The Kremlin said criminal charges against him would be dropped and that he would leave for Belarus. Wagner
fighters who did not take part would be offered contracts with the defence ministry, Dmitry Peskov said.</p>
</article><footer>Steppe Wire, all rights reserved</footer></body></html>"""


def feed_with_links(server, paths):
    items = "".join(
        f"<item><title>Story {n}</title><link>{server.url(path)}</link><description>Feed summary {n}.</description>"
        "</item>"
        for n, path in enumerate(paths)
    )
    return f'<rss version="2.0"><channel><title>Steppe Wire</title>{items}</channel></rss>'.encode()


def test_full_text_replaces_the_feed_text_and_failures_keep_it(feed_server, settings_factory, poller_run, tmp_path):
    paths = ["/story-0.html", "/story-1.html", "/story-2.html"]
    feed_server.routes["/story-0.html"] = with_type(PAGE.encode(), "text/html; charset=utf-8")
    feed_server.routes["/story-1.html"] = status(404)
    feed_server.routes["/story-2.html"] = redirect("http://169.254.169.254/latest/meta-data/")
    feed_server.routes["/wire.xml"] = feed_with_links(feed_server, paths)
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml><body><outline xmlUrl="{feed_server.url("/wire.xml")}" fullText="true"/></body></opml>')
    run = poller_run(settings_factory(feeds=str(opml), allow_private_addresses=False), guard_exempt=("127.0.0.1",))

    run.run(once=True)

    articles = {article.title: article for article in run.articles()}
    assert "Kremlin said criminal charges against him would be dropped" in articles["Story 0"].content
    assert "Home | World" not in articles["Story 0"].content
    assert articles["Story 0"].summary == "Feed summary 0."
    assert articles["Story 1"].content == ""  # 404: the feed's text stays
    assert articles["Story 2"].content == ""  # refused redirect: the feed's text stays
    assert feed_server.count("/story-1.html") == 1


def test_feeds_without_full_text_never_fetch_pages(feed_server, settings_factory, poller_run):
    feed_server.routes["/story-0.html"] = with_type(PAGE.encode(), "text/html")
    feed_server.routes["/wire.xml"] = feed_with_links(feed_server, ["/story-0.html"])

    poller_run(settings_factory(feeds=feed_server.url("/wire.xml"))).run(once=True)

    assert feed_server.count("/story-0.html") == 0
