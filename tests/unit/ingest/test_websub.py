"""WebSub pieces on their own: hub discovery (feed links, Link header, hostile values), push signatures, the
callback endpoint's answers to verifications and pushes, and subscriptions surviving a restart."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from newswire.errors import ConfigError
from newswire.ingest.parse import parse_feed
from newswire.ingest.websub import (
    Discovery,
    Subscription,
    SubscriptionState,
    SubscriptionStore,
    discover,
    link_header_links,
    sign,
    signature_valid,
)
from newswire.ingest.websub_callback import CallbackServer, callback_app
from newswire.settings import load_settings

FEED = "https://wire.example.org/feeds/wagner.xml"
FETCHED = datetime(2023, 6, 24, 9, 0, tzinfo=UTC)


def atom_with_links(links: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Steppe Wire</title>'
        f"{links}<entry><title>Rostov headquarters taken</title><id>urn:story:1</id>"
        '<link href="https://wire.example.org/1"/><updated>2023-06-24T08:00:00Z</updated></entry></feed>'
    ).encode()


def rss_with_links(links: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>Steppe Wire</title><link>https://wire.example.org/</link>{links}"
        "<item><title>Columns near Moscow</title><link>https://wire.example.org/2</link></item></channel></rss>"
    ).encode()


# --- discovery ---------------------------------------------------------------------------------------------------


def test_atom_feed_names_its_hub_and_self():
    body = atom_with_links('<link rel="hub" href="/hub"/><link rel="self" href="https://wire.example.org/atom"/>')
    parsed = parse_feed(body, url=FEED, content_type="application/atom+xml", max_entries=10, fetched=FETCHED)

    assert discover(parsed.links, None, FEED) == Discovery(
        ("https://wire.example.org/hub",), "https://wire.example.org/atom"
    )


def test_rss_feed_names_its_hub_with_atom_links():
    body = rss_with_links(
        '<atom:link rel="hub" href="https://hub.example.net/"/>'
        '<atom:link rel="self" href="https://wire.example.org/rss" type="application/rss+xml"/>'
    )
    parsed = parse_feed(body, url=FEED, content_type="application/rss+xml", max_entries=10, fetched=FETCHED)

    assert discover(parsed.links, None, FEED) == Discovery(
        ("https://hub.example.net/",), "https://wire.example.org/rss"
    )


def test_link_header_comes_first_and_relative_targets_are_resolved():
    header = '</websub/hub>; rel="hub", <https://wire.example.org/canonical.xml>; rel="self"'
    feed_links = [("hub", "https://other-hub.example.net/"), ("self", "https://wire.example.org/feed-self")]

    found = discover(feed_links, header, FEED)

    assert found.hubs == ("https://wire.example.org/websub/hub", "https://other-hub.example.net/")
    assert found.topic == "https://wire.example.org/canonical.xml"


def test_feed_without_hub_has_nothing_to_subscribe_to():
    body = atom_with_links('<link rel="self" href="https://wire.example.org/atom"/><link rel="alternate" href="/"/>')
    parsed = parse_feed(body, url=FEED, content_type=None, max_entries=10, fetched=FETCHED)

    assert discover(parsed.links, "<https://wire.example.org/>; rel=alternate", FEED).hubs == ()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("<https://hub.example.net/>; rel=hub", [("hub", "https://hub.example.net/")]),
        (
            '<https://hub.example.net/>; REL="Hub Self"',
            [("hub", "https://hub.example.net/"), ("self", "https://hub.example.net/")],
        ),
        (
            '<https://a.example/x,y>; rel="hub", <https://b.example/>; rel="self"',
            [("hub", "https://a.example/x,y"), ("self", "https://b.example/")],
        ),
        ('<https://a.example/>; title="a, <b>; rel=self"; rel="hub"', [("hub", "https://a.example/")]),
        (";;;,,,<<<>>>", []),
        ("<https://a.example/>", []),
        ("<https://a.example/; rel=hub", []),
        ("", []),
    ],
)
def test_odd_link_headers(header, expected):
    assert link_header_links(header) == expected


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "data:text/plain,hub",
        "file:///etc/passwd",
        "ftp://hub.example.net/",
        "https://user:pass@hub.example.net/",
        "https://hub.example.net:99999/",
        "https://hub.example.net/\r\nX-Injected: 1",
        "https://hub.example.net/ space",
        "https://" + "a" * 3000 + ".example/",
        "   ",
    ],
)
def test_hostile_hub_targets_are_ignored(target):
    assert discover([("hub", target)], f"<{target}>; rel=hub", FEED).hubs == ()


def test_an_enormous_link_header_is_read_only_so_far():
    header = ", ".join(f"<https://hub{n}.example.net/>; rel=hub" for n in range(100_000))

    links = link_header_links(header)

    assert 0 < len(links) <= 32
    assert links[0] == ("hub", "https://hub0.example.net/")


@given(st.text(max_size=300))
def test_any_link_header_is_read_without_error(header):
    for rel, target in link_header_links(header):
        assert rel and rel == rel.lower()
        assert isinstance(target, str)
    discover([], header, FEED)


# --- signatures --------------------------------------------------------------------------------------------------


@given(
    body=st.binary(max_size=2000),
    secret=st.text(min_size=1, max_size=100),
    method=st.sampled_from(["sha1", "sha256", "sha384", "sha512"]),
)
def test_a_hub_signature_is_accepted_with_every_method(body, secret, method):
    header = f"{method}=" + hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()

    assert signature_valid(secret, body, header)
    assert signature_valid(secret, body, header.upper().replace("SHA", "sha", 1))  # hex digits in any case


@given(body=st.binary(min_size=1, max_size=500), secret=st.text(min_size=1, max_size=50), flip=st.integers(min_value=0))
def test_a_changed_body_is_refused(body, secret, flip):
    header = sign(secret, body)
    position = flip % len(body)
    forged = body[:position] + bytes([body[position] ^ 0x01]) + body[position + 1 :]

    assert not signature_valid(secret, forged, header)
    assert not signature_valid(secret + "x", body, header)


@given(header=st.text(max_size=200))
def test_any_signature_header_is_refused_without_error(header):
    assert not signature_valid("the-secret", b"<feed/>", header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256", "sha256=", "md5=" + hashlib.md5(b"x").hexdigest(), "sha256=zz", "sha256=\u00e9\u00e9", "=abc"],
)
def test_missing_or_malformed_signatures_are_refused(header):
    assert not signature_valid("the-secret", b"x", header)


# --- the callback endpoint ---------------------------------------------------------------------------------------


@dataclass
class FakeSubscriber:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    verified: list[int | None] = field(default_factory=list)
    denials: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def subscription(self, callback_id: str) -> Subscription | None:
        return self.subscriptions.get(callback_id)

    def verify(self, subscription: Subscription, lease_seconds: int | None) -> bool:
        if not subscription.awaiting:
            return False
        self.verified.append(lease_seconds)
        return True

    def denied(self, subscription: Subscription, reason: str) -> None:
        self.denials.append(reason)

    def refused(self, subscription: Subscription, reason: str) -> None:
        self.refusals.append(reason)

    def pushed(self, subscription: Subscription, body: bytes, content_type: str | None) -> bool:
        self.bodies.append(body)
        return True


@pytest.fixture
def endpoint():
    subscription = Subscription(feed_key="k", feed_url=FEED, hub="https://hub.example.net/", topic=FEED, awaiting=True)
    subscriber = FakeSubscriber({subscription.callback_id: subscription})
    app = callback_app(subscriber, max_body_bytes=10_000, read_timeout=5.0)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, subscriber, subscription


def verification(subscription: Subscription, **changes: str) -> dict[str, str]:
    params = {
        "hub.mode": "subscribe",
        "hub.topic": subscription.topic,
        "hub.challenge": "c-8d1f",
        "hub.lease_seconds": "600",
    }
    params.update(changes)
    return params


def test_verification_echoes_the_challenge_for_a_pending_subscription(endpoint):
    client, subscriber, subscription = endpoint

    answer = client.get(f"/websub/{subscription.callback_id}", params=verification(subscription))

    assert answer.status_code == 200
    assert answer.text == "c-8d1f"
    assert subscriber.verified == [600]


@pytest.mark.parametrize(
    "changes",
    [
        {"hub.topic": "https://wire.example.org/other.xml"},
        {"hub.mode": "unsubscribe"},
        {"hub.mode": "subscribe ", "hub.challenge": ""},
        {"hub.challenge": "x" * 5000},
    ],
)
def test_verification_that_does_not_match_gets_404_and_no_challenge(endpoint, changes):
    client, subscriber, subscription = endpoint

    answer = client.get(f"/websub/{subscription.callback_id}", params=verification(subscription, **changes))

    assert answer.status_code == 404
    assert "c-8d1f" not in answer.text
    assert subscriber.verified == []


def test_verification_of_an_unknown_callback_gets_404(endpoint):
    client, subscriber, subscription = endpoint

    answer = client.get("/websub/guessed-id", params=verification(subscription))

    assert answer.status_code == 404
    assert subscriber.verified == []


def test_verification_of_a_subscription_not_asked_for_gets_404(endpoint):
    client, _subscriber, subscription = endpoint
    subscription.awaiting = False

    assert client.get(f"/websub/{subscription.callback_id}", params=verification(subscription)).status_code == 404


def test_a_denial_is_taken_note_of(endpoint):
    client, subscriber, subscription = endpoint

    answer = client.get(
        f"/{subscription.callback_id}",
        params={"hub.mode": "denied", "hub.topic": subscription.topic, "hub.reason": "no"},
    )

    assert answer.status_code == 200
    assert subscriber.denials == ["no"]


def test_a_signed_push_is_accepted(endpoint):
    client, subscriber, subscription = endpoint
    body = atom_with_links("")

    answer = client.post(
        f"/websub/{subscription.callback_id}",
        content=body,
        headers={"X-Hub-Signature": sign(subscription.secret, body, "sha512"), "Content-Type": "application/atom+xml"},
    )

    assert answer.status_code == 202
    assert subscriber.bodies == [body]


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=deadbeef", "garbage"])
def test_a_push_without_a_valid_signature_is_refused_and_never_read(endpoint, signature):
    client, subscriber, subscription = endpoint
    body = atom_with_links("")
    headers = {"X-Hub-Signature": signature} if signature else {}

    answer = client.post(f"/websub/{subscription.callback_id}", content=body, headers=headers)

    assert answer.status_code == 403
    assert subscriber.bodies == []
    assert subscriber.refusals == ["forged signature" if signature else "no signature"]


def test_a_push_signed_with_another_subscriptions_secret_is_refused(endpoint):
    client, subscriber, subscription = endpoint
    body = atom_with_links("")

    answer = client.post(
        f"/websub/{subscription.callback_id}", content=body, headers={"X-Hub-Signature": sign("not-the-secret", body)}
    )

    assert answer.status_code == 403
    assert subscriber.bodies == []


def test_a_push_larger_than_the_limit_is_refused(endpoint):
    client, subscriber, subscription = endpoint
    body = b"<feed>" + b" " * 20_000 + b"</feed>"

    answer = client.post(
        f"/websub/{subscription.callback_id}",
        content=body,
        headers={"X-Hub-Signature": sign(subscription.secret, body)},
    )
    streamed = client.post(
        f"/websub/{subscription.callback_id}",
        content=iter([body[:5000], body[5000:]]),  # no Content-Length: cut off while reading
        headers={"X-Hub-Signature": sign(subscription.secret, body)},
    )

    assert answer.status_code == 413
    assert streamed.status_code == 413
    assert subscriber.bodies == []


def test_a_push_to_an_unknown_callback_is_told_to_stop(endpoint):
    client, subscriber, subscription = endpoint
    body = atom_with_links("")

    answer = client.post(
        "/websub/guessed-id", content=body, headers={"X-Hub-Signature": sign(subscription.secret, body)}
    )

    assert answer.status_code == 410
    assert subscriber.bodies == []


def test_compressed_pushes_are_refused(endpoint):
    client, subscriber, subscription = endpoint

    answer = client.post(
        f"/websub/{subscription.callback_id}",
        content=b"x",
        headers={"Content-Encoding": "gzip", "X-Hub-Signature": sign(subscription.secret, b"x")},
    )

    assert answer.status_code == 415
    assert subscriber.bodies == []


# --- durable subscriptions ---------------------------------------------------------------------------------------


def test_subscriptions_survive_a_restart_with_their_secret_and_callback(tmp_path):
    path = tmp_path / "ingest-state.sqlite3"
    store = SubscriptionStore(path)
    subscription = Subscription(feed_key="k", feed_url=FEED, hub="https://hub.example.net/", topic=FEED)
    subscription.state = SubscriptionState.VERIFIED
    store.save(subscription)
    replaced = Subscription(feed_key="k", feed_url=FEED, hub="https://hub.example.net/", topic=FEED)
    store.save(replaced)
    store.close()

    reopened = SubscriptionStore(path)

    assert reopened.by_feed["k"].secret == replaced.secret
    assert set(reopened.by_callback) == {replaced.callback_id}  # the replaced callback answers no more
    assert subscription.callback_id != replaced.callback_id
    assert len(replaced.callback_id) >= 40 and len(replaced.secret) == 64
    assert replaced.secret not in repr(replaced)
    reopened.close()


def test_websub_without_a_callback_url_is_a_setting_error():
    with pytest.raises(ConfigError, match="websub_callback"):
        load_settings(websub=True)
    with pytest.raises(ConfigError, match="websub_callback"):
        load_settings(websub=True, websub_callback="ftp://ingest.example.org/websub")
    assert load_settings(websub=True, websub_callback="https://ingest.example.org/websub/").websub_callback == (
        "https://ingest.example.org/websub"
    )


def test_a_callback_port_in_use_is_one_clear_setting_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = CallbackServer(FakeSubscriber(), host="127.0.0.1", port=port, max_body_bytes=1000, read_timeout=1.0)

        with pytest.raises(ConfigError, match=f"127.0.0.1:{port} \\(websub_listen_host/_port\\)"):
            asyncio.run(server.start())
