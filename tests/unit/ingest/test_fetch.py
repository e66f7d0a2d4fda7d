"""The fetcher against a scripted server: redirects by hand, limits, encodings, the address guard."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from newswire.ingest.base import FailureKind
from newswire.ingest.fetch import Fetcher
from newswire.ingest.netguard import GuardedBackend, is_public
from newswire.ingest.politeness import FIRST_PAUSE
from tests.unit.ingest.feedserver import redirect, rss_feed, status, with_type


def fetch(settings, url, **kwargs):
    async def go():
        async with Fetcher(settings, network_backend=kwargs.pop("backend", None)) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def test_permanent_redirects_report_the_new_address(feed_server, settings_factory):
    feed_server.routes["/old.xml"] = redirect(feed_server.url("/new.xml"), 301)
    feed_server.routes["/new.xml"] = redirect(feed_server.url("/newest.xml"), 308)
    feed_server.routes["/newest.xml"] = rss_feed(1)

    result = fetch(settings_factory(), feed_server.url("/old.xml"))

    assert result.status == 200
    assert result.moved_to == feed_server.url("/newest.xml")


def test_a_temporary_hop_stops_the_move_at_the_last_permanent_target(feed_server, settings_factory):
    feed_server.routes["/old.xml"] = redirect(feed_server.url("/new.xml"), 301)
    feed_server.routes["/new.xml"] = redirect(feed_server.url("/today.xml"), 302)
    feed_server.routes["/today.xml"] = rss_feed(1)

    result = fetch(settings_factory(), feed_server.url("/old.xml"))

    assert result.moved_to == feed_server.url("/new.xml")
    assert result.final_url == feed_server.url("/today.xml")


def test_too_many_redirects(feed_server, settings_factory):
    for hop in range(5):
        feed_server.routes[f"/hop{hop}"] = redirect(feed_server.url(f"/hop{hop + 1}"))
    result = fetch(settings_factory(max_redirects=3), feed_server.url("/hop0"))
    assert result.failure is not None
    assert result.failure.kind is FailureKind.REFUSED
    assert "more than 3 redirects" in result.failure.reason


def test_redirect_to_a_file_url_is_refused(feed_server, settings_factory):
    feed_server.routes["/sneaky.xml"] = redirect("file:///etc/passwd")
    result = fetch(settings_factory(), feed_server.url("/sneaky.xml"))
    assert result.failure is not None
    assert result.failure.reason == "refusing file URL"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_allowed(feed_server, settings_factory, host):
    feed_server.routes["/wire.xml"] = rss_feed(1)
    url = f"http://{host}:{feed_server.port}/wire.xml"

    refused = fetch(settings_factory(allow_private_addresses=False), url)
    allowed = fetch(settings_factory(allow_private_addresses=True), url)

    assert refused.failure is not None
    assert refused.failure.kind is FailureKind.REFUSED
    assert "not a public address" in refused.failure.reason
    assert feed_server.count("/wire.xml") == 1  # the refused fetch never connected
    assert allowed.status == 200


@pytest.mark.parametrize(
    "target",
    [
        "http://10.1.2.3/feed",
        "http://192.168.0.1/",
        "http://[::1]:80/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_redirects_into_private_networks_are_refused(feed_server, settings_factory, target):
    feed_server.routes["/jump.xml"] = redirect(target)
    backend = GuardedBackend(allow_private=False, exempt=("127.0.0.1",))
    result = fetch(settings_factory(allow_private_addresses=False), feed_server.url("/jump.xml"), backend=backend)
    assert result.failure is not None
    assert "not a public address" in result.failure.reason


def test_public_addresses_are_public():
    import ipaddress

    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("2a00:1450:4001:82a::200e"))
    assert not is_public(ipaddress.ip_address("fd00:ec2::254"))


@pytest.mark.parametrize("raw", [False, True], ids=["zlib", "raw-deflate"])
def test_deflate_bodies_are_decoded(feed_server, settings_factory, raw):
    body = rss_feed(2)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    encoded = compressor.compress(body) + compressor.flush()
    feed_server.routes["/wire.xml"] = with_type(encoded, "application/rss+xml", {"Content-Encoding": "deflate"})
    assert fetch(settings_factory(), feed_server.url("/wire.xml")).body == body


def test_unknown_content_encoding_is_refused(feed_server, settings_factory):
    feed_server.routes["/wire.xml"] = with_type(b"\x00\x01", "application/rss+xml", {"Content-Encoding": "br"})
    result = fetch(settings_factory(), feed_server.url("/wire.xml"))
    assert result.failure is not None
    assert "unsupported content encoding 'br'" in result.failure.reason


def test_declared_length_over_the_limit_is_refused_before_reading(feed_server, settings_factory):
    feed_server.routes["/big.xml"] = rss_feed(200)
    result = fetch(settings_factory(max_body_bytes=1000), feed_server.url("/big.xml"))
    assert result.failure is not None
    assert result.failure.reason == "body larger than 1000 bytes (decompressed)"


def test_polite_headers_are_sent(feed_server, settings_factory):
    feed_server.routes["/wire.xml"] = rss_feed(1)
    fetch(settings_factory(), feed_server.url("/wire.xml"), etag='"abc"', last_modified="Sat, 24 Jun 2023 08:00:00 GMT")
    headers = feed_server.request_headers["/wire.xml"][0]
    assert headers["user-agent"].startswith("newswire/")
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Sat, 24 Jun 2023 08:00:00 GMT"
    assert "application/rss+xml" in headers["accept"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (500, FailureKind.TEMPORARY),
        (503, FailureKind.TEMPORARY),
        (429, FailureKind.THROTTLED),
        (404, FailureKind.NOT_FOUND),
        (410, FailureKind.GONE),
        (403, FailureKind.NOT_FOUND),
    ],
)
def test_status_codes_are_classified(feed_server, settings_factory, code, kind):
    feed_server.routes["/wire.xml"] = status(code)
    result = fetch(settings_factory(), feed_server.url("/wire.xml"))
    assert result.failure is not None
    assert result.failure.kind is kind


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("9" * 5000, 86400.0), *((bad, FIRST_PAUSE) for bad in ("²", "soon", "-5", "Sat, 99 Jun 2023"))],
)
def test_a_throttling_host_s_retry_after_is_read_and_a_hostile_one_is_no_crash(
    feed_server, settings_factory, header, seconds
):
    feed_server.routes["/wire.xml"] = status(429, {"Retry-After": header})
    result = fetch(settings_factory(), feed_server.url("/wire.xml"))
    assert result.failure is not None
    assert result.failure.kind is FailureKind.THROTTLED
    # a day at most, as the host ledger holds a host at most; one it cannot read gets the ledger's first pause
    assert result.failure.retry_after == seconds
