"""Talking to a WebSub hub: the subscription request (``hub.mode=subscribe``), sent like a fetch, never trusted.

The hub's URL comes from a feed, so the request goes only to public addresses (the network backend of
:mod:`newswire.ingest.netguard`, unless ``allow_private_addresses``), within ``fetch_timeout``, without following
redirects, and reads at most :data:`MAX_HUB_ANSWER_BYTES` of the answer.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

import httpcore
import httpx

from newswire.ingest.netguard import AddressRefused, GuardedBackend

logger = logging.getLogger(__name__)

MAX_HUB_ANSWER_BYTES = 64 * 1024
_HUB_ERRORS = (
    AddressRefused,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    httpx.InvalidURL,
    TimeoutError,
    ValueError,
    TypeError,
)


class HubClient:
    """Sends subscription requests to hubs; :meth:`aclose` when done."""

    def __init__(
        self,
        *,
        timeout: float,
        user_agent: str,
        allow_private: bool,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=8,
            max_keepalive_connections=0,  # requests to one hub are days apart
            network_backend=network_backend or GuardedBackend(allow_private=allow_private),
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def subscribe(self, hub: str, *, topic: str, callback: str, secret: str, lease_seconds: int) -> str | None:
        """Ask ``hub`` for a subscription: ``None`` when it accepted the request (2xx), else what went wrong."""
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": callback,
            "hub.secret": secret,
            "hub.lease_seconds": str(lease_seconds),
        }
        try:
            status = await self._post(hub, urlencode(form).encode("ascii"))
        except _HUB_ERRORS as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return None if 200 <= status < 300 else f"hub answered HTTP {status}"

    async def _post(self, hub: str, form: bytes) -> int:
        parsed = httpx.URL(hub)  # an IRI becomes its ASCII form (IDNA host, percent-encoded path)
        port = b"" if parsed.port is None else b":%d" % parsed.port
        url = httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path)
        headers = [
            (b"Host", parsed.raw_host + port),
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"User-Agent", self.user_agent.encode("ascii", "replace")),
        ]
        timeout = self.timeout
        extensions = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}
        async with asyncio.timeout(timeout):
            async with self._pool.stream("POST", url, headers=headers, content=form, extensions=extensions) as answer:
                read = 0
                async for chunk in answer.aiter_stream():
                    read += len(chunk)
                    if read > MAX_HUB_ANSWER_BYTES:
                        break
                return int(answer.status)
