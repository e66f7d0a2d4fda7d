"""Where the poller may connect: public addresses only, checked on the address actually dialled.

Feed URLs come from users and redirects from servers, so a feed could point the poller at the cloud metadata
service, a database on localhost or a router's admin page. The check happens in the network backend of the HTTP
client, after DNS resolution and for every connection (every redirect hop opens its own), and the connection goes
to the address that was checked, so a DNS answer that changes between check and connect (rebinding) cannot slip
through. Proxies from the environment are never used: a proxy would resolve names where we cannot see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpcore
from httpcore import AsyncNetworkBackend, AsyncNetworkStream
from httpcore._backends.auto import AutoBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Not covered by the ipaddress flags: carrier-grade NAT and the AWS IPv6 metadata address (already private).
_EXTRA_BLOCKED = (ipaddress.ip_network("100.64.0.0/10"),)


class AddressRefused(Exception):
    """The destination resolves only to addresses the poller must not connect to."""


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address; false for loopback, private, link-local, metadata, ..."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return not any(address in network for network in _EXTRA_BLOCKED)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedBackend(AsyncNetworkBackend):
    """httpcore network backend that connects only to public addresses, unless ``allow_private`` is set."""

    def __init__(self, *, allow_private: bool, exempt: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.exempt = frozenset(ipaddress.ip_address(address) for address in exempt)  # tests: their own server
        self._inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        addresses = await resolve(host, port)
        allowed = [
            address for address in addresses if self.allow_private or is_public(address) or address in self.exempt
        ]
        if not allowed:
            shown = ", ".join(str(address) for address in addresses) or "nothing"
            raise AddressRefused(f"{host} resolves to {shown}: not a public address")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> AsyncNetworkStream:
        raise AddressRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
