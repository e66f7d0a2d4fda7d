"""The WebSub callback endpoint: hubs verify subscriptions here (GET) and push new content here (POST).

Every subscription has its own callback URL, ``<websub_callback>/<callback id>``, the id 32 random bytes; the endpoint
takes the last path segment as the id, so a reverse proxy may strip the public prefix or keep it.

- ``GET``: the challenge is echoed (200, text/plain) only for a known callback id whose subscription is waiting for
  verification, with the same ``hub.mode`` (``subscribe``) and ``hub.topic``; anything else gets a 404. A hub's
  ``hub.mode=denied`` is taken note of (200).
- ``POST``: the body is read up to ``max_body_bytes`` (413 beyond, 408 when it takes longer than ``fetch_timeout``),
  then its ``X-Hub-Signature`` is checked against the subscription's secret; a missing or forged signature gets a 403
  and the body is never parsed. Accepted content gets a 202 and is parsed afterwards; a callback id not (or no
  longer) known gets a 410, which tells the hub to drop the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from newswire.errors import ConfigError
from newswire.ingest.websub import Subscription, signature_valid

logger = logging.getLogger(__name__)

MAX_CHALLENGE_CHARS = 1024
MAX_LEASE_SECONDS = 10 * 366 * 86400
MAX_CONNECTIONS = 64


class Subscriber(Protocol):
    """What the endpoint asks of the subscriber behind it (:class:`newswire.ingest.websub_agent.WebSubAgent`)."""

    def subscription(self, callback_id: str) -> Subscription | None: ...

    def verify(self, subscription: Subscription, lease_seconds: int | None) -> bool: ...

    def denied(self, subscription: Subscription, reason: str) -> None: ...

    def refused(self, subscription: Subscription, reason: str) -> None: ...

    def pushed(self, subscription: Subscription, body: bytes, content_type: str | None) -> bool: ...


class _TooLarge(Exception):
    pass


def callback_app(subscriber: Subscriber, *, max_body_bytes: int, read_timeout: float) -> Starlette:
    """The ASGI app of the callback endpoint."""

    async def verification(request: Request) -> Response:
        subscription = subscriber.subscription(_callback_id(request))
        params = request.query_params
        if subscription is None or params.get("hub.topic") != subscription.topic:
            return _not_found()
        mode = params.get("hub.mode")
        if mode == "denied":
            subscriber.denied(subscription, (params.get("hub.reason") or "no reason given")[:300])
            return Response(status_code=200)
        challenge = params.get("hub.challenge") or ""
        if mode != "subscribe" or not challenge or len(challenge) > MAX_CHALLENGE_CHARS:
            return _not_found()
        if not subscriber.verify(subscription, _lease(params.get("hub.lease_seconds"))):
            return _not_found()
        return PlainTextResponse(challenge)

    async def content(request: Request) -> Response:
        subscription = subscriber.subscription(_callback_id(request))
        if subscription is None:
            return Response(status_code=410)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return Response(status_code=415)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return Response(status_code=413)
        try:
            async with asyncio.timeout(read_timeout):
                body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            return Response(status_code=413)
        except TimeoutError:
            return Response(status_code=408)
        except ClientDisconnect:
            return Response(status_code=400)
        header = request.headers.get("x-hub-signature")
        if not signature_valid(subscription.secret, body, header):
            subscriber.refused(subscription, "forged signature" if header else "no signature")
            return Response(status_code=403)
        if not subscriber.pushed(subscription, body, request.headers.get("content-type")):
            return Response(status_code=410)
        return Response(status_code=202)

    routes = [
        Route("/{path:path}", verification, methods=["GET"]),
        Route("/{path:path}", content, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def _callback_id(request: Request) -> str:
    return str(request.path_params.get("path", "")).rstrip("/").rpartition("/")[2]


def _not_found() -> Response:
    return Response(status_code=404)


def _lease(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    seconds = int(value.strip()[:12])
    return seconds if 0 < seconds <= MAX_LEASE_SECONDS else None


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


class _Server(uvicorn.Server):
    """uvicorn inside the poller's event loop: the poller's process, not uvicorn, handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class CallbackServer:
    """Serves :func:`callback_app` on ``host:port`` in the running event loop; :meth:`start`, then :meth:`close`."""

    def __init__(self, subscriber: Subscriber, *, host: str, port: int, max_body_bytes: int, read_timeout: float):
        self.host = host
        self.port = port
        app = callback_app(subscriber, max_body_bytes=max_body_bytes, read_timeout=read_timeout)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="off",
            ws="none",
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen; :class:`ConfigError` when the address cannot be used."""
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._socket = socket.create_server((self.host, self.port), family=family)
        except (OSError, UnicodeError, OverflowError) as exc:
            raise ConfigError(
                f"cannot listen for WebSub callbacks on {self.host}:{self.port} (websub_listen_host/_port): {exc}"
            ) from exc
        self.port = int(self._socket.getsockname()[1])
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]), name="websub-callback")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises what stopped it
        logger.info("WebSub callbacks served on %s:%d", self.host, self.port)

    async def close(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=5)
        if self._socket is not None:
            self._socket.close()
