"""The demo feeds: a small corpus about the June 2023 Wagner mutiny, served over HTTP on loopback.

The feeds are files in ``deploy/demo/feeds`` of the repository (fictional outlets, text written for this project).
:class:`FeedServer` serves a folder of feed files with ``Last-Modified`` and ``ETag`` so pollers can make
conditional requests, from a thread, on 127.0.0.1 and an ephemeral port unless told otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from newswire.errors import ConfigError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent  # app/ sits at the top of the checkout
DEMO_FEEDS = REPO_ROOT / "deploy" / "demo" / "feeds"


def demo_feeds_dir() -> Path:
    """The folder of demo feed files: in the source checkout, else under the working directory (the image's /app)."""
    for folder in (DEMO_FEEDS, Path.cwd() / "deploy" / "demo" / "feeds"):
        if folder.is_dir():
            return folder
    raise ConfigError(f"the demo feeds are not at {DEMO_FEEDS}; run from a checkout of the newswire repository")


class _FeedHandler(SimpleHTTPRequestHandler):
    extensions_map = {".xml": "application/xml; charset=utf-8", ".opml": "text/x-opml", "": "application/octet-stream"}

    def end_headers(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_file():
            self.send_header("ETag", '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:16] + '"')
            self.send_header("Cache-Control", "max-age=60")
        super().end_headers()

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_file():
            etag = '"' + hashlib.sha256(path.read_bytes()).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("feed server: " + format, *args)


class FeedServer:
    """Serves the files of ``folder`` on ``host:port`` (port 0: any free one) from a daemon thread."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self._server = ThreadingHTTPServer((host, port), partial(_FeedHandler, directory=str(folder)))
        self._thread = threading.Thread(target=self._server.serve_forever, name="feed-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def feed_urls(self) -> list[str]:
        """URLs of every ``.xml`` file in the folder, sorted."""
        return [f"{self.base_url}/{path.name}" for path in sorted(self.folder.glob("*.xml"))]

    def start(self) -> FeedServer:
        self._thread.start()
        logger.info("serving %d feeds from %s at %s", len(self.feed_urls()), self.folder, self.base_url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
