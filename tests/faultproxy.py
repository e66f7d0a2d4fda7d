"""A fault proxy for tests: HTTP on 127.0.0.1 in front of a real Elasticsearch node, which passes requests through
until told to misbehave the way a busy node or a broken network does.

    with FaultProxy("http://127.0.0.1:9200") as proxy:
        store = ElasticsearchStore(proxy.url, alias=...)
        proxy.answer(429, retry_after=2)   # every request: 429 and an Elasticsearch-shaped error body
        proxy.answer(503, only_bulk=True)  # only ``_bulk`` requests: 503
        proxy.reject_items()               # ``_bulk``: 200, but every other item refused with 429
        proxy.reset()                      # cut: open connections closed, new ones reset as soon as accepted
        proxy.blackhole()                  # cut: requests read and never answered (the client's timeout runs out)
        proxy.blackhole(resume=True)       # the same, but what was held is delivered when the path is back
        proxy.restore()                    # pass through again

A connection black-holed stays dead after :meth:`restore` (as one through a firewall that lost its state): it is
closed only when the client gives up on it, so a client learns of the cut from its own request timeout. New
connections after :meth:`restore` pass. ``blackhole(resume=True)`` is the kinder cut of a path that comes back with
its connections: the requests held are forwarded on :meth:`restore` and answered.

The proxy speaks HTTP/1.1 with keep-alive to both sides (one upstream connection per client connection), reads each
request whole before deciding what to do with it, and counts the requests it let through and the ones it faulted
(:attr:`FaultProxy.passed`, :attr:`FaultProxy.faulted`, by kind: ``bulk``, ``other``, and ``connect`` for a
connection reset as soon as it was accepted).
"""

from __future__ import annotations

import enum
import http.client
import json
import logging
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# Headers of one hop, never forwarded (RFC 9110 7.6.1), plus the ones the proxy sets itself.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)

ERROR_TYPES = {
    429: ("es_rejected_execution_exception", "rejected execution of coordinating operation [fault proxy]"),
    503: ("master_not_discovered_exception", "no master node is known to this node [fault proxy]"),
}


class Mode(enum.Enum):
    PASS = "pass"
    ANSWER = "answer"
    REJECT_ITEMS = "reject-items"
    RESET = "reset"
    BLACKHOLE = "blackhole"


def error_body(status: int) -> bytes:
    """An Elasticsearch-shaped error body for ``status``."""
    error_type, reason = ERROR_TYPES.get(status, ("exception", f"fault proxy answered {status}"))
    cause = {"type": error_type, "reason": reason}
    return json.dumps({"error": {"root_cause": [cause], **cause}, "status": status}).encode()


