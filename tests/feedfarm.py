"""RSS feeds served on loopback from a function of the feed's number, for the fault suite and the e2e bench."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser

from newswire.app.demo import DEMO_FEEDS


def demo_texts() -> list[tuple[str, str]]:
    """(title, summary) of every entry of the demo feeds, in a fixed order: text for generated articles."""
    texts = []
    for path in sorted(DEMO_FEEDS.glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            texts.append((entry.get("title", ""), entry.get("summary", "")))
    return texts


def serve_feeds(feed_xml: Callable[[int], bytes]) -> ThreadingHTTPServer:
    """A server on a free loopback port answering ``GET /<n>.xml`` with ``feed_xml(n)``, started in a daemon
    thread; ``shutdown()`` and ``server_close()`` it when done."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            feed = int(self.path.strip("/").removesuffix(".xml") or 0)
            body = feed_xml(feed)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
