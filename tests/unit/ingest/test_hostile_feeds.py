"""Hostile and broken feeds next to healthy ones: the healthy ones keep their schedule, the broken one gets a
recorded reason, no local file leaks into an article, and the poller's memory stays bounded."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass

import psutil
import pytest

from tests.unit.ingest.feedserver import (
    FeedServer,
    drip,
    endless,
    gzip_bomb,
    gzipped,
    redirect,
    rss_feed,
    status,
    with_type,
)

RUN_SECONDS = 5.0
HEALTHY = ("/healthy-1.xml", "/healthy-2.xml", "/healthy-3.xml")
SECRET = "WAGNER-SECRET-7f3a9c"
MAX_RSS_GROWTH = 200 * 1024 * 1024

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{level} "{("&lol" + (str(level - 1) if level > 1 else "") + ";") * 10}">\n'.encode()
        for level in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>Laughs</title><item><title>&lol9;</title>'
    b"<link>https://laughs.example.org/1</link></item></channel></rss>"
)

MALFORMED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Broken Wire</title>'
    b"<item><title>Wagner column <b>stops</title><link>https://broken.example.org/1</link>"
    b"<description>Unclosed <p>paragraph & stray ampersand</description></item>"
    b"<item><title>Second story</title><link>https://broken.example.org/2</link>"
)

GARBAGE = bytes(range(256)) * 40


def xxe_feed(secret_path: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret_path}">]>\n'
        '<rss version="2.0"><channel><title>Leaky</title><item><title>Leak: &leak;</title>'
        "<link>https://leaky.example.org/1</link><description>&leak;</description></item></channel></rss>"
    ).encode()


def tiny_items_feed(count: int) -> bytes:
    items = "".join(f"<item><title>n{n}</title><link>https://many.example.org/{n}</link></item>" for n in range(count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>{items}</channel></rss>'.encode()


@dataclass
class Scenario:
    name: str
    expect_error: str | None  # substring of the recorded error; None when the feed must be read successfully
    min_articles: int = 0
    max_articles: int | None = None


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(1024 * 1024 * 1024)  # 1 GiB of zeros in about 1 MB


SCENARIOS = [
    Scenario("malformed-xml", None, min_articles=1),
    Scenario("garbage", "not a feed"),
    Scenario("html-page", "not a feed (text/html"),
    Scenario("wrong-charset", None, min_articles=1),
    Scenario("missing-charset", None, min_articles=1),
    Scenario("empty-body", "empty body"),
    Scenario("fifty-thousand-entries", None, min_articles=100, max_articles=100),
    Scenario("gzip-bomb", "body larger than"),
    Scenario("endless-body", "body larger than"),
    Scenario("dripping-body", "timed out"),
    Scenario("redirect-loop", "redirect loop"),
    Scenario("redirect-to-private", "not a public address"),
    Scenario("billion-laughs", "expansion attack"),
    Scenario("external-entity", "external entity"),
    Scenario("body-is-a-file-path", "not a feed"),
    Scenario("too-many-requests", "HTTP 429"),
]


def hostile_route(name: str, feed_server, secret_path: str, bomb: bytes):
    if name == "malformed-xml":
        return MALFORMED
    if name == "garbage":
        return with_type(GARBAGE, "application/octet-stream")
    if name == "html-page":
        return with_type(
            b"<!doctype html><html><head><title>Steppe Wire</title></head><body>Hi</body></html>",
            "text/html; charset=utf-8",
        )
    if name == "wrong-charset":  # says UTF-8, is windows-1252
        body = rss_feed(1, base="https://charset.example.org")
        body = body.replace(b"Prigozhin says", "Prigozhin\u2019s café says".encode("cp1252"))
        return with_type(body, "application/rss+xml; charset=utf-8")
    if name == "missing-charset":  # UTF-8 with no declaration anywhere
        body = rss_feed(1, base="https://nocharset.example.org").replace(b' encoding="utf-8"', b"")
        body = body.replace(b"Prigozhin", "Пригожин".encode())
        return with_type(body, "text/xml")
    if name == "empty-body":
        return with_type(b"", "application/rss+xml")
    if name == "fifty-thousand-entries":
        return tiny_items_feed(50_000)
    if name == "gzip-bomb":
        return gzipped(bomb)
    if name == "endless-body":
        return endless()
    if name == "dripping-body":
        return drip(1.0)
    if name == "redirect-loop":
        return redirect(feed_server.url("/hostile-b.xml"))
    if name == "redirect-to-private":
        return redirect("http://169.254.169.254/latest/meta-data/")
    if name == "billion-laughs":
        return BILLION_LAUGHS
    if name == "external-entity":
        return xxe_feed(secret_path)
    if name == "body-is-a-file-path":
        return with_type(secret_path.encode(), "application/rss+xml")
    if name == "too-many-requests":
        return status(429, {"Retry-After": "3"})
    raise AssertionError(name)


class PeakMemory:
    """Samples the RSS of this process and its children (the parser processes) in a thread; ``growth`` is the peak
    over the starting value."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_hostile_feed_next_to_healthy_ones(scenario, feed_server, settings_factory, poller_run, tmp_path, bomb):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    for number, path in enumerate(HEALTHY):
        feed_server.routes[path] = rss_feed(3, title=f"Healthy {number}", start=10 * number)
    # A 429 pauses its whole host (see test_politeness), so that feed gets a host of its own here.
    own_host = FeedServer(address="127.0.0.2").start() if scenario.name == "too-many-requests" else None
    hostile_server = own_host or feed_server
    hostile_server.routes["/hostile.xml"] = hostile_route(scenario.name, feed_server, str(secret), bomb)
    feed_server.routes["/hostile-b.xml"] = redirect(feed_server.url("/hostile.xml"))
    hostile_url = hostile_server.url("/hostile.xml")
    settings = settings_factory(
        feeds=",".join([hostile_url, *(feed_server.url(path) for path in HEALTHY)]),
        allow_private_addresses=False,
        max_entries_per_feed=100,
    )
    run = poller_run(settings, guard_exempt=("127.0.0.1", "127.0.0.2"))

    try:
        with PeakMemory() as memory:
            started = time.monotonic()
            run.run(once=False, seconds=RUN_SECONDS)
            elapsed = time.monotonic() - started
    finally:
        if own_host is not None:
            own_host.stop()

    # The healthy feeds kept their one-second schedule.
    for path in HEALTHY:
        assert feed_server.count(path) >= RUN_SECONDS - 2, (path, feed_server.count(path), elapsed)
    feeds = run.feeds()
    hostile = feeds[hostile_url].state
    if scenario.expect_error:
        recorded = f"{hostile.last_error} {hostile.disabled_reason} {hostile.last_throttle}"
        assert scenario.expect_error in recorded
    else:
        assert hostile.last_error is None, hostile.last_error
    articles = run.articles()
    from_hostile = [article for article in articles if article.feed_url == hostile_url]
    assert len(from_hostile) >= scenario.min_articles
    if scenario.max_articles is not None:
        assert len(from_hostile) <= scenario.max_articles
    assert {a.source for a in articles} >= {f"Healthy {n}" for n in range(len(HEALTHY))}
    for article in articles:
        assert SECRET not in article.model_dump_json()
    assert memory.growth < MAX_RSS_GROWTH, f"RSS grew by {memory.growth / 1e6:.0f} MB"


