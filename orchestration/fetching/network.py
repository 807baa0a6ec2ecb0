"""What the HTTP client may connect to, and for how long: the address guard and the request deadline.

``GuardedBackend`` is the httpcore network backend of the client. For every new connection it
resolves the host once, refuses it if any address is not public (loopback, private ranges,
link-local cloud metadata, ...) unless the host is explicitly allowed, and then connects to exactly
the address it checked, so a DNS answer that changes between check and connect (rebinding) cannot
slip through. TLS still verifies the certificate and sends SNI for the host name (httpcore passes
the URL's host to ``start_tls``, not the address connected to).

Every socket operation is also bounded by the calling thread's ``deadline``: one wall-clock limit for
connect, headers and body together, so a server that drips its status line or headers one byte at
a time cannot keep a fetch alive past it (per-read timeouts alone never fire on such a server).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import typing
from contextlib import contextmanager
from typing import Iterator

import httpcore

_local = threading.local()  # .at: monotonic time the current thread's request must be done by


class AddressRefused(Exception):
    """A host that resolves to an address we do not fetch from; the message is the reason."""


def non_public(address: str) -> str | None:
    """What kind of non-public address this is ("loopback", "private", ...), or None for a public one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # e.g. shared address space 100.64/10
    ):
        if flag:
            return kind
    return None


def allowed_host_names(setting: str) -> frozenset[str]:
    """The ``allowed_hosts`` setting (comma-separated host names or IP literals) as a set to look up."""
    return frozenset(h.strip().lower().strip("[]") for h in setting.split(",") if h.strip())


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound every socket operation of this thread until the block ends; yields the monotonic deadline."""
    previous = getattr(_local, "at", None)
    _local.at = time.monotonic() + seconds
    try:
        yield _local.at
    finally:
        _local.at = previous


def _bounded(timeout: float | None, timeout_type: type[Exception]) -> float | None:
    """The smaller of an operation's own timeout and the time left before the thread's deadline."""
    at = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise timeout_type("the request's wall-clock deadline has passed")
    return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to public addresses (or allowed hosts), to the very address checked, within the deadline."""

    def __init__(self, allowed_hosts: frozenset[str] = frozenset()):
        self.allowed_hosts = allowed_hosts
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.checked_addresses(host, port, _bounded(timeout, httpcore.ConnectTimeout))
        failure: Exception | None = None
        for address in addresses:  # as socket.create_connection does: the first that answers
            try:
                stream = self._backend.connect_tcp(address, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """Resolve ``host`` once; refuse it if any address is not public and the host is not allowed."""
        addresses = _resolve(host, port, timeout)
        if host.lower() in self.allowed_hosts:
            return addresses
        for address in addresses:
            kind = non_public(address)
            if kind is not None:
                what = f"{address} is" if address == host else f"{host} resolves to {address},"
                raise AddressRefused(f"refused: {what} a {kind} address; allow the host in the manifest (allowed_hosts) to fetch it")
        return addresses


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The host's addresses (an IP literal is its own); DNS is bounded by ``timeout`` too."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    found: list[typing.Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    worker = threading.Thread(target=lookup, daemon=True)  # getaddrinfo itself has no timeout
    worker.start()
    worker.join(timeout)
    if not found:
        raise httpcore.ConnectTimeout(f"DNS lookup of {host} took longer than {timeout:g} s")
    if isinstance(found[0], OSError):
        raise httpcore.ConnectError(f"DNS lookup of {host} failed: {found[0]}")
    return list(dict.fromkeys(info[4][0] for info in found[0]))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake stop at the thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)
