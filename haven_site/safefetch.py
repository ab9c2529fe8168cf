"""Fetching URLs that users name (link previews) without letting them reach inside the network.

Every hop (the first URL and each redirect, at most 5) goes through the same guard, and only then
is a connection opened:

1. only ``http``/``https`` URLs with a host; names under ``.internal`` and the cloud metadata
   names are refused outright;
2. the name is resolved once (the resolver is injectable, so tests feed it any address), and the
   request is refused if ANY resolved address is loopback, private, link-local, CGNAT, reserved,
   documentation, benchmarking, multicast, broadcast, unspecified, or an IPv6 form that embeds
   one of those (IPv4-mapped, IPv4-compatible, 6to4, NAT64);
3. the connection goes to the vetted address itself (the URL's host is replaced by the IP), with
   the URL's host name as ``Host`` header and TLS SNI/certificate name, so a second DNS answer
   (rebinding) cannot redirect it.

Bodies are read up to a byte limit, the whole fetch has a deadline, and the environment's proxy
settings are ignored (a proxy would make the address check meaningless).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_REDIRECTS = 5
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36 HavenLinkPreview/1.0"
)

BAD_SCHEME = "URL must start with http:// or https://"
INVALID_URL = "Invalid URL"
NO_HOST = "URL must have a host"
INTERNAL_HOST = "Blocked: internal hostname"
UNRESOLVED = "Could not resolve hostname"
PRIVATE_ADDRESS = "Blocked: URL resolves to a private/reserved IP address"
FETCH_FAILED = "Failed to fetch URL"
READ_FAILED = "Failed to read response body"


class FetchError(Exception):
    """A refused or failed fetch; ``message`` is the spec's error text (api.md 2.22)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Address policy ----------------------------------------------------------------------------

_BLOCKED_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
]
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

_allow_loopback: ContextVar[bool] = ContextVar("safefetch_allow_loopback", default=False)


def _blocked_v4(address: ipaddress.IPv4Address) -> bool:
    if _allow_loopback.get() and address in _LOOPBACK_V4:
        return False
    return any(address in network for network in _BLOCKED_V4) or not address.is_global


def is_blocked(address: Address) -> bool:
    """True for every address a user-named URL must not reach."""
    if isinstance(address, ipaddress.IPv4Address):
        return _blocked_v4(address)
    if address.ipv4_mapped is not None:
        return _blocked_v4(address.ipv4_mapped)
    if address.sixtofour is not None and _blocked_v4(address.sixtofour):
        return True
    if address in _NAT64:
        return _blocked_v4(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return True  # deprecated ::a.b.c.d forms: never a legitimate web server
    if _allow_loopback.get() and address == ipaddress.IPv6Address("::1"):
        return False
    return (
        address.is_loopback
        or address.is_unspecified
        or address.is_link_local
        or address.is_site_local
        or address.is_multicast
        or address.is_private  # includes fc00::/7 (unique local) and the reserved ranges
        or address.is_reserved
        or not address.is_global
    )


# --- Resolution ---------------------------------------------------------------------------------


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


_resolver: Resolver = system_resolver


@contextmanager
def use_resolver(resolver: Resolver) -> Iterator[None]:
    """Replace name resolution (tests feed the guard any address this way)."""
    global _resolver
    previous, _resolver = _resolver, resolver
    try:
        yield
    finally:
        _resolver = previous


@contextmanager
def allow_loopback_for_tests() -> Iterator[None]:
    """Let the guard reach 127.0.0.0/8 and ::1 (and nothing else) inside this block. Only tests
    use it, to fetch from a local HTTP server; production code never enters it."""
    token = _allow_loopback.set(True)
    try:
        yield
    finally:
        _allow_loopback.reset(token)


@dataclass(frozen=True)
class Target:
    url: str  # as given (normalised), for Host and redirects
    scheme: str
    host: str  # the name (or literal) of the URL, without brackets
    port: int
    address: Address  # the vetted address that is actually connected to

    def pinned_url(self) -> str:
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        default = 443 if self.scheme == "https" else 80
        netloc = literal if self.port == default else f"{literal}:{self.port}"
        return urlunsplit((self.scheme, netloc, parts.path or "/", parts.query, ""))

    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def check_url(raw: str) -> tuple[str, str, str, int]:
    """Syntax and name checks of api.md 2.22 (in its order); no network."""
    url = raw.strip()
    lowered = url.lower()
    if not lowered.startswith(("http://", "https://")):
        raise FetchError(BAD_SCHEME)
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise FetchError(INVALID_URL) from None
    if not host:
        raise FetchError(NO_HOST)
    host = host.rstrip(".").lower()
    if host in ("metadata.google.internal", "metadata.google") or host.endswith(".internal"):
        raise FetchError(INTERNAL_HOST)
    scheme = parts.scheme.lower()
    return url, scheme, host, port or (443 if scheme == "https" else 80)


def vet(raw: str) -> Target:
    """Check a URL and resolve its host to an address it may reach, or raise FetchError."""
    url, scheme, host, port = check_url(raw)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            found = _resolver(host, port)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        except (OSError, UnicodeError, ValueError):
            raise FetchError(UNRESOLVED) from None
        if not addresses:
            raise FetchError(UNRESOLVED)
    if any(is_blocked(a) for a in addresses):
        raise FetchError(PRIVATE_ADDRESS)
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


# --- Fetching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    status: int
    content_type: str
    body: bytes


def fetch(
    raw: str, *, max_bytes: int, timeout: float = 5.0, accept: str = "text/html,*/*;q=0.8"
) -> Fetched:
    """GET a user-named URL under the guard, following at most 5 redirects."""
    import httpx  # on first use (docs/performance.md, memory)

    deadline = time.monotonic() + timeout
    target = vet(raw)
    with httpx.Client(trust_env=False, follow_redirects=False, verify=True) as client:
        for _ in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(FETCH_FAILED)
            request = client.build_request(
                "GET",
                target.pinned_url(),
                headers={
                    "Host": target.host_header(),
                    "User-Agent": USER_AGENT,
                    "Accept": accept,
                    "Accept-Encoding": "identity",
                },
                extensions={
                    "sni_hostname": target.host,
                    "timeout": httpx.Timeout(remaining).as_dict(),
                },
            )
            try:
                response = client.send(request, stream=True)
            except httpx.HTTPError:
                raise FetchError(FETCH_FAILED) from None
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(FETCH_FAILED)
                    target = vet(urljoin(target.url, location))
                    continue
                body = _read_limited(response, max_bytes, deadline)
                return Fetched(
                    url=target.url,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    body=body,
                )
            finally:
                response.close()
    raise FetchError(FETCH_FAILED)  # too many redirects


def _read_limited(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    import httpx

    parts: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_raw():
            parts.append(chunk)
            size += len(chunk)
            if size >= max_bytes:
                break
            if time.monotonic() > deadline:
                raise FetchError(READ_FAILED)
    except httpx.HTTPError:
        raise FetchError(READ_FAILED) from None
    return b"".join(parts)[:max_bytes]
