"""Feed bodies to entries: formats, limits, hostile DTDs, links, dates, authors and the publisher's wishes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswire.errors import FeedError
from newswire.ingest.parse import hostile_dtd, limit_entries, parse_feed, strip_doctype, to_article
from tests.unit.ingest.feedserver import rss_feed

FETCHED = datetime(2023, 6, 30, 12, 0, tzinfo=UTC)
FEED_URL = "https://wire.example.org/world/feed.xml"

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title type="html">Steppe &lt;i&gt;Wire&lt;/i&gt;</title>
  <entry>
    <title>Shoigu reappears in a ministry video</title>
    <link rel="alternate" href="/2023/06/26/shoigu?utm_campaign=x"/>
    <id>tag:wire.example.org,2023:shoigu</id>
    <updated>2023-06-26T09:30:00+03:00</updated>
    <author><name>A. Reporter</name></author>
    <author><name>B. Editor</name></author>
    <category term="Russia"/><category term="Defence"/>
    <summary type="html">&lt;p&gt;The defence minister was shown
      &lt;b&gt;inspecting&lt;/b&gt; troops.&lt;/p&gt;</summary>
    <content type="html">&lt;p&gt;Longer text about Sergei Shoigu.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>No link, only an id</title>
    <id>urn:uuid:6c1e3a10-0000-4000-8000-000000000001</id>
  </entry>
</feed>"""


def parse(body: bytes, **kwargs):
    options = {"url": FEED_URL, "content_type": "application/xml", "max_entries": 500, "fetched": FETCHED}
    options.update(kwargs)
    return parse_feed(body, **options)


def test_atom_entry_fields():
    parsed = parse(ATOM)
    assert parsed.title == "Steppe Wire"
    entry = parsed.entries[0]
    assert entry.url == "https://wire.example.org/2023/06/26/shoigu"
    assert entry.title == "Shoigu reappears in a ministry video"
    assert entry.summary == "The defence minister was shown inspecting troops."
    assert entry.content == "Longer text about Sergei Shoigu."
    assert entry.published == datetime(2023, 6, 26, 6, 30, tzinfo=UTC)
    assert entry.authors == ["A. Reporter", "B. Editor"]
    assert entry.categories == ["Russia", "Defence"]


def test_entry_without_link_gets_an_id_from_feed_and_guid():
    parsed = parse(ATOM)
    entry = parsed.entries[1]
    assert entry.url is None
    assert entry.published_estimated
    article = to_article(entry, feed_url=FEED_URL, source="Steppe Wire", language="en", fetched=FETCHED)
    assert article is not None
    assert article.url == ""
    assert article.guid == "urn:uuid:6c1e3a10-0000-4000-8000-000000000001"


def test_entry_with_neither_link_nor_guid_is_left_out():
    body = b'<rss version="2.0"><channel><title>x</title><item><title>Orphan</title></item></channel></rss>'
    entry = parse(body).entries[0]
    assert to_article(entry, feed_url=FEED_URL, source="x", language=None, fetched=FETCHED) is None


@pytest.mark.parametrize(
    ("channel", "seconds"),
    [
        ("<ttl>45</ttl>", 45 * 60),
        ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>", 900),
        ("<sy:updatePeriod>daily</sy:updatePeriod>", 86400),
        ("<ttl>bogus</ttl>", None),
        ("", None),
    ],
)
def test_publisher_interval_from_ttl_and_syndication_module(channel, seconds):
    body = (
        '<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>x</title>'
        f"{channel}<item><title>a</title><link>https://wire.example.org/a</link></item></channel></rss>"
    ).encode()
    assert parse(body).min_interval == seconds


def test_entries_over_the_limit_are_never_parsed():
    body = rss_feed(40)
    parsed = parse(body, max_entries=10)
    assert len(parsed.entries) == 10
    assert parsed.truncated == 30
    assert [entry.guid for entry in parsed.entries] == [f"story-{n}" for n in range(10)]


def test_limit_entries_closes_rss_1_and_atom_documents():
    rdf = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>RDF</title></channel>'
        + b"".join(
            f'<item rdf:about="https://r.example.org/{n}"><title>{n}</title>'
            f"<link>https://r.example.org/{n}</link></item>".encode()
            for n in range(5)
        )
        + b"</rdf:RDF>"
    )
    cut, dropped = limit_entries(rdf, 2)
    assert dropped == 3
    assert cut.endswith(b"</rdf:RDF>")
    assert len(parse(cut).entries) == 2
    atom_cut, _ = limit_entries(ATOM, 1)
    assert atom_cut.endswith(b"</feed>")
    assert [entry.title for entry in parse(atom_cut).entries] == ["Shoigu reappears in a ministry video"]


def test_harmless_doctype_is_stripped_and_the_feed_read():
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n' + rss_feed(1).split(b"?>", 1)[1]
    )
    assert hostile_dtd(body) is None
    assert b"DOCTYPE" not in strip_doctype(body)
    assert len(parse(body).entries) == 1


def test_character_entity_declarations_are_harmless():
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]><rss version="2.0"><channel></channel></rss>'
    assert hostile_dtd(body) is None


@pytest.mark.parametrize(
    ("declaration", "reason"),
    [
        ('<!ENTITY x SYSTEM "file:///etc/passwd">', "external entity"),
        ('<!ENTITY x PUBLIC "-//x//EN" "http://169.254.169.254/">', "external entity"),
        ('<!ENTITY % p SYSTEM "http://evil.example/x.dtd">', "parameter entity"),
        ('<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">', "expansion attack"),
    ],
)
def test_hostile_dtds_are_refused(declaration, reason):
    body = f'<?xml version="1.0"?><!DOCTYPE rss [{declaration}]><rss><channel></channel></rss>'.encode()
    with pytest.raises(FeedError, match=reason):
        parse(body)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "application/rss+xml", "empty body"),
        (b"  \n ", "application/rss+xml", "empty body"),
        (b"<html><body><p>Moved to our new site</p></body></html>", "text/html", "not a feed (text/html)"),
        (b'{"items": []}', "application/json", "not a feed"),
    ],
)
def test_bodies_that_are_not_feeds(body, content_type, message):
    with pytest.raises(FeedError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(body, content_type=content_type)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_either_parse_or_raise_feed_error(body):
    try:
        parsed = parse(body)
    except FeedError:
        return
    for entry in parsed.entries:
        assert entry.published.tzinfo is not None