def test_retry_after_is_respected(feed_server, settings_factory, poller_run):
    feed_server.routes["/busy.xml"] = status(429, {"Retry-After": "3"})
    settings = settings_factory(feeds=feed_server.url("/busy.xml"))

    poller_run(settings).run(once=False, seconds=5.0)

    times = feed_server.requests["/busy.xml"]
    assert len(times) >= 2
    assert all(later - earlier >= 2.9 for earlier, later in itertools.pairwise(times))
    state = poller_run(settings).feeds()[feed_server.url("/busy.xml")].state
    assert state.throttles_total == len(times)  # a throttle, not an error of the feed
    assert state.errors_total == 0
    assert not state.disabled


def test_charset_problems_still_give_readable_titles(feed_server, settings_factory, poller_run, tmp_path):
    feed_server.routes["/wrong.xml"] = hostile_route("wrong-charset", feed_server, "", b"")
    feed_server.routes["/missing.xml"] = hostile_route("missing-charset", feed_server, "", b"")
    settings = settings_factory(feeds=f"{feed_server.url('/wrong.xml')},{feed_server.url('/missing.xml')}")

    poller_run(settings).run(once=True)

    titles = {article.feed_url.rsplit("/", 1)[1]: article.title for article in poller_run(settings).articles()}
    assert titles["missing.xml"].startswith("Пригожин says")
    assert titles["wrong.xml"].startswith("Prigozhin\u2019s café says")
