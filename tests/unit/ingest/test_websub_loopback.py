"""WebSub end to end on loopback, on the embedded bus: a hub written for these tests verifies the poller's callback
and pushes signed Atom; pushes are published once, forged ones never; a hub that never verifies, or lets a lease
run out, leaves the feed on its polling schedule; a lease is renewed before it ends."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import httpx
import pytest

from newswire.bus import open_bus, pipeline_topics
from newswire.contract import Article, decode_raw
from newswire.ingest.fetch import Fetcher
from newswire.ingest.netguard import GuardedBackend
from newswire.ingest.service import Poller
from newswire.ingest.state import StateFile
from newswire.ingest.websub import Subscription, SubscriptionState, sign
from newswire.settings import Settings
from tests.unit.ingest.feedserver import HEADLINES, FeedServer

WAIT_SECONDS = 30.0


def atom_feed(count: int, *, hub: str, self_url: str) -> bytes:
    """An Atom feed of ``count`` stories naming its hub and itself (fictional outlet, text written for the tests)."""
    entries = []
    for number in range(count):
        title, subject = HEADLINES[number % len(HEADLINES)]
        updated = (datetime(2023, 6, 24, 8, 0, tzinfo=UTC) + timedelta(minutes=number)).isoformat()
        entries.append(
            f"<entry><title>{escape(title)} ({number})</title><id>urn:steppe-wire:story-{number}</id>"
            f'<link href="https://wire.example.org/2023/06/24/push-{number}"/><updated>{updated}</updated>'
            f"<summary>What we know about {escape(subject)} (story {number}).</summary></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>Steppe Wire</title><id>urn:steppe-wire</id><link rel="hub" href="{hub}"/>'
        f'<link rel="self" href="{self_url}"/>{"".join(entries)}</feed>'
    ).encode()


@dataclass
class LoopbackHub:
    """A WebSub hub on loopback: takes subscription requests (202), verifies the callback, pushes signed content.

    ``verify``: whether it verifies a first subscription; ``verify_renewals``: whether it verifies later ones;
    ``lease_seconds``: the lease it grants.
    """

    verify: bool = True
    verify_renewals: bool = True
    lease_seconds: int = 600
    requests: list[dict[str, str]] = field(default_factory=list)
    subscribers: dict[str, dict[str, str]] = field(default_factory=dict)  # topic -> the verified request
    verifications: int = 0

    def __post_init__(self) -> None:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                hub.requests.append(form)
                threading.Thread(target=hub.verify_intent, args=(form,), daemon=True).start()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="test-websub-hub")
        self._client = httpx.Client(trust_env=False, timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/hub"

    def start(self) -> LoopbackHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._client.close()

    def verify_intent(self, form: dict[str, str]) -> None:
        topic = form["hub.topic"]
        renewal = topic in self.subscribers
        if not (self.verify_renewals if renewal else self.verify):
            return
        challenge = secrets.token_urlsafe(16)
        params = {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": challenge}
        params["hub.lease_seconds"] = str(self.lease_seconds)
        answer = self._client.get(form["hub.callback"], params=params)
        if answer.status_code == 200 and answer.text == challenge:
            self.subscribers[topic] = form
            self.verifications += 1

    def push(self, topic: str, body: bytes, *, secret: str | None = None) -> int:
        """Distribute ``body`` to the topic's subscriber, signed with its secret (or with ``secret``)."""
        subscriber = self.subscribers[topic]
        signature = sign(subscriber["hub.secret"] if secret is None else secret, body)
        headers = {"Content-Type": "application/atom+xml", "X-Hub-Signature": signature}
        headers["Link"] = f'<{self.url}>; rel="hub", <{topic}>; rel="self"'
        return self._client.post(subscriber["hub.callback"], content=body, headers=headers).status_code