def bulk_items(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """The items of a ``_bulk`` body: each action and its lines (the action, and the source unless it deletes)."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    items: list[tuple[dict[str, Any], bytes]] = []
    at = 0
    while at < len(lines):
        action = json.loads(lines[at])
        width = 1 if next(iter(action)) == "delete" else 2
        items.append((action, b"\n".join(lines[at : at + width]) + b"\n"))
        at += width
    return items


def rejected_item(action: dict[str, Any], index: str) -> dict[str, Any]:
    """The response item of an action the node refused with 429 (its queue full)."""
    op, meta = next(iter(action.items()))
    error_type, reason = ERROR_TYPES[429]
    return {
        op: {
            "_index": meta.get("_index", index),
            "_id": meta.get("_id"),
            "status": 429,
            "error": {"type": error_type, "reason": reason},
        }
    }


def _abort(sock: socket.socket) -> None:
    """Close ``sock`` with a reset (no orderly FIN), the way a broken path ends a connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 (a free port) to the node at ``upstream``; a context manager."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 9200
        self.passed: Counter[str] = Counter()
        self.faulted: Counter[str] = Counter()
        self._lock = threading.Condition()
        self._mode = Mode.PASS
        self._status = 503
        self._only_bulk = False
        self._retry_after: int | None = None
        self._resume = False
        self._open: set[socket.socket] = set()
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def mode(self) -> Mode:
        return self._mode

    # -- switching faults -------------------------------------------------------------------------------------

    def restore(self) -> None:
        """Pass every request through again (connections black-holed without ``resume`` stay dead)."""
        self._switch(Mode.PASS)

    def answer(self, status: int, *, only_bulk: bool = False, retry_after: int | None = None) -> None:
        """Answer every request (only ``_bulk`` ones with ``only_bulk``) with ``status`` and an error body."""
        with self._lock:
            self._status, self._only_bulk, self._retry_after = status, only_bulk, retry_after
        self._switch(Mode.ANSWER)

    def reject_items(self) -> None:
        """``_bulk`` requests: the even-numbered items (the first, the third, ...) refused with 429 inside a 200
        answer, the others written by the node; other requests pass."""
        self._switch(Mode.REJECT_ITEMS)

    def reset(self) -> None:
        """Cut: reset every open connection, and each new one as soon as it is accepted."""
        self._switch(Mode.RESET)
        with self._lock:
            for sock in list(self._open):
                _abort(sock)

    def blackhole(self, *, resume: bool = False) -> None:
        """Cut: read requests and never answer them, on open connections and new ones. With ``resume`` the requests
        held are sent on when the cut ends (as TCP's retransmissions deliver them once the path is back), and those
        connections live on; without, they stay dead (see the module docstring)."""
        with self._lock:
            self._resume = resume
        self._switch(Mode.BLACKHOLE)

    def _switch(self, mode: Mode) -> None:
        with self._lock:
            self._mode = mode
            self._lock.notify_all()
        logger.info("fault proxy %s: %s", self.url, mode.value)

    # -- life -------------------------------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
            for sock in list(self._open):
                _abort(sock)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # -- used by the handler ----------------------------------------------------------------------------------

    def _opened(self, sock: socket.socket) -> bool:
        """Register a new client connection; False (and the connection reset) during a reset cut."""
        with self._lock:
            if self._mode is Mode.RESET or self._stopping:
                if not self._stopping:
                    self.faulted["connect"] += 1
                _abort(sock)
                return False
            self._open.add(sock)
            return True

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _hold(self, sock: socket.socket) -> None:
        """Keep a black-holed request unanswered until the client closes the connection (or the proxy stops)."""
        sock.settimeout(0.5)
        while not self._stopping:
            try:
                if sock.recv(65536) == b"":
                    return  # the client gave up
            except TimeoutError:
                continue
            except OSError:
                return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.proxy._opened(request)

    def shutdown_request(self, request: Any) -> None:
        self.proxy._closed(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()

    def do_GET(self) -> None:
        self._relay()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _relay(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        kind = "bulk" if urlsplit(self.path).path.rstrip("/").endswith("/_bulk") else "other"
        with proxy._lock:
            if proxy._mode is Mode.BLACKHOLE and proxy._resume:
                proxy.faulted[kind] += 1
                while proxy._mode is Mode.BLACKHOLE and not proxy._stopping:
                    proxy._lock.wait(0.5)
            mode, status, only_bulk, retry_after = proxy._mode, proxy._status, proxy._only_bulk, proxy._retry_after
            if proxy._stopping:
                mode = Mode.RESET
            if mode is Mode.ANSWER and kind != "bulk" and only_bulk:
                mode = Mode.PASS
            if mode is Mode.REJECT_ITEMS and (kind != "bulk" or self.command not in ("POST", "PUT")):
                mode = Mode.PASS
            (proxy.passed if mode is Mode.PASS else proxy.faulted)[kind] += 1
        if mode is Mode.RESET:
            _abort(self.connection)
            self.close_connection = True
        elif mode is Mode.BLACKHOLE:
            proxy._hold(self.connection)
            self.close_connection = True
        elif mode is Mode.ANSWER:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self._send(status, error_body(status), {"Content-Type": "application/json", **headers})
        elif mode is Mode.REJECT_ITEMS:
            self._send_partly_rejected(body)
        else:
            answer, headers, answer_body = self._forward(body)
            try:
                self._send(answer, answer_body, headers)
            except OSError:  # a held request whose client gave up before the path came back
                self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send the request to the node (``body`` instead of the one read); its status, headers and body."""
        if self._upstream is None:
            proxy = self.server.proxy
            self._upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_HEADERS}
        headers["Content-Length"] = str(len(body))
        headers.pop("Accept-Encoding", None)  # the answer is read and maybe rewritten here: keep it plain
        self._upstream.request(self.command, self.path, body=body, headers=headers)
        response = self._upstream.getresponse()
        answer_body = response.read()
        # A HEAD answer keeps the node's Content-Length (of the body it would have sent); others get their own.
        dropped = HOP_HEADERS if self.command == "HEAD" else HOP_HEADERS | {"content-length"}
        answer_headers = {name: value for name, value in response.getheaders() if name.lower() not in dropped}
        return response.status, answer_headers, answer_body

    def _send_partly_rejected(self, body: bytes) -> None:
        items = bulk_items(body)
        index = urlsplit(self.path).path.strip("/").split("/")[0]
        kept = [(at, lines) for at, (_, lines) in enumerate(items) if at % 2 == 1]
        results: dict[int, dict[str, Any]] = {}
        took = 0
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if kept:
            status, headers, answer = self._forward(b"".join(lines for _, lines in kept))
            if status != 200:
                self._send(status, answer, headers)
                return
            written = json.loads(answer)
            took = written.get("took", 0)
            results = {at: item for (at, _), item in zip(kept, written["items"], strict=True)}
        merged = [results.get(at) or rejected_item(action, index) for at, (action, _) in enumerate(items)]
        self._send(200, json.dumps({"errors": True, "took": took, "items": merged}).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response_only(status)
        sent = {name.lower() for name in headers}
        for name, value in headers.items():
            self.send_header(name, value)
        if "x-elastic-product" not in sent:
            self.send_header("X-elastic-product", "Elasticsearch")
        if "content-length" not in sent:
            self.send_header("Content-Length", str(len(body) if self.command != "HEAD" else 0))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
