"""A feed server for tests: loopback, in-process, scripted per path, counting every request.

Feed texts are generated here (fictional outlets, text written for this project about the June 2023 Wagner
mutiny); hostile responses (gzip bombs, endless and dripping bodies, redirect loops) are built on demand.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

HEADLINES = [
    ("Prigozhin says Wagner columns are moving towards Moscow", "Yevgeny Prigozhin"),
    ("Wagner fighters take control of the army headquarters in Rostov-on-Don", "Rostov-on-Don"),
    ("Putin calls the armed mutiny a stab in the back", "Vladimir Putin"),
    ("Lukashenko says he brokered a deal with Prigozhin", "Alexander Lukashenko"),
    ("Shoigu appears in a video for the first time since the mutiny", "Sergei Shoigu"),
    ("Questions over the whereabouts of Gerasimov", "Valery Gerasimov"),
    ("Belarus offers Wagner fighters a camp", "Belarus"),
    ("Moscow lifts the counter-terrorism regime", "Moscow"),
]


def rss_item(number: int, *, base: str = "https://wire.example.org", published: datetime | None = None) -> str:
    title, subject = HEADLINES[number % len(HEADLINES)]
    when = published or datetime(2023, 6, 24, 8, 0, tzinfo=UTC) + timedelta(minutes=number)
    return (
        f"<item><title>{escape(title)} ({number})</title>"
        f"<link>{base}/2023/06/24/story-{number}?utm_source=rss&amp;utm_medium=feed</link>"
        f'<guid isPermaLink="false">story-{number}</guid>'
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{escape(f'<p>Reporting on {subject}: what we know so far about story {number}.</p>')}"
        "</description></item>"
    )


def rss_feed(
    count: int, *, title: str = "Steppe Wire", start: int = 0, base: str = "https://wire.example.org"
) -> bytes:
    items = "".join(rss_item(number, base=base) for number in range(start, start + count))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><language>en</language>{items}</channel></rss>"
    ).encode()


def gzip_bomb(decompressed_bytes: int) -> bytes:
    """A gzip stream of ``decompressed_bytes`` zero bytes (about 1000 times smaller)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(decompressed_bytes // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


Respond = Callable[["_Handler"], None]


@dataclass
class FeedServer:
    """Serves scripted responses on loopback; ``routes[path]`` is a body (200) or a function of the handler.

    ``address`` may be any loopback address (127.0.0.2, 127.0.0.3, ...: each one a host of its own to a client),
    and ``port`` a port another server already uses on another address.
    """

    routes: dict[str, bytes | Respond] = field(default_factory=dict)
    address: str = "127.0.0.1"
    port_wanted: int = 0
    requests: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    request_headers: defaultdict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        server = self

        class Handler(_Handler):
            feed_server = server

        self._httpd = ThreadingHTTPServer((self.address, self.port_wanted), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="test-feed-server")
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.address}:{self.port}{path}"

    def count(self, path: str) -> int:
        with self._lock:
            return len(self.requests[path])

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests[path].append(time.monotonic())
            self.request_headers[path].append(headers)

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    feed_server: FeedServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.feed_server.record(path, {name.lower(): value for name, value in self.headers.items()})
        route = self.feed_server.routes.get(path)
        try:
            if route is None:
                self.send_error(404)
            elif isinstance(route, bytes):
                self.body(route)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the poller hung up: that is what it should do to a hostile server

    def body(
        self,
        data: bytes,
        *,
        status: int = 200,
        content_type: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- scripted responses ----------------------------------------------------------------------------------------


def conditional(data: bytes, etag: str = '"v1"') -> Respond:
    """200 with an ETag, 304 when the client sends it back."""

    def respond(handler: _Handler) -> None:
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.body(data, headers={"ETag": etag})

    return respond


def status(code: int, headers: dict[str, str] | None = None) -> Respond:
    def respond(handler: _Handler) -> None:
        handler.body(b"", status=code, content_type="text/plain", headers=headers)

    return respond


def redirect(location: str, code: int = 302) -> Respond:
    def respond(handler: _Handler) -> None:
        handler.send_response(code)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def with_type(data: bytes, content_type: str, headers: dict[str, str] | None = None) -> Respond:
    def respond(handler: _Handler) -> None:
        handler.body(data, content_type=content_type, headers=headers)

    return respond


def gzipped(data: bytes) -> Respond:
    def respond(handler: _Handler) -> None:
        handler.body(data, headers={"Content-Encoding": "gzip"})

    return respond


def endless(chunk: bytes = b"<rss><channel>" + b"<item><title>x</title></item>" * 2000) -> Respond:
    """A 200 whose body never ends (no Content-Length)."""

    def respond(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()
        while True:
            handler.wfile.write(chunk)

    return respond


def drip(every: float = 1.0, total: int = 3600) -> Respond:
    """A 200 that sends one byte every ``every`` seconds."""

    def respond(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.end_headers()
        for _ in range(total):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(every)

    return respond