@pytest.fixture
def hub() -> Iterator[LoopbackHub]:
    started = LoopbackHub().start()
    yield started
    started.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningPoller:
    """A poller with WebSub on the embedded bus, in a thread, until the ``with`` block ends."""

    def __init__(self, settings: Settings, *, fetcher_backend: GuardedBackend | None = None) -> None:
        self.settings = settings
        self.bus = open_bus(settings, embedded=True)
        self.bus.ensure_topics(pipeline_topics(settings))
        self.state = StateFile.in_dir(settings.data_dir)
        fetcher = Fetcher(settings, network_backend=fetcher_backend) if fetcher_backend else None
        self.poller = Poller(settings, self.bus, self.state, fetcher=fetcher)
        self.stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self.poller.run(self.stop)), name="test-poller")

    def __enter__(self) -> RunningPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(30)
        self.state.close()
        self.bus.close()

    def subscription(self) -> Subscription | None:
        websub = self.poller.websub
        subscriptions = list(websub.store.by_feed.values()) if websub else []
        return subscriptions[0] if subscriptions else None

    def subscription_failed(self) -> bool:
        subscription = self.subscription()
        return subscription is not None and subscription.state is SubscriptionState.FAILED

    def feed_state(self, url: str) -> Any:
        feeds = [feed for feed in self.poller.directory.feeds.values() if feed.config.url == url]
        return feeds[0].state if feeds else None

    def articles(self) -> list[Article]:
        consumer = self.bus.consumer([self.settings.topic_raw], f"check-{secrets.token_hex(4)}")
        found: list[Article] = []
        while batch := consumer.poll(1000, 0.2):
            found += [decode_raw(record.value) for record in batch]
        consumer.close()
        return found


def eventually(check: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT_SECONDS:.0f}s: {what}")
        time.sleep(0.1)


def polled_twice_more(feed_server: FeedServer) -> Callable[[], bool]:
    """A check that the feed was polled twice more since now: it is on a one-second schedule."""
    polls = feed_server.count("/wire.xml")
    return lambda: feed_server.count("/wire.xml") >= polls + 2


