"""Feed lists: OPML, text files and comma-separated URLs, read as users write them."""

from __future__ import annotations

import pytest

from newswire.errors import ConfigError
from newswire.ingest.base import FeedConfig
from newswire.ingest.opml import parse_opml, read_feed_list, to_opml


def test_nested_opml_outlines_with_our_attributes():
    document = b"""<?xml version="1.0"?><opml version="2.0"><head><title>Wagner</title></head><body>
      <outline text="Russia">
        <outline text="Steppe Wire" type="rss" xmlUrl="https://wire.example.org/rss" fullText="true"/>
        <outline title="Volga Daily" xmlUrl="https://volga.example.org/atom" ignoreValidators="yes"/>
      </outline>
      <outline text="A folder without feeds"/>
    </body></opml>"""
    assert parse_opml(document) == [
        FeedConfig(url="https://wire.example.org/rss", title="Steppe Wire", full_text=True),
        FeedConfig(url="https://volga.example.org/atom", title="Volga Daily", ignore_validators=True),
    ]


def test_opml_with_an_entity_bomb_is_read_without_expanding_it():
    document = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="x" xmlUrl="https://wire.example.org/rss"/></body></opml>'
    )
    assert [feed.url for feed in parse_opml(document)] == ["https://wire.example.org/rss"]


def test_opml_round_trip_escapes_names():
    feeds = [FeedConfig(url="https://wire.example.org/rss?a=1&b=2", title='Wire "Steppe" & <Co>')]
    assert parse_opml(to_opml(feeds).encode()) == feeds


def test_a_long_comma_separated_list_is_not_taken_for_a_file_name():
    urls = [f"https://outlet{n}.example.org/feed.xml" for n in range(400)]
    assert [feed.url for feed in read_feed_list(",".join(urls))] == urls


def test_repeated_urls_are_listed_once():
    assert len(read_feed_list("https://a.example.org/rss, https://a.example.org/rss")) == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/no/such/feeds.opml", "cannot read the feed list /no/such/feeds.opml"),
        ("https://a.example.org/rss,ftp://b.example.org/rss", "--feeds: not an http(s) feed URL"),
    ],
)
def test_bad_feed_lists_are_user_errors(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_feed_list(spec)


def test_broken_opml_is_a_user_error(tmp_path):
    path = tmp_path / "feeds.opml"
    path.write_text("<opml><body><outline xmlUrl='https://a.example.org/rss'></body>")
    with pytest.raises(ConfigError, match="not valid OPML"):
        read_feed_list(str(path))
