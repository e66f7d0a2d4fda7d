"""RSS feeds served on loopback from a function of the feed's number, for the fault suite and the e2e bench."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