@pytest.fixture
def websub_settings(settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(feed_url: str, **overrides: Any) -> Settings:
        port = free_port()
        values: dict[str, Any] = {
            "feeds": feed_url,
            "websub": True,
            "websub_callback": f"http://127.0.0.1:{port}/websub",
            "websub_listen_port": port,
            "websub_poll_interval": 3600.0,
            "websub_verify_timeout": 1.0,
        }
        values.update(overrides)
        return settings_factory(**values)

    return make


def test_a_push_is_published_once_and_a_forged_one_never(feed_server: FeedServer, hub, websub_settings):
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(2, hub=hub.url, self_url=feed_url)
    with RunningPoller(websub_settings(feed_url)) as run:
        eventually(lambda: feed_url in hub.subscribers, "the hub verified the subscription")
        eventually(lambda: len(run.articles()) == 2, "the first poll published the feed's two stories")
        eventually(
            lambda: run.feed_state(feed_url).next_poll > time.time() + 600, "polling slowed down while subscribed"
        )
        polls_while_subscribed = feed_server.count("/wire.xml")

        published = atom_feed(3, hub=hub.url, self_url=feed_url)  # story 2 is new; the feed still serves two
        assert hub.push(feed_url, published) == 202
        eventually(lambda: len(run.articles()) == 3, "the pushed story was published")
        assert hub.push(feed_url, published) == 202  # the hub sends it again
        eventually(lambda: run.feed_state(feed_url).last_status == "pushed: 0 new", "the second push was read")
        forged = atom_feed(4, hub=hub.url, self_url=feed_url)
        assert hub.push(feed_url, forged, secret="guessed-" + "0" * 56) == 403

        articles = run.articles()
        subscription = run.subscription()
        counters = dict(run.poller.counters)

    assert sorted(article.guid or "" for article in articles) == [f"urn:steppe-wire:story-{n}" for n in range(3)]
    pushed = next(article for article in articles if article.guid == "urn:steppe-wire:story-2")
    assert pushed.title == "Putin calls the armed mutiny a stab in the back (2)"
    assert pushed.source == "Steppe Wire"
    assert pushed.feed_url == feed_url
    assert subscription is not None
    assert subscription.state is SubscriptionState.VERIFIED
    assert (subscription.pushes, subscription.refused) == (2, 1)
    assert counters["websub_refused"] == 1
    assert counters["websub_published"] == 1
    assert feed_server.count("/wire.xml") == polls_while_subscribed  # the safety net waits half an hour
    request = hub.requests[0]
    assert request["hub.mode"] == "subscribe"
    assert request["hub.topic"] == feed_url
    assert request["hub.lease_seconds"] == "864000"
    assert len(request["hub.secret"]) == 64


def test_a_hub_that_never_verifies_leaves_the_feed_on_its_schedule(feed_server: FeedServer, hub, websub_settings):
    hub.verify = False
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(2, hub=hub.url, self_url=feed_url)
    with RunningPoller(websub_settings(feed_url)) as run:
        eventually(lambda: hub.requests, "the poller asked the hub for a subscription")
        eventually(run.subscription_failed, "the unverified subscription failed")
        eventually(polled_twice_more(feed_server), "the feed is polled every second still")
        subscription = run.subscription()

    assert subscription is not None
    assert subscription.last_error == "hub did not verify within 1s"
    assert subscription.retry_at is not None and subscription.retry_at > time.time() + 600  # tried again later
    assert hub.subscribers == {}


def test_a_lease_is_renewed_before_it_ends(feed_server: FeedServer, hub, websub_settings):
    hub.lease_seconds = 6  # renewed after 4.8 s: time enough for the hub to verify on a busy machine
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(1, hub=hub.url, self_url=feed_url)
    with RunningPoller(websub_settings(feed_url)) as run:
        eventually(lambda: hub.verifications >= 2, "the hub verified the subscription and its renewal")
        subscription = run.subscription()
        counters = dict(run.poller.counters)

    assert subscription is not None
    assert subscription.state is SubscriptionState.VERIFIED
    assert len({request["hub.callback"] for request in hub.requests}) == 1  # renewed, not replaced
    assert counters.get("websub_fallbacks", 0) == 0
    assert counters["websub_renewed"] >= 1
    assert subscription.lease_end is not None and subscription.lease_end > time.time() + 3  # the new lease


def test_a_lease_that_runs_out_sends_the_feed_back_to_polling(feed_server: FeedServer, hub, websub_settings):
    hub.lease_seconds = 2
    hub.verify_renewals = False
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(1, hub=hub.url, self_url=feed_url)
    with RunningPoller(websub_settings(feed_url)) as run:
        eventually(lambda: hub.verifications == 1, "the hub verified the subscription")
        eventually(run.subscription_failed, "the subscription lapsed")
        eventually(polled_twice_more(feed_server), "the feed is polled every second again")
        subscription = run.subscription()

    assert subscription is not None
    assert subscription.last_error == "the lease ended without a verified renewal"
    assert len(hub.requests) >= 2  # the renewal was asked for


def test_a_feed_cannot_make_the_poller_post_to_a_private_address(feed_server: FeedServer, websub_settings):
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(1, hub="http://10.255.255.1:8080/hub", self_url=feed_url)
    settings = websub_settings(feed_url, allow_private_addresses=False)
    backend = GuardedBackend(allow_private=False, exempt=("127.0.0.1",))  # the test's feed server only
    with RunningPoller(settings, fetcher_backend=backend) as run:
        eventually(run.subscription_failed, "the subscription to a private hub failed")
        subscription = run.subscription()
        articles = run.articles()

    assert subscription is not None
    assert subscription.last_error is not None
    assert subscription.last_error.startswith("subscribing failed: AddressRefused")
    assert len(articles) == 1  # the feed itself is polled and published as usual


def test_a_hub_gone_quiet_sends_the_feed_back_to_polling(feed_server: FeedServer, hub, websub_settings):
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(1, hub=hub.url, self_url=feed_url)
    settings = websub_settings(feed_url, websub_poll_interval=2.0, websub_quiet_seconds=0.05)
    with RunningPoller(settings) as run:
        eventually(lambda: feed_url in hub.subscribers, "the hub verified the subscription")
        feed_server.routes["/wire.xml"] = atom_feed(2, hub=hub.url, self_url=feed_url)  # and the hub pushes nothing
        eventually(run.subscription_failed, "the quiet hub was given up")
        eventually(lambda: len(run.articles()) == 2, "the safety-net poll published the new story")
        subscription = run.subscription()

    assert subscription is not None
    assert subscription.last_error is not None
    assert subscription.last_error.startswith("hub quiet")


def test_a_subscription_outlives_a_restart_of_the_poller(feed_server: FeedServer, hub, websub_settings):
    feed_url = feed_server.url("/wire.xml")
    feed_server.routes["/wire.xml"] = atom_feed(1, hub=hub.url, self_url=feed_url)
    settings = websub_settings(feed_url)
    with RunningPoller(settings) as run:
        eventually(lambda: feed_url in hub.subscribers, "the hub verified the subscription")
        eventually(lambda: len(run.articles()) == 1, "the first poll published the feed")

    with RunningPoller(settings) as run:
        eventually(lambda: run.feed_state(feed_url) is not None, "the restarted poller read its feeds")
        assert hub.push(feed_url, atom_feed(2, hub=hub.url, self_url=feed_url)) == 202
        eventually(lambda: len(run.articles()) == 2, "the push to the old callback was published")
        subscription = run.subscription()

    assert len(hub.requests) == 1  # not subscribed again
    assert subscription is not None
    assert subscription.state is SubscriptionState.VERIFIED
