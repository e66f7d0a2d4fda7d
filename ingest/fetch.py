"""Fetching feeds over HTTP politely and defensively: many in flight, none able to hurt the poller.

- Concurrency: at most ``global_concurrency`` fetches at once and ``per_host_concurrency`` per host.
- Politeness (:mod:`newswire.ingest.politeness`): at most ``host_fetch_starts`` fetch starts per host every
  ``host_fetch_seconds`` (or the host's own budget), and a host that throttles (429, ``Retry-After``, a 403 after a
  burst) is paused as a whole. A fetch waits for its host's budget and for a short pause (it holds no global slot
  meanwhile); during a longer pause it returns at once, a ``THROTTLED`` failure with the time left. Its request
  (each redirect hop's, to the hop's host) is written only when that host's budget allows it at that very moment,
  through httpcore's ``trace`` extension, the one hook between the connection being ready and the request going out.
- Conditional GET with the feed's ETag / Last-Modified; a 304 returns no body.
- Time: connect and read timeouts, and a total deadline (``fetch_timeout``) so a server dripping one byte a second
  cannot hold a fetch open.
- Size: the body is streamed and cut off at ``max_body_bytes`` of DECOMPRESSED data: content encodings are decoded
  here, with a bound on each step, so a gzip bomb is stopped after the limit and not after it fills the memory.
- Redirects are followed by hand, at most ``max_redirects``, each hop checked: http(s) only, no loops, and (by the
  network backend of :mod:`newswire.ingest.netguard`) public addresses only.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from newswire.ingest.base import FailureKind, FetchFailure, FetchResult
from newswire.ingest.netguard import AddressRefused, GuardedBackend
from newswire.ingest.politeness import LONGEST_RETRY_AFTER, HostLedger, host_of
from newswire.retry import retry_after_seconds
from newswire.settings import Settings

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"  # noqa: E501
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
CHUNK = 64 * 1024
SHORT_PAUSE = 10.0  # a fetch waits out a host's pause up to this long; beyond it, the feed is rescheduled


class BodyTooLarge(Exception):
    pass


class _Decoder:
    """Decodes one content encoding incrementally without ever producing more than it is asked for."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self.encoding = encoding
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS)
            self._raw_deflate_tried = False
        else:
            raise ValueError(f"unsupported content encoding {encoding!r}")

    def decode(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """Up to ``room + 1`` decoded bytes of ``data``; the flag is true when the output went over ``room``."""
        if self._inflater is None:
            return data, len(data) > room
        out = bytearray()
        pending = data
        while pending or not out:
            try:
                piece = self._inflater.decompress(pending, room + 1 - len(out))
            except zlib.error:
                if self.encoding == "deflate" and not self._raw_deflate_tried and not out:
                    # Some servers send raw deflate without the zlib header.
                    self._raw_deflate_tried = True
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            out += piece
            if len(out) > room:
                return bytes(out), True
            pending = self._inflater.unconsumed_tail
            if not piece:
                break
        return bytes(out), False


class Fetcher:
    """An HTTP client for feeds and article pages; use as ``async with Fetcher(settings) as fetcher``."""

    def __init__(self, settings: Settings, *, network_backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.settings = settings
        total = settings.fetch_timeout
        self._timeout = httpx.Timeout(connect=min(10.0, total), read=min(15.0, total), write=10.0, pool=None)
        transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
        # httpx takes no network backend; the pool it built is replaced by one dialling through the guard.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=settings.global_concurrency * 2,
            # Feeds are polled minutes apart, so idle connections are rarely reused; and httpcore checks every
            # pooled connection on each request, so a big idle pool costs more than it saves.
            max_keepalive_connections=min(8, settings.global_concurrency),
            keepalive_expiry=5.0,
            network_backend=network_backend or GuardedBackend(allow_private=settings.allow_private_addresses),
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._global = asyncio.Semaphore(settings.global_concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host_concurrency)
        )
        self.hosts = HostLedger.of(settings.host_fetch_starts, settings.host_fetch_seconds, settings.host_budgets)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch ``url``; never raises for anything the server or the network does (see ``FetchResult.failure``)."""
        host = host_of(url)
        hosts = self.hosts
        async with self._per_host[host]:
            while True:
                paused = hosts.paused_for(host)
                if paused > SHORT_PAUSE:
                    reason = f"{host} asked for a pause, {paused:.0f}s left"
                    return FetchResult(url, url, failure=FetchFailure(FailureKind.THROTTLED, reason, paused))
                wait = hosts.wait(host)
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                async with self._global:
                    if hosts.wait(host) > 0:
                        continue  # another fetch of this host started while this one waited for a global slot
                    hosts.record_start(host)
                    started = time.time()
                    try:
                        async with asyncio.timeout(self.settings.fetch_timeout):
                            limit = max_bytes or self.settings.max_body_bytes
                            result = await self._fetch(url, etag, last_modified, accept, limit)
                    except TimeoutError:
                        reason = f"timed out after {self.settings.fetch_timeout:g}s"
                        result = FetchResult(url, url, failure=FetchFailure(FailureKind.TEMPORARY, reason))
                result.started = started
                retry_after = result.failure.retry_after if result.failure else None
                throttle = hosts.observe(host, url, result.status, retry_after)
                if throttle is not None:
                    result.failure = FetchFailure(FailureKind.THROTTLED, throttle.reason, throttle.seconds)
                return result

    async def _fetch(
        self, url: str, etag: str | None, last_modified: str | None, accept: str, max_bytes: int
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        visited: set[str] = set()
        moved_to: str | None = None
        permanent_so_far = True
        for _hop in range(self.settings.max_redirects + 1):
            scheme = urlsplit(current).scheme.lower()
            if scheme not in ("http", "https"):
                return self._failed(url, current, FailureKind.REFUSED, f"refusing {scheme or 'a relative'} URL")
            if current in visited:
                return self._failed(url, current, FailureKind.REFUSED, f"redirect loop at {current}")
            visited.add(current)
            try:
                request = self._client.build_request(
                    "GET", current, headers=headers, extensions={"trace": self._paced(host_of(current))}
                )
                response = await self._client.send(request, stream=True)
            except (AddressRefused, httpx.HTTPError) as exc:
                return FetchResult(url, current, failure=_transport_failure(exc))
            try:
                status = response.status_code
                if status in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        return self._failed(url, current, FailureKind.REFUSED, f"HTTP {status} without Location")
                    current = urljoin(current, location.strip())
                    permanent_so_far = permanent_so_far and status in PERMANENT_REDIRECTS
                    if permanent_so_far:
                        moved_to = current
                    continue
                result = FetchResult(
                    url,
                    current,
                    status=status,
                    headers={name.lower(): value for name, value in response.headers.items()},
                    moved_to=moved_to,
                )
                if 200 <= status < 300:
                    result.body = await self._read_body(response, max_bytes)
                else:
                    result.failure = _status_failure(status, result.header("retry-after"))
                return result
            except BodyTooLarge:
                limit = f"{max_bytes / 1024 / 1024:.1f} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
                return self._failed(url, current, FailureKind.REFUSED, f"body larger than {limit} (decompressed)")
            except (ValueError, zlib.error) as exc:
                return self._failed(url, current, FailureKind.REFUSED, f"undecodable body: {exc}")
            except httpx.HTTPError as exc:
                return FetchResult(url, current, failure=_transport_failure(exc))
            finally:
                await response.aclose()
        return self._failed(url, current, FailureKind.REFUSED, f"more than {self.settings.max_redirects} redirects")

    def _paced(self, host: str) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        """httpcore's trace hook for a request to ``host``: its headers are written only when the host's budget
        allows, and that moment is what the next request's slot counts from (see the politeness module).

        httpcore and anyio hand the headers to the socket in the same step as this hook returns, with no await in
        between, so the moment the hook lets a request go is the moment it goes; the host stays held until the write
        is reported done, in case a later version of either awaits in between.
        """
        hosts = self.hosts

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith(".send_request_headers.started"):
                if hosts.wait_to_send(host) > 0:
                    with hosts.queued(host):
                        while (wait := hosts.wait_to_send(host)) > 0:
                            await asyncio.sleep(wait)
                hosts.sending(host)
            elif event.endswith((".send_request_headers.complete", ".send_request_headers.failed")):
                hosts.sent(host)

        return trace

    @staticmethod
    def _failed(url: str, current: str, kind: FailureKind, reason: str) -> FetchResult:
        return FetchResult(url, current, failure=FetchFailure(kind, reason))

    @staticmethod
    async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
        encodings = [part for part in response.headers.get("content-encoding", "").split(",") if part.strip()]
        if len(encodings) > 1:
            raise ValueError(f"stacked content encodings {encodings!r}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and not encodings and int(declared) > max_bytes:
            raise BodyTooLarge
        decoder = _Decoder(encodings[0] if encodings else "")
        body = bytearray()
        async for chunk in response.aiter_raw(CHUNK):
            piece, over = decoder.decode(chunk, max_bytes - len(body))
            body += piece
            if over or len(body) > max_bytes:
                raise BodyTooLarge
        return bytes(body)


def _transport_failure(exc: Exception) -> FetchFailure:
    """What a failed connection or transfer means for the feed."""
    if isinstance(exc, AddressRefused):
        return FetchFailure(FailureKind.REFUSED, str(exc))
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchFailure(FailureKind.REFUSED, f"bad URL: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return FetchFailure(FailureKind.TEMPORARY, f"timeout: {type(exc).__name__}")
    return FetchFailure(FailureKind.TEMPORARY, f"{type(exc).__name__}: {exc}")


def _status_failure(status: int, retry_after: str | None) -> FetchFailure | None:
    if status == 304 or 200 <= status < 300:
        return None
    if status in (429, 503) or status >= 500:
        return FetchFailure(
            FailureKind.TEMPORARY, f"HTTP {status}", retry_after_seconds(retry_after, longest=LONGEST_RETRY_AFTER)
        )
    if status == 410:
        return FetchFailure(FailureKind.GONE, "HTTP 410 Gone")
    if status == 404:
        return FetchFailure(FailureKind.NOT_FOUND, "HTTP 404 Not Found")
    if status == 408:
        return FetchFailure(FailureKind.TEMPORARY, "HTTP 408")
    return FetchFailure(FailureKind.NOT_FOUND, f"HTTP {status}")
